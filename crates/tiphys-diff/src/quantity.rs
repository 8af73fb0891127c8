//! Kubernetes resource quantities (`500m`, `1Gi`, `1e3`), compared by value: the API server
//! rewrites them to canonical form (`1000m` becomes `1`), so a manifest and its live object
//! only agree when compared as numbers.

/// An exact quantity, in billionths of a unit (the smallest suffix is `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity {
    nanos: i128,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parses the quantity grammar (sign, decimal number, then a binary suffix `Ki`..`Ei`, a
    /// decimal suffix `n u m k M G T P E`, or an exponent `e3`/`E-2`). `None` when the text is
    /// not a quantity or is finer than `1n` or too large to hold exactly.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let split = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (number, suffix) = body.split_at(split);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if frac_part.len() > 9 || frac_part.contains('.') {
            return None;
        }
        let int: i128 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
        let frac: i128 = if frac_part.is_empty() { 0 } else { frac_part.parse().ok()? };
        let frac_nanos = frac.checked_mul(10i128.pow(9 - frac_part.len() as u32))?;
        let nanos = int.checked_mul(NANO)?.checked_add(frac_nanos)?;
        let scaled = match suffix {
            "" => Some(nanos),
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = "KMGTPE".find(&suffix[..1])? as u32 + 1;
                nanos.checked_mul(1i128 << (10 * power))
            }
            "n" => exact_div(nanos, 1_000_000_000),
            "u" => exact_div(nanos, 1_000_000),
            "m" => exact_div(nanos, 1_000),
            "k" => nanos.checked_mul(1_000),
            "M" => nanos.checked_mul(1_000_000),
            "G" => nanos.checked_mul(1_000_000_000),
            "T" => nanos.checked_mul(10i128.pow(12)),
            "P" => nanos.checked_mul(10i128.pow(15)),
            "E" => nanos.checked_mul(10i128.pow(18)),
            exp if exp.starts_with(['e', 'E']) => {
                let e: i32 = exp[1..].parse().ok()?;
                if e >= 0 {
                    nanos.checked_mul(10i128.checked_pow(u32::try_from(e).ok()?)?)
                } else {
                    exact_div(nanos, 10i128.checked_pow(e.unsigned_abs())?)
                }
            }
            _ => None,
        }?;
        Some(Self { nanos: if negative { -scaled } else { scaled } })
    }

    /// Reads a quantity from a JSON value: a string in quantity syntax or a plain number.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Self::parse(s),
            serde_json::Value::Number(n) => Self::parse(&n.to_string()),
            _ => None,
        }
    }
}

fn exact_div(n: i128, d: i128) -> Option<i128> {
    (n % d == 0).then_some(n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn equal_quantities_written_differently() {
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert_eq!(q("2E"), q("2e18"));
        assert_eq!(q("100n"), q("0.0000001"));
        assert_eq!(q("+1"), q("1"));
    }

    #[test]
    fn different_quantities_differ() {
        assert_ne!(q("1G"), q("1Gi"));
        assert_ne!(q("100m"), q("1"));
        assert!(q("-1") < q("0"));
    }

    #[test]
    fn not_quantities() {
        for bad in ["", "abc", "1Xi", "1.2.3", ".", "1e", "1e999", "99999999999999999999999999999999999E"] {
            assert_eq!(Quantity::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_numbers_are_quantities() {
        assert_eq!(Quantity::from_json(&serde_json::json!(2)), Some(q("2000m")));
        assert_eq!(Quantity::from_json(&serde_json::json!(0.25)), Some(q("250m")));
        assert_eq!(Quantity::from_json(&serde_json::json!(true)), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = Quantity::parse(&s);
        }
    }
}
