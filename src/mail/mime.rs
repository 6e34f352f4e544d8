//! The bodies of an email's MIME parts, encoded in one pass each, for [`super::transport`].
//!
//! lettre encodes a body by choosing its transfer encoding in one scan, converting bare LF line
//! ends to CRLF by inserting each CR in place (which moves the rest of the body once per line),
//! and then quoted-printable encoding it byte by byte: about 30% of the CPU a spread registration
//! cost the server, with its email delivered (README "Benchmarks"). [`body`] makes the same choice
//! and the same encodings, CRLF line ends included, writing each body once into a buffer of the
//! right size, and hands lettre the result as pre-encoded.

use lettre::message::header::ContentTransferEncoding;
use lettre::message::Body;

/// The longest encoded line (RFC 2045: 76 characters, not counting the CRLF).
const LINE: usize = 76;

/// A text body (`\n` or `\r\n` line ends) with CRLF line ends and the transfer encoding lettre
/// would choose for it: `7bit` for ASCII without control characters whose lines are all shorter
/// than 76 characters, else quoted-printable, unless more than a third of it would need escaping,
/// when lettre makes it base64 (text in a non-Latin script, rare here).
pub fn body(text: &str) -> Body {
    let bytes = text.as_bytes();
    // Each scan is one the compiler vectorizes, or memchr's.
    let escapes = bytes.iter().filter(|&&b| !matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~')).count();
    let mut lf = 0usize;
    let mut long_line = false;
    let mut line_start = 0usize;
    for i in memchr::memchr_iter(b'\n', bytes) {
        let end = if i > line_start && bytes[i - 1] == b'\r' { i - 1 } else { i };
        long_line |= end - line_start >= LINE;
        line_start = i + 1;
        lf += 1;
    }
    long_line |= bytes.len() - line_start >= LINE;
    let crs = memchr::memchr_iter(b'\r', bytes).count();
    // Every `\r` ends a line (is followed by `\n`), else it is escaped.
    let lone_cr = crs > 0 && memchr::memmem::find_iter(bytes, b"\r\n").count() != crs;
    if escapes == 0 && !long_line && !lone_cr {
        return Body::dangerous_pre_encoded(
            crlf(text, lf - crs.min(lf)).into_bytes(),
            ContentTransferEncoding::SevenBit,
        );
    }
    if escapes > bytes.len() / 3 {
        return Body::new(text.to_string());
    }
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2 * escapes + lf + 16);
    quoted_printable(bytes, &mut out);
    Body::dangerous_pre_encoded(out, ContentTransferEncoding::QuotedPrintable)
}

/// `text` with every bare `\n` made `\r\n`; `bare` is how many there are.
fn crlf(text: &str, bare: usize) -> String {
    if bare == 0 {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + bare);
    let bytes = text.as_bytes();
    let mut from = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        if i == 0 || bytes[i - 1] != b'\r' {
            // `\n` is ASCII, so `i` is a char boundary.
            out.push_str(&text[from..i]);
            out.push('\r');
            from = i;
        }
    }
    out.push_str(&text[from..]);
    out
}

/// Whether a byte stands for itself in quoted-printable (a space or tab only when something
/// follows it on its line).
fn plain(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=b'<' | b'>'..=b'~')
}

/// Quoted-printable (RFC 2045, 6.7) of text: each line (ended by `\n` or `\r\n`) ends with CRLF;
/// `=`, control characters, a `\r` that ends no line and every byte of a non-ASCII character are
/// written `=XX`; a space or tab that ends a line too; lines longer than 76 characters are broken
/// with a soft line break (`=` at the end of a line).
fn quoted_printable(bytes: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        let line = &bytes[start..i];
        encode_line(line.strip_suffix(b"\r").unwrap_or(line), out);
        out.extend_from_slice(b"\r\n");
        start = i + 1;
    }
    let line = &bytes[start..];
    encode_line(line.strip_suffix(b"\r").unwrap_or(line), out);
}

fn encode_line(line: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let n = line.len();
    if n <= LINE && line.iter().filter(|&&b| !plain(b)).count() == 0 && !matches!(line.last(), Some(b' ' | b'\t')) {
        // Most lines: nothing to escape or break.
        out.extend_from_slice(line);
        return;
    }
    let mut col = 0usize;
    let mut i = 0usize;
    while i < n {
        let b = line[i];
        let last = i + 1 == n;
        if plain(b) && !(last && (b == b' ' || b == b'\t')) {
            // A run of bytes that stand for themselves, up to the room left on this output line
            // (75: a soft break's `=` must still fit, unless the run ends the line).
            let mut j = i + 1;
            while j < n && plain(line[j]) {
                j += 1;
            }
            // A space or tab that ends the line is escaped below.
            if j == n && matches!(line[n - 1], b' ' | b'\t') {
                j -= 1;
            }
            let mut k = i;
            while k < j {
                let rest = j - k;
                if j == n && col + rest <= LINE {
                    // The rest of the line fits, its last character in the last column if need be.
                    out.extend_from_slice(&line[k..j]);
                    col += rest;
                    break;
                }
                // Otherwise each character leaves room for a soft break's `=` after it.
                let room = LINE - 1 - col;
                if room == 0 {
                    out.extend_from_slice(b"=\r\n");
                    col = 0;
                    continue;
                }
                let take = rest.min(room);
                out.extend_from_slice(&line[k..k + take]);
                col += take;
                k += take;
            }
            i = j;
        } else {
            // `=XX`: it must fit, with room for a soft break after it unless it ends the line.
            let need = if last { 3 } else { 4 };
            if col + need > LINE {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            col += 3;
            i += 1;
        }
    }
}

/// The content of a message with SMTP transparency (RFC 5321, 4.5.2: a `.` that starts a line is
/// doubled; lines end with CRLF, exactly as lettre's `ClientCodec` does it) followed by the
/// `\r\n.\r\n` terminator, in one buffer.
pub fn dot_stuffed(text: &str) -> String {
    let bytes = text.as_bytes();
    // Room for the terminator and a few doubled dots (a line rarely starts with one).
    let mut out = String::with_capacity(text.len() + 16);
    let mut from = 0;
    if bytes.first() == Some(&b'.') {
        out.push('.');
    }
    for i in memchr::memmem::find_iter(bytes, b"\r\n.") {
        // ASCII, so `i + 2` is a char boundary.
        out.push_str(&text[from..i + 2]);
        out.push('.');
        from = i + 2;
    }
    out.push_str(&text[from..]);
    out.push_str("\r\n.\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> (ContentTransferEncoding, String) {
        let b = body(text);
        (b.encoding(), String::from_utf8(b.into_vec()).unwrap())
    }

    /// An independent decoder: soft breaks removed, `=XX` turned into its byte.
    fn decode(qp: &str) -> String {
        let b = qp.replace("=\r\n", "").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn short_ascii_lines_are_7bit_with_crlf() {
        assert_eq!(encoded("Hello\nthere\r\n\n"), (ContentTransferEncoding::SevenBit, "Hello\r\nthere\r\n\r\n".into()));
        assert_eq!(encoded(""), (ContentTransferEncoding::SevenBit, "".into()));
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let long = "x".repeat(200);
        let cases = [
            format!("a={long}\n"),
            format!("Hello Ana \u{e9}\u{e8} caf\u{e9} \u{2192} {long} end \nnext line ends in a space \n\ttab\t\n"),
            format!("{}=\n{}\u{e9}\n", "y".repeat(74), "z".repeat(75)),
            format!("{} \n{}\t", "w".repeat(75), "v".repeat(76)),
            format!("<a href=\"https://example.org/manage/1?token=rsm_{}\">link</a>\r\nlone\rcr\n", "k".repeat(43)),
            "=".repeat(100),
            format!("{}\u{e9}{}", "a".repeat(73), "b".repeat(90)),
            format!("{}{}", "\u{e9}".repeat(20), "c".repeat(100)),
        ];
        for text in cases {
            for n in 70..80 {
                for text in [text.clone(), format!("{}{text}", "p".repeat(n))] {
                    let (enc, out) = encoded(&text);
                    assert_eq!(enc, ContentTransferEncoding::QuotedPrintable, "{text:?}");
                    for line in out.split("\r\n") {
                        assert!(line.len() <= 76, "{line:?} in {out:?}");
                        assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
                        assert!(line.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)), "{line:?}");
                    }
                    assert!(!out.contains('\n') || out.matches('\n').count() == out.matches("\r\n").count());
                    let want = text.replace("\r\n", "\n").replace('\n', "\r\n");
                    assert_eq!(decode(&out), want, "{out:?}");
                }
            }
        }
    }

    #[test]
    fn mostly_non_ascii_text_is_left_to_lettre() {
        let (enc, _) = encoded(&"\u{4e2d}\u{6587}".repeat(50));
        assert_eq!(enc, ContentTransferEncoding::Base64);
    }

    #[test]
    fn dot_stuffing_doubles_a_leading_dot_and_ends_with_the_terminator() {
        // lettre's own ClientCodec test vector (its frames concatenated).
        let input = ".\r\ntest\r\ntest\r\n\r\n.\r\n\r\ntestte\r\n.\r\nsttesttest.test\n.test\ntesttesttest\r\n.test\r\ntest.\r\n";
        let expected = "..\r\ntest\r\ntest\r\n\r\n..\r\n\r\ntestte\r\n..\r\nsttesttest.test\n.test\ntesttesttest\r\n..test\r\ntest.\r\n";
        assert_eq!(dot_stuffed(input), format!("{expected}\r\n.\r\n"));
        assert_eq!(dot_stuffed(""), "\r\n.\r\n");
        assert_eq!(dot_stuffed("\u{e9}\r\n.\u{e9}\r.x\r\n.."), "\u{e9}\r\n..\u{e9}\r.x\r\n...\r\n.\r\n");
        assert_eq!(dot_stuffed("\r\n.\r\n."), "\r\n..\r\n..\r\n.\r\n");
    }
}
