//! Times (StackRox `pkg/search/postgres/query/time_query.go`), tried in this order:
//!
//! - `tr/<from ms>-<to ms>`: `from <= t < to`.
//! - A date ([`super::date`]) after an optional comparator: alone it means that whole day
//!   (`d <= t < d + 24h`); with a comparator it compares with the date's instant.
//! - `<a>d-<b>d` (days, `a < b`): between `b` and `a` days ago, exclusive (`now-b < t < now-a`).
//! - `[cmp]<n>d` (or a bare `<n>`, since StackRox only trims a `d`): the comparator is inverted
//!   because "more than 30 days" means "earlier than 30 days ago": `>30d` is `t <= now-30d`,
//!   `>=30d` is `t < now-30d`, `<30d` is `t >= now-30d`, `<=30d` is `t > now-30d`, and no
//!   comparator is `t = now-30d` exactly.
//!
//! `now` is an input of evaluation, never read from a clock here.

use super::cmp::Cmp;
use super::date::parse_date;
use super::numeric::split_range;
use crate::lexer::Modified;

const DAY: i64 = 86_400;

/// One end of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    /// Milliseconds since the epoch.
    AbsMillis(i64),
    /// This many seconds before `now`.
    SecondsAgo(i64),
}

impl Point {
    fn millis(self, now: i64) -> i128 {
        match self {
            Point::AbsMillis(ms) => i128::from(ms),
            Point::SecondsAgo(s) => (i128::from(now) - i128::from(s)) * 1000,
        }
    }
}

/// `lower < t` / `lower <= t` and `t < upper` / `t <= upper`, each end optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimePred {
    lower: Option<(Point, bool)>,
    upper: Option<(Point, bool)>,
}

impl TimePred {
    fn compare(cmp: Cmp, p: Point) -> Self {
        let (lower, upper) = match cmp {
            Cmp::Eq => (Some((p, true)), Some((p, true))),
            Cmp::Lt => (None, Some((p, false))),
            Cmp::Le => (None, Some((p, true))),
            Cmp::Gt => (Some((p, false)), None),
            Cmp::Ge => (Some((p, true)), None),
        };
        TimePred { lower, upper }
    }

    pub fn compile(m: &Modified) -> Result<Self, String> {
        if m.has_any() {
            return Err("modifiers (`!`, `r/`, quotes) are not supported for times".into());
        }
        let value = m.value.as_str();
        if let Some(range) = value.strip_prefix("tr/") {
            let (from, to) = range
                .split_once('-')
                .filter(|(f, t)| !f.is_empty() && !t.is_empty())
                .ok_or_else(|| format!("malformed time range {range:?}"))?;
            let millis = |s: &str| {
                s.parse::<i64>()
                    .map_err(|_| format!("cannot parse {s:?} as milliseconds"))
            };
            return Ok(TimePred {
                lower: Some((Point::AbsMillis(millis(from)?), true)),
                upper: Some((Point::AbsMillis(millis(to)?), false)),
            });
        }
        let (cmp, rest) = Cmp::split(value);
        if let Some(secs) = parse_date(rest) {
            let at = Point::AbsMillis(secs.saturating_mul(1000));
            return Ok(match cmp {
                Some(cmp) => TimePred::compare(cmp, at),
                None => TimePred {
                    lower: Some((at, true)),
                    upper: Some((Point::AbsMillis((secs + DAY).saturating_mul(1000)), false)),
                },
            });
        }
        if let Some((lo, hi)) = split_range(rest) {
            // Both halves must be durations; otherwise it is not a range (a negative duration,
            // say) and the forms below get their turn.
            if let (Some(lo), Some(hi)) = (parse_days(lo), parse_days(hi)) {
                if lo >= hi {
                    return Err(
                        "invalid range (the first value must be less than the second)".into(),
                    );
                }
                return Ok(TimePred {
                    lower: Some((Point::SecondsAgo(hi), false)),
                    upper: Some((Point::SecondsAgo(lo), false)),
                });
            }
        }
        if let Some(ago) = parse_days(rest) {
            let cmp = cmp.map_or(Cmp::Eq, Cmp::inverted_for_age);
            return Ok(TimePred::compare(cmp, Point::SecondsAgo(ago)));
        }
        Err("invalid time: expected a date (01/02/2006, 2006-01-02, RFC 3339), a number of days (30d), a day range (30d-90d) or tr/<from ms>-<to ms>, after an optional comparator".into())
    }

    pub fn matches(&self, t: i64, now: i64) -> bool {
        let t = i128::from(t) * 1000;
        let above = self.lower.is_none_or(|(p, inclusive)| {
            let p = p.millis(now);
            if inclusive { t >= p } else { t > p }
        });
        let below = self.upper.is_none_or(|(p, inclusive)| {
            let p = p.millis(now);
            if inclusive { t <= p } else { t < p }
        });
        above && below
    }
}

/// `<n>d` or `<n>`, `n` a 32-bit integer (StackRox's `parseDuration`), in seconds.
fn parse_days(s: &str) -> Option<i64> {
    let n: i32 = s.strip_suffix('d').unwrap_or(s).parse().ok()?;
    Some(i64::from(n) * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::modifiers;

    const NOW: i64 = 1_700_000_000;

    fn pred(v: &str) -> Result<TimePred, String> {
        TimePred::compile(&modifiers(v))
    }

    fn days_ago(d: i64) -> i64 {
        NOW - d * DAY
    }

    #[test]
    fn durations_invert_the_comparator() -> Result<(), String> {
        let older = pred(">30d")?;
        assert!(older.matches(days_ago(31), NOW));
        assert!(older.matches(days_ago(30), NOW));
        assert!(!older.matches(days_ago(29), NOW));
        assert!(!pred(">=30d")?.matches(days_ago(30), NOW));
        assert!(pred(">=30d")?.matches(days_ago(30) - 1, NOW));
        assert!(pred("<30d")?.matches(days_ago(30), NOW));
        assert!(pred("<30d")?.matches(days_ago(1), NOW));
        assert!(!pred("<=30d")?.matches(days_ago(30), NOW));
        assert!(pred("30d")?.matches(days_ago(30), NOW));
        assert!(!pred("30d")?.matches(days_ago(30) + 1, NOW));
        assert!(
            pred(">30")?.matches(days_ago(31), NOW),
            "the `d` is optional"
        );
        Ok(())
    }

    #[test]
    fn duration_ranges_are_exclusive() -> Result<(), String> {
        let p = pred("30d-90d")?;
        assert!(p.matches(days_ago(60), NOW));
        assert!(!p.matches(days_ago(30), NOW));
        assert!(!p.matches(days_ago(90), NOW));
        assert!(!p.matches(days_ago(10), NOW));
        assert!(pred("90d-30d").is_err());
        Ok(())
    }

    #[test]
    fn a_bare_date_is_its_whole_day() -> Result<(), String> {
        let day = 1_136_160_000; // 2006-01-02
        let p = pred("01/02/2006")?;
        assert!(p.matches(day, NOW));
        assert!(p.matches(day + DAY - 1, NOW));
        assert!(!p.matches(day + DAY, NOW));
        assert!(!p.matches(day - 1, NOW));
        assert!(pred("2006-01-02")?.matches(day + 3600, NOW));
        Ok(())
    }

    #[test]
    fn dates_with_comparators() -> Result<(), String> {
        let day = 1_136_160_000;
        assert!(pred(">01/02/2006")?.matches(day + 1, NOW));
        assert!(!pred(">01/02/2006")?.matches(day, NOW));
        assert!(pred(">=01/02/2006")?.matches(day, NOW));
        assert!(pred("<2006-01-02T00:00:01Z")?.matches(day, NOW));
        assert!(pred("<= 01/02/2006")?.matches(day, NOW));
        Ok(())
    }

    #[test]
    fn millisecond_ranges() -> Result<(), String> {
        let p = pred("tr/1000-5000")?;
        assert!(p.matches(1, NOW));
        assert!(p.matches(4, NOW));
        assert!(!p.matches(5, NOW));
        assert!(!p.matches(0, NOW));
        assert!(pred("tr/-5").is_err());
        assert!(pred("tr/1-x").is_err());
        Ok(())
    }

    #[test]
    fn nonsense_is_an_error() {
        for v in [
            "yesterday",
            "!30d",
            "r/2006",
            "\"30d\"",
            "",
            "99999999999d",
            "1.5d",
        ] {
            assert!(pred(v).is_err(), "{v}");
        }
    }

    #[test]
    fn extreme_days_do_not_overflow() -> Result<(), String> {
        assert!(pred(">2147483647d")?.matches(i64::MIN, i64::MAX));
        assert!(!pred("<-2147483648d")?.matches(i64::MAX, i64::MAX));
        assert!(pred("tr/0-9223372036854775807")?.matches(NOW, NOW));
        Ok(())
    }
}
