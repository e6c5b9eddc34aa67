//! Python's `urllib.parse.quote(s, safe='~')`, `unquote(s)` and `str.strip()`, as the signer
//! applies them, reproduced byte for byte: the canonical request is only as right as these.

/// `quote(s, safe='~')` over bytes: everything but ASCII letters, digits and `_.-~` becomes
/// `%XX` (upper-case hex). Python quotes a `str` as its UTF-8 bytes, so for text this is the
/// same.
pub fn quote(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `%XX` to its byte; a `%` not followed by two hex digits stays as it is (Python's
/// `unquote_to_bytes`). With `plus_is_space`, `+` is a space (form decoding).
pub fn percent_decode(s: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let escaped = match (b, s.get(i + 1), s.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex_value(h).zip(hex_value(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(if plus_is_space && b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    out
}

/// `urllib.parse.unquote(s)` (UTF-8, `errors='replace'`). Python decodes each run of ASCII
/// characters on its own and keeps other characters as they are, so an invalid sequence is
/// replaced per run; a raw HTTP path is all ASCII and is one run.
pub fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let ascii_len = rest.bytes().take_while(u8::is_ascii).count();
        let (ascii, tail) = rest.split_at(ascii_len);
        out.push_str(&String::from_utf8_lossy(&percent_decode(
            ascii.as_bytes(),
            false,
        )));
        let other_len = tail
            .char_indices()
            .find(|(_, c)| c.is_ascii())
            .map_or(tail.len(), |(i, _)| i);
        let (other, tail) = tail.split_at(other_len);
        out.push_str(other);
        rest = tail;
    }
    out
}

/// Python's `str.isspace`: Unicode white space plus the four information separators
/// U+001C..U+001F, which Python counts and Rust's `char::is_whitespace` does not.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.strip()` with no argument, as the signer trims header values.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_python() {
        // quote("a b/c~d*e+f=ä", safe='~') in CPython 3.11.
        assert_eq!(
            quote("a b/c~d*e+f=ä".as_bytes()),
            "a%20b%2Fc~d%2Ae%2Bf%3D%C3%A4"
        );
        assert_eq!(quote(b"AZaz09_.-~"), "AZaz09_.-~");
        assert_eq!(quote(b"\xff"), "%FF");
    }

    #[test]
    fn unquote_matches_python() {
        assert_eq!(unquote("p%201%2F%C3%A4~x"), "p 1/ä~x");
        // A '%' without two hex digits is kept; '+' is not a space in a path.
        assert_eq!(unquote("a%zz%4+b%"), "a%zz%4+b%");
        // unquote('%ff') == '\ufffd'
        assert_eq!(unquote("%ff"), "\u{fffd}");
        // Non-ASCII characters split the runs: '%C3' then 'é' then '%A4'.
        assert_eq!(unquote("%C3é%A4"), "\u{fffd}é\u{fffd}");
    }

    #[test]
    fn form_decoding_turns_plus_into_space() {
        assert_eq!(percent_decode(b"a+b%2B", true), b"a b+");
        assert_eq!(percent_decode(b"a+b%2B", false), b"a+b+");
    }

    #[test]
    fn strip_matches_python() {
        assert_eq!(python_strip(" \t\x1c v a l \u{3000}\n"), "v a l");
        assert_eq!(python_strip("\u{a0}x\u{85}"), "x");
    }
}
