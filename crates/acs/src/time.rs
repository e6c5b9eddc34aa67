//! The one time format both schemes carry (`x-acs-date`, `Timestamp`): ISO 8601 in UTC to the
//! second, `YYYY-MM-DDTHH:MM:SSZ`, as the SDKs write it (`strftime("%Y-%m-%dT%H:%M:%SZ")`).
//! Parsed by hand and strictly: exactly twenty bytes, no fractions, no offsets.

/// Seconds since the Unix epoch of a `YYYY-MM-DDTHH:MM:SSZ` time, `None` if it is not one.
pub fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
        || b.get(19) != Some(&b'Z')
    {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
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

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (years 0 to 9999).
pub fn format(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
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

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// How far a request's time may be from the server's, either way: 15 minutes, as the vendor
/// allows. A nonce is remembered as long as its request stays acceptable.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_instants() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2018-01-01T12:00:00Z"), Some(1_514_808_000));
        assert_eq!(parse("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        assert_eq!(parse("2000-03-01T00:00:00Z"), Some(951_868_800));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "2018-01-01T12:00:00",
            "2018-01-01T12:00:00.000Z",
            "2018-01-01 12:00:00Z",
            "2018-1-01T12:00:00Z",
            "2018-13-01T12:00:00Z",
            "2018-00-01T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2018-04-31T12:00:00Z",
            "2018-01-01T24:00:00Z",
            "2018-01-01T12:60:00Z",
            "2018-01-01T12:00:60Z",
            "2018-01-01T12:00:00+",
            "+018-01-01T12:00:00Z",
            "2018-01-01T1２:00:0Z",
            "Thu, 06 Feb 2020 07:32:54 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        for secs in [0, 1, 951_868_799, 1_709_251_199, 253_402_300_799] {
            assert_eq!(parse(&format(secs)), Some(secs), "{secs}");
        }
        assert_eq!(format(1_514_808_000), "2018-01-01T12:00:00Z");
    }
}
