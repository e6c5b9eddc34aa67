//! `X-Sdk-Date`: UTC to the second as `%Y%m%dT%H%M%SZ`, e.g. `20240102T030405Z`, as the
//! signer writes it. Parsed strictly (exactly sixteen bytes): the signer puts the header's own
//! text into the string to sign, so a lenient parse would accept a time it never wrote.

/// How far a request's time may be from the server's, either way: 15 minutes, as the vendor's
/// API gateway allows.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// Seconds since the Unix epoch of a `YYYYMMDDTHHMMSSZ` time, `None` if it is not one.
pub fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        b.get(from..from + len)?.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(4, 2)?, num(6, 2)?);
    let (hour, minute, second) = (num(9, 2)?, num(11, 2)?, num(13, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of a `SystemTime` (negative before it), saturating.
pub(crate) fn unix_seconds(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_instants() {
        assert_eq!(parse("19700101T000000Z"), Some(0));
        assert_eq!(parse("20240102T030405Z"), Some(1_704_164_645));
        assert_eq!(parse("20240229T235959Z"), Some(1_709_251_199));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "20240102T030405",
            "20240102T030405z",
            "2024-01-02T03:04:05Z",
            "2024012T030405ZZ",
            "20240230T030405Z",
            "20241301T030405Z",
            "20240102T240405Z",
            "20240102T036005Z",
            "20240102T030460Z",
            "+0240102T030405Z",
            "2024010２T03040Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
