//! Voucher codes: what a business types (or reads out on the phone) to redeem its ad credit.
//!
//! - **Unguessable**: 17 characters drawn uniformly from a 30-character alphabet by the operating
//!   system's random generator: 30^17 ≈ 2^83.4 codes.
//! - **Human-friendly**: the alphabet has no characters people confuse (`0`/`O`, `1`/`I`/`L`, and
//!   `U`, read as `V`): `23456789ABCDEFGHJKMNPQRSTVWXYZ`. Codes are shown in three groups of six,
//!   `7KQ2MZ-XH4PBD-9RT3WA`, and read back in any case, with or without dashes or spaces.
//! - **A check character** (the 18th): the position-weighted sum of all 18 values (weights 1 to 18)
//!   is 0 modulo 31, a prime. A mistyped character changes the sum by weight × difference, and a swap
//!   of two neighbouring different characters by (weight difference) × (value difference), neither
//!   of which a prime modulus larger than both factors can absorb: every single typo and every
//!   neighbour swap is caught (tested below over every position and character). The check value must
//!   be one of the 30 characters: a draw whose check would be the 31st value is drawn again, which
//!   costs 0.05 bits.
//! - **Stored hashed**: only [`Voucher::hash`] (SHA-256 of the normalised code, as tokens are) and
//!   [`Voucher::prefix`] (its first group, for support) are kept; the code itself is shown once.

use rand::Rng;

/// The characters of a code, in their check-character order.
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The prime modulus of the check (one more than the alphabet).
const MODULUS: usize = 31;

/// Random characters in a code (the check character comes after them).
const RANDOM_CHARS: usize = 17;
/// Characters in a displayed group.
const GROUP: usize = 6;

/// A freshly made code: shown once, stored as [`Voucher::hash`] and [`Voucher::prefix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    /// `7KQ2MZ-XH4PBD-9RT3WA`.
    pub code: String,
}

/// Why a typed code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// Not 18 characters of the alphabet (after dashes and spaces are dropped).
    Malformed,
    /// The check character does not match: a character was mistyped.
    Typo,
}

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CodeError::Malformed => "is not a voucher code: 18 letters and digits, like 7KQ2MZ-XH4PBD-9RT3WA",
            CodeError::Typo => "has a typo: a character does not match (check it against the email)",
        })
    }
}

fn value(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|a| *a == c)
}

/// Σ (i + 1) × value(i) mod 31 over `values`.
fn weighted(values: &[usize]) -> usize {
    values.iter().enumerate().map(|(i, v)| (i + 1) * v).sum::<usize>() % MODULUS
}

/// The check value that makes the weighted sum of `digits` and itself 0 mod 31 (it has weight 18),
/// or `None` when that value is 30, which no character stands for.
fn check_value(digits: &[usize]) -> Option<usize> {
    let w = RANDOM_CHARS + 1;
    // The inverse of the check's weight mod 31 (Fermat: w^(p-2)).
    let inverse = (0..MODULUS - 2).fold(1, |acc, _| acc * w % MODULUS);
    let c = (MODULUS - weighted(digits)) % MODULUS * inverse % MODULUS;
    (c < ALPHABET.len()).then_some(c)
}

fn display(raw: &[u8]) -> String {
    raw.chunks(GROUP).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

impl Voucher {
    /// A new random code.
    pub fn generate() -> Voucher {
        let mut rng = rand::thread_rng();
        loop {
            let digits: Vec<usize> = (0..RANDOM_CHARS).map(|_| rng.gen_range(0..ALPHABET.len())).collect();
            if let Some(check) = check_value(&digits) {
                let mut raw: Vec<u8> = digits.iter().map(|d| ALPHABET[*d]).collect();
                raw.push(ALPHABET[check]);
                return Voucher { code: display(&raw) };
            }
        }
    }

    /// Reads a typed code: case, dashes and spaces do not matter; a wrong check character is a
    /// [`CodeError::Typo`]. Returns it in its displayed form.
    pub fn parse(typed: &str) -> Result<Voucher, CodeError> {
        let raw: Vec<u8> =
            typed.bytes().filter(|b| !matches!(b, b'-' | b' ')).map(|b| b.to_ascii_uppercase()).collect();
        if raw.len() != RANDOM_CHARS + 1 {
            return Err(CodeError::Malformed);
        }
        let values: Vec<usize> = raw.iter().map(|b| value(*b)).collect::<Option<_>>().ok_or(CodeError::Malformed)?;
        if weighted(&values) != 0 {
            return Err(CodeError::Typo);
        }
        Ok(Voucher { code: display(&raw) })
    }

    /// What is stored to find the code again: SHA-256 of its displayed form.
    pub fn hash(&self) -> String {
        crate::auth::tokens::hash_token(&self.code)
    }

    /// Its first group, kept for support ("the code starting 7KQ2MZ").
    pub fn prefix(&self) -> &str {
        &self.code[..GROUP]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_unambiguous_and_read_back_in_any_form() {
        let v = Voucher::generate();
        assert_eq!(v.code.len(), 20, "{}", v.code);
        assert_eq!(v.code.split('-').map(str::len).collect::<Vec<_>>(), [6, 6, 6]);
        for c in v.code.bytes().filter(|b| *b != b'-') {
            assert!(!b"01OILU".contains(&c), "{}", v.code);
        }
        let typed = v.code.to_lowercase().replace('-', " ");
        assert_eq!(Voucher::parse(&typed), Ok(v.clone()));
        assert_eq!(v.prefix(), &v.code[..6]);
        assert_eq!(v.hash(), Voucher::parse(&v.code.replace('-', "")).unwrap().hash());
        assert_eq!(Voucher::parse("7KQ2MZ"), Err(CodeError::Malformed));
        assert_eq!(Voucher::parse("0KQ2MZ-XH4PBD-9RT3WA"), Err(CodeError::Malformed));
    }

    #[test]
    fn every_single_typo_and_neighbour_swap_is_caught() {
        for _ in 0..200 {
            let v = Voucher::generate();
            let raw: Vec<u8> = v.code.bytes().filter(|b| *b != b'-').collect();
            for i in 0..raw.len() {
                for c in ALPHABET.iter().filter(|c| **c != raw[i]) {
                    let mut typo = raw.clone();
                    typo[i] = *c;
                    assert_eq!(Voucher::parse(&String::from_utf8(typo).unwrap()), Err(CodeError::Typo));
                }
                if i + 1 < raw.len() && raw[i] != raw[i + 1] {
                    let mut swapped = raw.clone();
                    swapped.swap(i, i + 1);
                    assert_eq!(
                        Voucher::parse(&String::from_utf8(swapped.clone()).unwrap()),
                        Err(CodeError::Typo),
                        "{} swapped at {i}",
                        v.code
                    );
                }
            }
        }
    }

    #[test]
    fn two_hundred_thousand_codes_are_all_different() {
        let mut seen = std::collections::HashSet::with_capacity(200_000);
        for _ in 0..200_000 {
            assert!(seen.insert(Voucher::generate().code));
        }
    }
}
