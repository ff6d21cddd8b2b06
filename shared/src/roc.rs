//! ROC (民國) calendar dates as the ministry writes them, both ways.
//!
//! ROC year + 1911 = Gregorian year. The notice uses three spellings:
//! `114/8/22` (slash), `115 年 4 月` (month only, spaces optional) and
//! `115年2月12日` (long). Month-only dates are how estimated repair dates are
//! often given, so [`parse_eta`] keeps the precision.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Offset between ROC and Gregorian years.
pub const ROC_OFFSET: i32 = 1911;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RocDateError {
    #[error("「{0}」 is not a date in the ministry's format (e.g. 114/8/22 or 115 年 2 月 12 日)")]
    Unreadable(String),
    #[error("「{0}」 is not a real calendar date")]
    Impossible(String),
}

/// How precisely an estimated repair date (預計修復日期) is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EtaPrecision {
    Day,
    Month,
    /// 待定: to be determined.
    Unknown,
}

impl EtaPrecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// An estimated repair date. For [`EtaPrecision::Month`] `date` is the first
/// day of that month; for [`EtaPrecision::Unknown`] it is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Eta {
    pub date: Option<NaiveDate>,
    pub precision: EtaPrecision,
}

impl Eta {
    pub const UNKNOWN: Eta = Eta {
        date: None,
        precision: EtaPrecision::Unknown,
    };

    pub fn day(date: NaiveDate) -> Self {
        Self {
            date: Some(date),
            precision: EtaPrecision::Day,
        }
    }

    /// A month-precision ETA; `None` when the month is out of range.
    pub fn month(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|d| Self {
            date: Some(d),
            precision: EtaPrecision::Month,
        })
    }

    /// Builds an ETA from its stored parts, normalising month dates to the 1st.
    pub fn from_parts(precision: EtaPrecision, date: Option<NaiveDate>) -> Option<Self> {
        match (precision, date) {
            (EtaPrecision::Unknown, _) => Some(Self::UNKNOWN),
            (EtaPrecision::Day, Some(d)) => Some(Self::day(d)),
            (EtaPrecision::Month, Some(d)) => Self::month(d.year(), d.month()),
            (_, None) => None,
        }
    }

    /// The ministry's spelling: `115/4/30`, `115 年 4 月` or `待定`.
    pub fn to_roc(&self) -> String {
        match (self.precision, self.date) {
            (EtaPrecision::Day, Some(d)) => format_roc_slash(d),
            (EtaPrecision::Month, Some(d)) => format_roc_month(d.year(), d.month()),
            _ => "待定".to_string(),
        }
    }

    /// ISO spelling for the UI and the API: `2026-04-30`, `2026-04` or empty.
    pub fn to_iso(&self) -> String {
        match (self.precision, self.date) {
            // Written directly, not through chrono's strftime parser: the
            // fault list spells every row's ETA on each render.
            (EtaPrecision::Day, Some(d)) => {
                format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
            }
            (EtaPrecision::Month, Some(d)) => format!("{:04}-{:02}", d.year(), d.month()),
            _ => String::new(),
        }
    }

    /// The last day the repair is expected by (end of month for month precision).
    pub fn latest_day(&self) -> Option<NaiveDate> {
        let d = self.date?;
        match self.precision {
            EtaPrecision::Day => Some(d),
            EtaPrecision::Month => {
                let (y, m) = if d.month() == 12 {
                    (d.year() + 1, 1)
                } else {
                    (d.year(), d.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1).and_then(|n| n.pred_opt())
            }
            EtaPrecision::Unknown => None,
        }
    }
}

/// Normalises full-width digits, slashes and spaces to ASCII and drops spaces.
fn normalise(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '／' => Some('/'),
            c if c.is_whitespace() => None,
            c => Some(c),
        })
        .collect()
}

fn numbers(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(cur.parse().ok()?);
            cur.clear();
        }
    }
    if !cur.is_empty() {
        out.push(cur.parse().ok()?);
    }
    Some(out)
}

fn roc_ymd(raw: &str, y: u32, m: u32, d: u32) -> Result<NaiveDate, RocDateError> {
    // Years above 1911 are taken as already Gregorian, so ISO-ish input works too.
    let year = if y > 1911 {
        y as i32
    } else {
        y as i32 + ROC_OFFSET
    };
    NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| RocDateError::Impossible(raw.to_string()))
}

/// Parses a full ROC date: `114/8/22`, `115年2月12日`, `115 年 2 月 12 日`.
pub fn parse_roc_date(raw: &str) -> Result<NaiveDate, RocDateError> {
    let s = normalise(raw);
    let unreadable = || RocDateError::Unreadable(raw.trim().to_string());
    let nums = if s.contains('/') {
        if !s.chars().all(|c| c.is_ascii_digit() || c == '/') {
            return Err(unreadable());
        }
        numbers(&s).ok_or_else(unreadable)?
    } else if s.contains('年') && s.contains('月') {
        let rest = s.trim_end_matches('日');
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == '年' || c == '月')
            || !s.ends_with('日')
        {
            return Err(unreadable());
        }
        numbers(&s).ok_or_else(unreadable)?
    } else {
        return Err(unreadable());
    };
    match nums.as_slice() {
        [y, m, d] if *y > 0 => roc_ymd(raw.trim(), *y, *m, *d),
        _ => Err(unreadable()),
    }
}

/// Parses an ROC month and day without a year (`2 月 12 日`), taking the year
/// from `context` (the notice's own date).
pub fn parse_roc_month_day(raw: &str, context: NaiveDate) -> Result<NaiveDate, RocDateError> {
    let s = normalise(raw);
    if !s.ends_with('日') || !s.contains('月') || s.contains('年') {
        return Err(RocDateError::Unreadable(raw.trim().to_string()));
    }
    match numbers(&s).as_deref() {
        Some([m, d]) => NaiveDate::from_ymd_opt(context.year(), *m, *d)
            .ok_or_else(|| RocDateError::Impossible(raw.trim().to_string())),
        _ => Err(RocDateError::Unreadable(raw.trim().to_string())),
    }
}

/// Parses an estimated repair date: a full date, a month (`115 年 4 月`,
/// `115/4`) or `待定` / empty for unknown.
pub fn parse_eta(raw: &str) -> Result<Eta, RocDateError> {
    let s = normalise(raw);
    if s.is_empty() || s == "待定" || s == "未定" {
        return Ok(Eta::UNKNOWN);
    }
    if let Ok(d) = parse_roc_date(raw) {
        return Ok(Eta::day(d));
    }
    let month_form = (s.contains('年') && s.ends_with('月'))
        || (s.matches('/').count() == 1 && s.chars().all(|c| c.is_ascii_digit() || c == '/'));
    if month_form {
        if let Some([y, m]) = numbers(&s).as_deref() {
            let year = if *y > 1911 {
                *y as i32
            } else {
                *y as i32 + ROC_OFFSET
            };
            return Eta::month(year, *m)
                .ok_or_else(|| RocDateError::Impossible(raw.trim().to_string()));
        }
    }
    match parse_roc_date(raw) {
        Err(RocDateError::Impossible(e)) => Err(RocDateError::Impossible(e)),
        _ => Err(RocDateError::Unreadable(raw.trim().to_string())),
    }
}

/// `2025-08-22` → `114/8/22`.
pub fn format_roc_slash(d: NaiveDate) -> String {
    format!("{}/{}/{}", d.year() - ROC_OFFSET, d.month(), d.day())
}

/// `2026-02-12` → `115 年 2 月 12 日`.
pub fn format_roc_long(d: NaiveDate) -> String {
    format!(
        "{} 年 {} 月 {} 日",
        d.year() - ROC_OFFSET,
        d.month(),
        d.day()
    )
}

/// `(2026, 4)` → `115 年 4 月`.
pub fn format_roc_month(year: i32, month: u32) -> String {
    format!("{} 年 {} 月", year - ROC_OFFSET, month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn parses_the_three_spellings() {
        assert_eq!(parse_roc_date("114/8/22"), Ok(d(2025, 8, 22)));
        assert_eq!(parse_roc_date("115年2月12日"), Ok(d(2026, 2, 12)));
        assert_eq!(parse_roc_date(" 115 年 2 月 12 日 "), Ok(d(2026, 2, 12)));
        assert_eq!(parse_roc_date("１１５／２／１４"), Ok(d(2026, 2, 14)));
    }

    #[test]
    fn rejects_impossible_and_unreadable_dates() {
        assert!(matches!(
            parse_roc_date("115/2/30"),
            Err(RocDateError::Impossible(_))
        ));
        assert!(matches!(
            parse_roc_date("115/13/1"),
            Err(RocDateError::Impossible(_))
        ));
        assert!(matches!(
            parse_roc_date("yesterday"),
            Err(RocDateError::Unreadable(_))
        ));
        assert!(matches!(
            parse_roc_date("115/2"),
            Err(RocDateError::Unreadable(_))
        ));
        assert!(parse_roc_date("").is_err());
    }

    #[test]
    fn eta_keeps_its_precision() {
        assert_eq!(parse_eta("115/4/30"), Ok(Eta::day(d(2026, 4, 30))));
        let month = parse_eta("115 年 4 月").expect("month eta");
        assert_eq!(month.precision, EtaPrecision::Month);
        assert_eq!(month.date, Some(d(2026, 4, 1)));
        assert_eq!(month.latest_day(), Some(d(2026, 4, 30)));
        assert_eq!(month.to_roc(), "115 年 4 月");
        assert_eq!(month.to_iso(), "2026-04");
        assert_eq!(parse_eta("待定"), Ok(Eta::UNKNOWN));
        assert_eq!(parse_eta(""), Ok(Eta::UNKNOWN));
        assert!(parse_eta("115 年 13 月").is_err());
        assert!(parse_eta("soon").is_err());
    }

    #[test]
    fn month_day_takes_the_year_from_context() {
        assert_eq!(
            parse_roc_month_day("2 月 12 日", d(2026, 2, 14)),
            Ok(d(2026, 2, 12))
        );
        assert!(parse_roc_month_day("2 月 30 日", d(2026, 2, 14)).is_err());
    }

    #[test]
    fn december_month_eta_ends_on_the_31st() {
        let eta = Eta::month(2026, 12).expect("month");
        assert_eq!(eta.latest_day(), Some(d(2026, 12, 31)));
    }

    proptest! {
        #[test]
        fn every_date_round_trips_through_every_spelling(days in 0i64..40_000) {
            let date = d(1912, 1, 1) + chrono::Duration::days(days);
            prop_assert_eq!(parse_roc_date(&format_roc_slash(date)), Ok(date));
            prop_assert_eq!(parse_roc_date(&format_roc_long(date)), Ok(date));
            let eta = Eta::day(date);
            prop_assert_eq!(parse_eta(&eta.to_roc()), Ok(eta));
            let month = Eta::month(date.year(), date.month()).expect("month");
            prop_assert_eq!(parse_eta(&month.to_roc()), Ok(month));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = parse_roc_date(&s);
            let _ = parse_eta(&s);
        }
    }
}
