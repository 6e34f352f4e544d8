//! The advertising-credit pool: $50 of free advertising for each business that takes part, out of
//! a fixed $10M pool (200,000 grants at most). Amounts are integer cents everywhere.
//!
//! - **The pool** ([`queries::Pool`], one row) holds the total, the amount of one grant, the
//!   maximum number of grants, the currency and the dates grants may be made between, with the
//!   counters of what is granted. **Reserves** split it: `national` and optional state shares
//!   (set directly, or allocated from a CSV of small-business counts per state), whose shares add
//!   up to the total. The rule for which reserve a grant draws on is in
//!   [`queries::reserve_for`]; a full reserve refuses, so early states cannot drain late ones.
//! - **Granting** ([`queries::grant_for_taking_part`]) happens in the transaction that records
//!   taking part: a check-in, an expert session marked attended, or a webinar attendance upload
//!   ([`attendance`]). A business gets one grant ever by taking part; an admin may grant again
//!   after a revocation or a decline.
//! - **The database keeps the money honest**: a partial unique index allows one active grant per
//!   business; CHECKs keep granted cents within the pool and each reserve and the grant count within
//!   the maximum; the conditional updates that move the counters run in the granting transaction,
//!   so a grant exists exactly when its cents are counted. An append-only ledger (triggers refuse
//!   changes) records every grant, ending, share change and release; `reconcile` recomputes every
//!   balance from it and from the grants.
//! - **Vouchers** ([`voucher`]): a code per grant, emailed to the business's contact address in the
//!   granting transaction and stored only as a hash and a prefix. The business can decline with the
//!   code ([`public`]), or get a new code through a verified privacy link (the old one stops
//!   working); partners mark codes redeemed.
//!
//! By capability: [`staff`] (pool, reserves, grants, redeem, reconcile), [`public`] (decline),
//! [`attendance`] (the webinar upload), [`report`] (funders' figures), [`identity`] (one business
//! across contact emails: EIN, duplicates, merge), [`mail`], [`wire`], [`queries`] (the SQL).

pub mod attendance;
pub mod businesses;
pub mod identity;
pub mod mail;
pub mod public;
pub mod queries;
pub mod report;
pub mod routes;
pub mod staff;
pub mod voucher;
pub mod wire;

/// Shares of `total` for states in proportion to their small-business `counts`, after
/// `national_percent` of it is kept national: whole grants of `grant` cents, the grants that
/// rounding leaves going to the largest remainders (ties by state code). What is not shared stays
/// national.
pub fn allocate(total: i64, grant: i64, national_percent: u32, counts: &[(String, u64)]) -> Vec<(String, i64)> {
    let grant = grant.max(1);
    let shareable = total - total * i64::from(national_percent.min(100)) / 100;
    let grants = u128::try_from(shareable / grant).unwrap_or(0);
    let sum: u128 = counts.iter().map(|(_, c)| u128::from(*c)).sum();
    if sum == 0 {
        return counts.iter().map(|(s, _)| (s.clone(), 0)).collect();
    }
    let mut rows: Vec<(String, u128, u128)> = counts
        .iter()
        .map(|(s, c)| {
            let exact = grants * u128::from(*c);
            (s.clone(), exact / sum, exact % sum)
        })
        .collect();
    let given: u128 = rows.iter().map(|r| r.1).sum();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|a, b| rows[*b].2.cmp(&rows[*a].2).then_with(|| rows[*a].0.cmp(&rows[*b].0)));
    for i in order.into_iter().take((grants - given) as usize) {
        rows[i].1 += 1;
    }
    rows.into_iter().map(|(s, n, _)| (s, i64::try_from(n).unwrap_or(0) * grant)).collect()
}

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn allocation_is_whole_grants_in_proportion_and_never_more_than_the_shareable_part() {
        let counts = vec![("TX".to_string(), 3_000_000), ("CA".into(), 4_000_000), ("VT".into(), 70_000)];
        let shares = allocate(1_000_000_000, 5000, 10, &counts);
        let total: i64 = shares.iter().map(|s| s.1).sum();
        assert_eq!(total, 900_000_000, "every whole grant of the 90% is shared: {shares:?}");
        assert!(shares.iter().all(|s| s.1 % 5000 == 0));
        let get = |st: &str| shares.iter().find(|s| s.0 == st).unwrap().1;
        assert!(get("CA") > get("TX") && get("TX") > get("VT"));
        // 180,000 grants × 70,000 / 7,070,000 = 1,782.18… → 1,782 (the remainder goes elsewhere).
        assert_eq!(get("VT"), 1_782 * 5000);
    }

    #[test]
    fn remainders_go_to_the_largest_fractions_and_nothing_is_lost() {
        // 10 grants over three equal states: 4, 3, 3 (ties broken by state code).
        let counts = vec![("NY".to_string(), 1), ("AK".into(), 1), ("MA".into(), 1)];
        let shares = allocate(50_000, 5000, 0, &counts);
        assert_eq!(shares, vec![("NY".into(), 15_000), ("AK".into(), 20_000), ("MA".into(), 15_000)]);
        assert_eq!(allocate(50_000, 5000, 100, &counts).iter().map(|s| s.1).sum::<i64>(), 0);
        assert_eq!(allocate(50_000, 5000, 0, &[("TX".into(), 0)]), vec![("TX".into(), 0)]);
    }
}
