//! Kubernetes resource quantities (`500m`, `2Gi`, `1.5`, `1e3`) parsed into exact integers.
//!
//! Owns the one conversion from text to amounts. Amounts are integers in the unit the
//! kube-scheduler compares: milli-cores for `cpu` (`Quantity.MilliValue()`), whole units for
//! every other resource (`Quantity.Value()`, bytes for memory), rounded up as Kubernetes does.
//! No float ever decides whether something fits.

use std::fmt;

/// An amount of one resource in its base unit (see the module docs).
pub type Amount = u64;

/// The largest amount accepted: far above any real node (8 EiB of memory, 2^62 milli-cores),
/// low enough that sums of a whole inventory cannot overflow a `u128`.
pub const MAX_AMOUNT: Amount = 1 << 62;

/// Why a quantity string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("`{0}` is not a Kubernetes quantity (expected e.g. `500m`, `2Gi`, `1.5`, `1e3`)")]
    /// Not a quantity.
    Malformed(String),
    #[error("`{0}` is negative; resource amounts must be zero or more")]
    /// Below zero.
    Negative(String),
    #[error("`{0}` is too large (the limit is 2^62 base units)")]
    /// Above the largest amount.
    Overflow(String),
}

/// How a resource is counted: `cpu` in milli-units, everything else in whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Thousandths (CPU).
    Milli,
    /// Whole units (memory bytes, pods, extended resources).
    Whole,
}

impl Unit {
    /// The unit kube-scheduler uses for `resource`.
    pub fn for_resource(resource: &str) -> Unit {
        if resource == "cpu" {
            Unit::Milli
        } else {
            Unit::Whole
        }
    }
}

/// Parses `text` as a Kubernetes quantity and returns it in `unit`, rounded up.
pub fn parse(text: &str, unit: Unit) -> Result<Amount, QuantityError> {
    let malformed = || QuantityError::Malformed(text.to_string());
    let overflow = || QuantityError::Overflow(text.to_string());
    let s = text.trim();
    // Long enough for any float YAML prints without exponent (1e308 has 309 digits).
    if s.is_empty() || s.len() > 1024 {
        return Err(malformed());
    }
    let (negative, s) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    // Split the number (digits and at most one dot) from the suffix.
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(num_end);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(malformed());
    }
    // Value = mantissa * 10^exp10 * 2^exp2.
    let mut exp10: i64 = -(frac_part.len() as i64);
    let mut exp2: u32 = 0;
    match suffix {
        "" => {}
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => exp2 = 10,
        "Mi" => exp2 = 20,
        "Gi" => exp2 = 30,
        "Ti" => exp2 = 40,
        "Pi" => exp2 = 50,
        "Ei" => exp2 = 60,
        _ => {
            let exp = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or_else(malformed)?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            let e: i64 = exp.parse().map_err(|_| {
                if exp.starts_with('-') {
                    malformed()
                } else {
                    overflow()
                }
            })?;
            if e.unsigned_abs() > 1000 {
                return Err(if e > 0 { overflow() } else { malformed() });
            }
            exp10 += e;
        }
    }
    if unit == Unit::Milli {
        exp10 += 3;
    }
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(QuantityError::Negative(text.to_string()));
    }
    // Beyond 36 digits u128 cannot hold the mantissa: keep 36 and round up, which gives the
    // same final (rounded-up) amount; a value that large with no fraction overflows anyway.
    let (kept, dropped) = digits.split_at(digits.len().min(36));
    exp10 += dropped.len() as i64;
    let mantissa: u128 = kept.parse::<u128>().map_err(|_| malformed())?
        + u128::from(dropped.bytes().any(|b| b != b'0'));
    let mut value_u = mantissa
        .checked_shl(exp2)
        .filter(|v| v >> exp2 == mantissa)
        .ok_or_else(overflow)?;
    if exp10 >= 0 {
        for _ in 0..exp10 {
            value_u = value_u.checked_mul(10).ok_or_else(overflow)?;
            if value_u > MAX_AMOUNT as u128 {
                return Err(overflow());
            }
        }
    } else {
        let mut divisor: u128 = 1;
        for _ in 0..(-exp10) {
            match divisor.checked_mul(10) {
                Some(d) if d <= value_u.saturating_mul(10) => divisor = d,
                // Divisor already exceeds the value: the result rounds up to one unit.
                _ => return Ok(1),
            }
        }
        value_u = value_u.div_ceil(divisor);
    }
    if value_u > MAX_AMOUNT as u128 {
        return Err(overflow());
    }
    Ok(value_u as Amount)
}

/// The exact quantity text of `amount` in `unit`, which [`parse`] reads back unchanged.
pub fn format(amount: Amount, unit: Unit) -> String {
    match unit {
        Unit::Milli => format!("{amount}m"),
        Unit::Whole => amount.to_string(),
    }
}

/// Renders an amount for people: `1500m` → `1.5`, bytes as `Gi`/`Mi` where exact enough.
pub struct Display {
    /// The amount.
    pub amount: Amount,
    /// Its unit.
    pub unit: Unit,
    /// Whether it is bytes, shown with binary suffixes.
    pub bytes: bool,
}

impl fmt::Display for Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.unit, self.bytes) {
            (Unit::Milli, _) => {
                if self.amount.is_multiple_of(1000) {
                    write!(f, "{}", self.amount / 1000)
                } else {
                    write!(f, "{}m", self.amount)
                }
            }
            (Unit::Whole, true) if self.amount >= 1 << 30 => {
                write!(f, "{:.1}Gi", self.amount as f64 / (1u64 << 30) as f64)
            }
            (Unit::Whole, true) if self.amount >= 1 << 20 => {
                write!(f, "{:.1}Mi", self.amount as f64 / (1u64 << 20) as f64)
            }
            _ => write!(f, "{}", self.amount),
        }
    }
}

/// Formats `amount` of `resource` for people (summaries and messages, never plan.json).
pub fn display(resource: &str, amount: Amount) -> Display {
    Display {
        amount,
        unit: Unit::for_resource(resource),
        bytes: matches!(resource, "memory" | "ephemeral-storage" | "storage")
            || resource.starts_with("hugepages-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_kubernetes_accepts() {
        assert_eq!(parse("500m", Unit::Milli), Ok(500));
        assert_eq!(parse("2", Unit::Milli), Ok(2000));
        assert_eq!(parse("1.5", Unit::Milli), Ok(1500));
        assert_eq!(parse(".5", Unit::Milli), Ok(500));
        assert_eq!(parse("2.", Unit::Milli), Ok(2000));
        assert_eq!(parse("1e3", Unit::Whole), Ok(1000));
        assert_eq!(parse("1E3", Unit::Whole), Ok(1000));
        assert_eq!(parse("2Gi", Unit::Whole), Ok(2 << 30));
        assert_eq!(parse("1.5Gi", Unit::Whole), Ok(3 << 29));
        assert_eq!(parse("128974848", Unit::Whole), Ok(128974848));
        assert_eq!(parse("129e6", Unit::Whole), Ok(129_000_000));
        assert_eq!(parse("123Mi", Unit::Whole), Ok(123 << 20));
        assert_eq!(parse("1k", Unit::Whole), Ok(1000));
        assert_eq!(parse("+3", Unit::Whole), Ok(3));
        assert_eq!(parse("0", Unit::Whole), Ok(0));
        assert_eq!(parse("-0", Unit::Whole), Ok(0));
    }

    #[test]
    fn rounds_up_like_kubernetes() {
        // Quantity.Value() and MilliValue() round away from zero.
        assert_eq!(parse("100m", Unit::Whole), Ok(1));
        assert_eq!(parse("0.0001", Unit::Milli), Ok(1));
        assert_eq!(parse("1.0001", Unit::Whole), Ok(2));
        assert_eq!(parse("1e-400", Unit::Whole), Ok(1));
        assert_eq!(parse("1e-30", Unit::Whole), Ok(1));
        // More digits than u128 holds, with a fraction.
        assert_eq!(
            parse("1.000000000000000000000000000000000000000001", Unit::Whole),
            Ok(2)
        );
        assert_eq!(
            parse("4.000000000000000000000000000000000000000000", Unit::Whole),
            Ok(4)
        );
        assert_eq!(
            parse("0.999999999999999999999999999999999999999999", Unit::Milli),
            Ok(1000)
        );
    }

    #[test]
    fn format_is_read_back_exactly() {
        for amount in [0, 1, 999, 1000, 1500, 1 << 30, MAX_AMOUNT] {
            for unit in [Unit::Milli, Unit::Whole] {
                assert_eq!(parse(&format(amount, unit), unit), Ok(amount));
            }
        }
    }

    #[test]
    fn rejects_malformed_negative_and_overflowing() {
        for bad in [
            "", "abc", "1.2.3", "5 Gi", "5gi", "1e", "1e+", "Gi", ".", "1ee3", "0x10", "1_000",
        ] {
            assert!(
                matches!(parse(bad, Unit::Whole), Err(QuantityError::Malformed(_))),
                "{bad:?} should be malformed"
            );
        }
        assert!(matches!(
            parse("-1", Unit::Whole),
            Err(QuantityError::Negative(_))
        ));
        assert!(matches!(
            parse("-500m", Unit::Milli),
            Err(QuantityError::Negative(_))
        ));
        assert!(matches!(
            parse(&format!("-1{}", "0".repeat(300)), Unit::Whole),
            Err(QuantityError::Negative(_))
        ));
        assert!(matches!(
            parse("1e-99999999999999999999", Unit::Whole),
            Err(QuantityError::Malformed(_))
        ));
        // Found by fuzzing: the most negative exponent has no absolute value in i64.
        assert!(matches!(
            parse("1e-9223372036854775808", Unit::Whole),
            Err(QuantityError::Malformed(_))
        ));
        for big in [
            "1e99999999999999999999",
            "1e400",
            "99999999999999999999Ei",
            "8Ei",
            "1e19",
            "9223372036854775807",
            "1000000000000000000000000000000000000000000000000000",
            &format!("1{}", "0".repeat(308)),
        ] {
            assert!(
                matches!(parse(big, Unit::Whole), Err(QuantityError::Overflow(_))),
                "{big:?} should overflow"
            );
        }
    }
}
