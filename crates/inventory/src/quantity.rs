//! Kubernetes resource quantities (`500m`, `0.1`, `128Mi`, `1e3`), read exactly in integer
//! arithmetic (floating point would make `0.1` cores 101 millicores after rounding up).

/// A non-negative quantity: `mantissa × 10^exp10 × multiplier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    mantissa: u128,
    exp10: i32,
    multiplier: u128,
}

/// Parses a quantity; `None` when it is not one, or negative.
pub fn parse(s: &str) -> Option<Quantity> {
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    let number_end = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let mut mantissa: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u128::from(b - b'0'))?;
    }
    let mut exp10 = -i32::try_from(frac.len()).ok()?;
    let mut multiplier = 1u128;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => multiplier = 1 << 10,
        "Mi" => multiplier = 1 << 20,
        "Gi" => multiplier = 1 << 30,
        "Ti" => multiplier = 1 << 40,
        "Pi" => multiplier = 1 << 50,
        "Ei" => multiplier = 1 << 60,
        exp => {
            let digits = exp.strip_prefix(['e', 'E'])?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty()
                || unsigned.len() > 3
                || !unsigned.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            exp10 += digits.parse::<i32>().ok()?;
        }
    }
    Some(Quantity {
        mantissa,
        exp10,
        multiplier,
    })
}

impl Quantity {
    /// The quantity in units of `10^-scale` base units (scale 3: millicores; 0: bytes), rounded
    /// up, saturating at `u64::MAX`.
    pub fn to_units(self, scale: i32) -> u64 {
        let Some(value) = self.mantissa.checked_mul(self.multiplier) else {
            return u64::MAX;
        };
        if value == 0 {
            return 0;
        }
        let exp = self.exp10.saturating_add(scale);
        let scaled = if exp >= 0 {
            u32::try_from(exp)
                .ok()
                .and_then(|e| 10u128.checked_pow(e))
                .and_then(|p| value.checked_mul(p))
        } else {
            // Dividing by more than 10^38 leaves less than one unit: round up to one.
            match u32::try_from(-i64::from(exp))
                .ok()
                .and_then(|e| 10u128.checked_pow(e))
            {
                Some(p) => Some(value.div_ceil(p)),
                None => Some(1),
            }
        };
        scaled.map_or(u64::MAX, |v| u64::try_from(v).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        let cases = [
            ("500m", 500, 1),
            ("0.5", 500, 1),
            ("0.1", 100, 1),
            ("2", 2000, 2),
            ("+2", 2000, 2),
            ("128Mi", 134_217_728_000, 134_217_728),
            ("1Gi", 1_073_741_824_000, 1_073_741_824),
            ("1e3", 1_000_000, 1000),
            ("1.5k", 1_500_000, 1500),
            ("100n", 1, 1),
            ("0", 0, 0),
            (".5", 500, 1),
            ("5.", 5000, 5),
        ];
        for (s, millis, units) in cases {
            let q = parse(s).unwrap();
            assert_eq!((q.to_units(3), q.to_units(0)), (millis, units), "{s}");
        }
        for bad in [
            "", "m", "-1", "1.2.3", "1Qi", "1e", "1e99999", "abc", ".", "1 Gi", "1.e",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse("9E").unwrap().to_units(3), u64::MAX);
        assert_eq!(parse("1e999").unwrap().to_units(0), u64::MAX);
        assert_eq!(parse("1e-999").unwrap().to_units(0), 1);
        assert_eq!(
            parse("99999999999999999999Ei").unwrap().to_units(0),
            u64::MAX
        );
    }
}
