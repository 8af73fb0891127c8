//! The decimal arithmetic behind Sprig's float functions (`addf`, `subf`, `mulf`, `divf`,
//! `add1f`): Sprig converts each float64 to its shortest decimal form (shopspring/decimal),
//! computes exactly and converts back, so `addf 0.1 0.2` is `0.3`, not `0.30000000000000004`.

/// `m × 10^e`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// The shortest decimal that round-trips to `f` (`decimal.NewFromFloat`).
    pub(crate) fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let frac_len = mant.split_once('.').map_or(0, |(_, fr)| fr.len()) as i32;
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let m: i128 = digits.parse().ok()?;
        Some(Dec { m: if neg { -m } else { m }, e: exp - frac_len })
    }

    /// Back to float64 through the decimal text (`Decimal.Float64`).
    pub(crate) fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    fn scaled(self, e: i32) -> Option<i128> {
        let diff = u32::try_from(self.e - e).ok()?;
        self.m.checked_mul(10i128.checked_pow(diff)?)
    }

    pub(crate) fn add(self, o: Dec) -> Option<Dec> {
        let e = self.e.min(o.e);
        Some(Dec { m: self.scaled(e)?.checked_add(o.scaled(e)?)?, e })
    }

    pub(crate) fn sub(self, o: Dec) -> Option<Dec> {
        self.add(Dec { m: o.m.checked_neg()?, e: o.e })
    }

    pub(crate) fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec { m: self.m.checked_mul(o.m)?, e: self.e.checked_add(o.e)? })
    }

    /// Quotient rounded half away from zero to 16 decimal places (`DivisionPrecision`).
    pub(crate) fn div(self, o: Dec) -> Option<Dec> {
        if o.m == 0 {
            return None;
        }
        // value = (m1 / m2) × 10^(e1 - e2); we want round(value × 10^16)
        let shift = self.e - o.e + 16;
        let (num, den) = if shift >= 0 {
            (self.m.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?, o.m)
        } else {
            (self.m, o.m.checked_mul(10i128.checked_pow(u32::try_from(-shift).ok()?)?)?)
        };
        let q = num / den;
        let r = num % den;
        let round_up = r.checked_abs()?.checked_mul(2)? >= den.checked_abs()?;
        let q = if round_up { q + if (num < 0) != (den < 0) { -1 } else { 1 } } else { q };
        Some(Dec { m: q, e: -16 })
    }
}

/// Folds `values` left to right with a decimal operation, falling back to float64 arithmetic
/// when a value is not finite or the exact result would not fit.
pub(crate) fn fold(values: &[f64], op: fn(Dec, Dec) -> Option<Dec>, float_op: fn(f64, f64) -> f64) -> f64 {
    let Some((&first, rest)) = values.split_first() else { return 0.0 };
    let exact = Dec::from_f64(first)
        .and_then(|start| rest.iter().try_fold(start, |acc, &x| op(acc, Dec::from_f64(x)?)));
    match exact {
        Some(d) => d.to_f64(),
        None => rest.iter().fold(first, |acc, &x| float_op(acc, x)),
    }
}
