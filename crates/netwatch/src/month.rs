//! Contractual months: `2026-10` in a contract's time zone, as a half-open range of instants.
//!
//! A month starts at local midnight of its first day in the contract's zone and ends at local
//! midnight of the next month's first day; the instants come from jiff's time-zone database, so
//! a month that crosses a daylight-saving change is an hour longer or shorter in real time.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::fmt;
use std::str::FromStr;

/// A calendar month, e.g. `2026-10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    first: Date,
}

/// Text that is not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a month as YYYY-MM (e.g. 2026-10), got {0:?}")]
pub struct BadMonth(pub String);

/// A month boundary that the time zone cannot place (only for dates far outside jiff's range).
#[derive(Debug, thiserror::Error)]
#[error("cannot place month {month} in {zone}: {source}")]
pub struct MonthRangeError {
    month: Month,
    zone: String,
    source: jiff::Error,
}

impl Month {
    /// The month of `year`, `month` (1-12).
    pub fn new(year: i16, month: i8) -> Result<Self, BadMonth> {
        Date::new(year, month, 1)
            .map(|first| Month { first })
            .map_err(|_| BadMonth(format!("{year:04}-{month:02}")))
    }

    /// The month containing `t` in zone `tz`.
    pub fn containing(t: Timestamp, tz: &TimeZone) -> Self {
        let d = t.to_zoned(tz.clone()).date();
        Month {
            first: d.first_of_month(),
        }
    }

    /// The first day.
    pub fn first_day(self) -> Date {
        self.first
    }

    /// The following month.
    pub fn next(self) -> Option<Month> {
        self.first
            .checked_add(1.month())
            .ok()
            .map(|first| Month { first })
    }

    /// Number of calendar days.
    pub fn days(self) -> i8 {
        self.first.days_in_month()
    }

    /// `[start, end)` of the month as instants in `tz`.
    pub fn range(self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), MonthRangeError> {
        let err = |source| MonthRangeError {
            month: self,
            zone: tz.iana_name().unwrap_or("fixed offset").to_string(),
            source,
        };
        let start = self.first.to_zoned(tz.clone()).map_err(err)?;
        let next = self
            .first
            .checked_add(1.month())
            .map_err(err)?
            .to_zoned(tz.clone())
            .map_err(err)?;
        Ok((start.timestamp(), next.timestamp()))
    }
}

impl FromStr for Month {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadMonth(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        Month::new(year, month).map_err(|_| bad())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(m: &str, zone: &str) -> i64 {
        let tz = TimeZone::get(zone).unwrap();
        let (a, b) = m.parse::<Month>().unwrap().range(&tz).unwrap();
        (b.as_second() - a.as_second()) / 60
    }

    #[test]
    fn month_lengths_follow_the_zone() {
        assert_eq!(minutes("2026-11", "Asia/Shanghai"), 30 * 1440);
        assert_eq!(minutes("2026-10", "Asia/Shanghai"), 31 * 1440);
        // Europe/Rome leaves summer time on 2026-10-25 and enters it on 2026-03-29.
        assert_eq!(minutes("2026-10", "Europe/Rome"), 31 * 1440 + 60);
        assert_eq!(minutes("2026-03", "Europe/Rome"), 31 * 1440 - 60);
    }

    #[test]
    fn month_starts_at_local_midnight() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let (a, _) = "2026-10".parse::<Month>().unwrap().range(&tz).unwrap();
        assert_eq!(a.to_string(), "2026-09-30T16:00:00Z");
    }

    #[test]
    fn bad_months_are_refused() {
        for bad in ["2026-13", "2026-1", "26-10", "2026/10", "", "2026-00"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        assert_eq!("2026-02".parse::<Month>().unwrap().to_string(), "2026-02");
    }
}
