//! The safe `os` subset upstream gives scripts (`os.time`, `os.date`), plus the pure
//! `os.difftime`. The clock is the caller's `now` (this crate never reads the wall clock), and
//! dates are UTC: a controller's local time zone is not something a health verdict should
//! depend on.

use std::sync::{Arc, atomic::Ordering};

use mlua::{Lua, Table, Value};

use super::Budget;

/// Builds the `os` table.
pub(super) fn safe_os(lua: &Lua, budget: &Arc<Budget>) -> mlua::Result<Table> {
    let os = lua.create_table()?;
    let b = budget.clone();
    os.set(
        "time",
        lua.create_function(move |_, t: Option<Table>| match t {
            None => Ok(b.now.load(Ordering::Relaxed) as f64),
            Some(t) => {
                let field = |name: &str, default: i64| -> mlua::Result<i64> {
                    Ok(match t.raw_get::<Value>(name)? {
                        Value::Integer(i) => i,
                        Value::Number(n) => n as i64,
                        Value::String(s) => {
                            s.to_str()?.trim().parse::<f64>().map(|n| n as i64).unwrap_or(default)
                        }
                        _ => default,
                    })
                };
                let days = days_from_civil(field("year", -1)?, field("month", -1)?, field("day", -1)?);
                let secs =
                    days * 86_400 + field("hour", 12)? * 3_600 + field("min", 0)? * 60 + field("sec", 0)?;
                Ok(secs as f64)
            }
        })?,
    )?;
    let b = budget.clone();
    os.set(
        "date",
        lua.create_function(move |lua, (format, time): (Option<String>, Option<f64>)| {
            let t = time.map(|t| t as i64).unwrap_or_else(|| b.now.load(Ordering::Relaxed));
            let format = format.unwrap_or_else(|| "%c".to_string());
            let format = format.trim_start_matches('!');
            let parts = Civil::from_unix(t);
            if format.starts_with("*t") {
                let table = lua.create_table()?;
                table.set("year", parts.year)?;
                table.set("month", parts.month)?;
                table.set("day", parts.day)?;
                table.set("hour", parts.hour)?;
                table.set("min", parts.minute)?;
                table.set("sec", parts.second)?;
                table.set("wday", parts.weekday + 1)?;
                table.set("yday", parts.yday)?;
                table.set("isdst", false)?;
                return Ok(Value::Table(table));
            }
            Ok(Value::String(lua.create_string(strftime(&parts, format))?))
        })?,
    )?;
    os.set("difftime", lua.create_function(|_, (a, b): (f64, Option<f64>)| Ok(a - b.unwrap_or(0.0)))?)?;
    Ok(os)
}

/// A UTC date and time broken into the fields `os.date` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    /// 0 = Sunday.
    pub weekday: i64,
    /// Day of the year, 1-based.
    pub yday: i64,
}

impl Civil {
    pub(crate) fn from_unix(t: i64) -> Self {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3_600,
            minute: secs % 3_600 / 60,
            second: secs % 60,
            weekday: (days + 4).rem_euclid(7),
            yday: days - days_from_civil(year, 1, 1) + 1,
        }
    }
}

/// Days since 1970-01-01 of a civil date; months and days out of range roll over, as Go's
/// `time.Date` and C's `mktime` do.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year + (month - 1).div_euclid(12);
    let month = (month - 1).rem_euclid(12) + 1;
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The `strftime` subset upstream's safe `os.date` understands; other `%x` sequences are kept
/// literally, as upstream does.
pub(crate) fn strftime(c: &Civil, format: &str) -> String {
    let weekday = WEEKDAYS[c.weekday.rem_euclid(7) as usize];
    let month = MONTHS[(c.month - 1).rem_euclid(12) as usize];
    let hour12 = match c.hour % 12 {
        0 => 12,
        h => h,
    };
    let pm = if c.hour >= 12 { "PM" } else { "AM" };
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(flag) = chars.next() else {
            out.push('%');
            break;
        };
        let piece = match flag {
            '%' => "%".to_string(),
            'a' => weekday[..3].to_string(),
            'A' => weekday.to_string(),
            'b' => month[..3].to_string(),
            'B' => month.to_string(),
            'c' => format!(
                "{:02} {} {:02} {:02}:{:02} UTC",
                c.day,
                &month[..3],
                c.year.rem_euclid(100),
                c.hour,
                c.minute
            ),
            'd' => format!("{:02}", c.day),
            'F' => format!("{:04}-{:02}-{:02}", c.year, c.month, c.day),
            'H' => format!("{:02}", c.hour),
            'I' => format!("{hour12:02}"),
            'm' => format!("{:02}", c.month),
            'M' => format!("{:02}", c.minute),
            'p' => pm.to_string(),
            'P' => pm.to_lowercase(),
            'S' => format!("{:02}", c.second),
            'x' => format!("{:02}/{:02}/{:02}", c.hour, c.minute, c.second),
            'X' => format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second),
            'y' => format!("{:02}", c.year.rem_euclid(100)),
            'Y' => format!("{:04}", c.year),
            'z' => "+0000".to_string(),
            'Z' => "UTC".to_string(),
            'w' => c.weekday.to_string(),
            other => format!("%{other}"),
        };
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        // 2024-02-29T13:05:09Z, a Thursday.
        let c = Civil::from_unix(1_709_211_909);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute, c.second), (2024, 2, 29, 13, 5, 9));
        assert_eq!(c.weekday, 4);
        assert_eq!(c.yday, 60);
        assert_eq!(days_from_civil(2024, 2, 29) * 86_400 + 13 * 3_600 + 5 * 60 + 9, 1_709_211_909);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2023, 14, 1), days_from_civil(2024, 2, 1), "months roll over");
    }

    #[test]
    fn strftime_formats() {
        let c = Civil::from_unix(1_709_211_909);
        assert_eq!(strftime(&c, "%Y-%m-%dT%H:%M:%SZ"), "2024-02-29T13:05:09Z");
        assert_eq!(strftime(&c, "%a %A %b %B %I%p %w %% %q"), "Thu Thursday Feb February 01PM 4 % %q");
        assert_eq!(strftime(&c, "%c"), "29 Feb 24 13:05 UTC");
    }
}
