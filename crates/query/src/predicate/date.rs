//! Absolute times in query values, to unix seconds (UTC). StackRox's time query takes Go's
//! layouts `01/02/2006 3:04:05 PM MST`, `01/02/2006 3:04 PM MST`, `01/02/2006 3:04:05 PM`,
//! `01/02/2006 3:04 PM`, `01/02/2006 MST` and `01/02/2006`; berth also takes `2006-01-02` and
//! RFC 3339, which StackRox refuses. A zone abbreviation is accepted and read as UTC: Go gives
//! an abbreviation it does not know a zero offset, and StackRox runs in UTC.

const DAY: i64 = 86_400;

/// Seconds since the epoch, or `None` when `s` is none of the accepted forms.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    parse_us(s).or_else(|| parse_iso(s))
}

/// `MM/DD/YYYY`, then optionally ` H:MM[:SS] AM|PM`, then optionally ` ZONE`.
fn parse_us(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    let mut secs = civil(num(&b[6..10])?, num(&b[0..2])?, num(&b[3..5])?)?;
    // Bytes 0..10 are ASCII, so 10 is a char boundary.
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix(' ')?;
    let rest = match clock_12h(rest) {
        Some((of_day, rest)) => {
            secs += of_day;
            if rest.is_empty() {
                return Some(secs);
            }
            rest.strip_prefix(' ')?
        }
        None => rest,
    };
    is_zone(rest).then_some(secs)
}

/// `H:MM[:SS] AM|PM` (hour 0–12, one or two digits): seconds into the day and the rest.
fn clock_12h(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let hour_len = match b {
        [x, y, ..] if x.is_ascii_digit() && y.is_ascii_digit() => 2,
        [x, ..] if x.is_ascii_digit() => 1,
        _ => return None,
    };
    let hour = num(&b[..hour_len])?;
    let mut i = hour_len;
    if b.get(i) != Some(&b':') {
        return None;
    }
    let minute = num(b.get(i + 1..i + 3)?)?;
    i += 3;
    let mut second = 0;
    if b.get(i) == Some(&b':') {
        second = num(b.get(i + 1..i + 3)?)?;
        i += 3;
    }
    if hour > 12 || minute > 59 || second > 59 || b.get(i) != Some(&b' ') {
        return None;
    }
    let hour = match b.get(i + 1..i + 3)? {
        b"PM" if hour < 12 => hour + 12,
        b"PM" => hour,
        b"AM" if hour == 12 => 0,
        b"AM" => hour,
        _ => return None,
    };
    Some((hour * 3600 + minute * 60 + second, s.get(i + 3..)?))
}

/// A zone abbreviation as Go's `parseTimeZone` takes one: `UTC`, three capitals, or four or
/// five ending in `T`.
fn is_zone(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().all(u8::is_ascii_uppercase)
        && match b.len() {
            3 => true,
            4 | 5 => b.last() == Some(&b'T'),
            _ => false,
        }
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = civil(num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?)?;
    if b.len() == 10 {
        return Some(date);
    }
    if !matches!(b[10], b'T' | b't') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += digits;
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    Some(date + hour * 3600 + minute * 60 + second - offset)
}

/// All-ASCII-digit bytes as a number (at most four digits are ever passed).
fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// Midnight UTC of a valid calendar date, in unix seconds (Howard Hinnant's days_from_civil).
fn civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts() {
        assert_eq!(parse_date("01/02/2006"), Some(1_136_160_000));
        assert_eq!(parse_date("01/02/2006 MST"), Some(1_136_160_000));
        assert_eq!(
            parse_date("01/02/2006 3:04 PM"),
            Some(1_136_160_000 + 15 * 3600 + 240)
        );
        assert_eq!(
            parse_date("01/02/2006 3:04:05 PM UTC"),
            Some(1_136_160_000 + 15 * 3600 + 245)
        );
        assert_eq!(parse_date("01/02/2006 12:00 AM"), Some(1_136_160_000));
        assert_eq!(
            parse_date("01/02/2006 12:00 PM"),
            Some(1_136_160_000 + 12 * 3600)
        );
        assert_eq!(parse_date("02/29/2024"), Some(1_709_164_800));
    }

    #[test]
    fn iso_and_rfc3339() {
        assert_eq!(parse_date("2006-01-02"), Some(1_136_160_000));
        assert_eq!(parse_date("2006-01-02T15:04:05Z"), Some(1_136_214_245));
        assert_eq!(
            parse_date("2006-01-02T15:04:05.999-07:00"),
            Some(1_136_239_445)
        );
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1969-12-31"), Some(-DAY));
    }

    #[test]
    fn rejects_near_misses() {
        for s in [
            "1/2/2006",
            "13/01/2006",
            "02/30/2006",
            "02/29/2023",
            "01/02/06",
            "01/02/2006 13:00 PM",
            "01/02/2006 3:04 pm",
            "01/02/2006 3:04",
            "01/02/2006 mst",
            "01/02/2006 EUROPE",
            "01/02/2006 ",
            "2006-01-02T15:04:05",
            "2006-01-02T24:00:00Z",
            "2006-01-02 15:04:05Z",
            "2006-1-2",
            "30d",
            "",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }
}
