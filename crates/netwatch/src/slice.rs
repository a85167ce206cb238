//! Slices: time cut into fixed, epoch-aligned periods, each judged exactly one [`SliceState`].
//!
//! A slice of length `L` seconds starts at a Unix second divisible by `L`, so every vantage
//! point, every restart and every report agree on the same boundaries without coordination.
//! A slice that was never stored is NO_DATA: absence of evidence is never read as UP.

use jiff::{SignedDuration, Timestamp};
use std::fmt;
use std::str::FromStr;

/// The one state of a node in a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SliceState {
    /// Reachable and within every class threshold.
    Up,
    /// Reachable but over a class threshold.
    Degraded,
    /// Unreachable according to a quorum of the vantage points that reported.
    Down,
    /// Inside a maintenance window: left out of availability.
    Maintenance,
    /// Nobody measured: the monitor was not running or no vantage point reported.
    NoData,
}

impl SliceState {
    /// The state's place in [`SliceState::ALL`].
    pub fn index(self) -> usize {
        SliceState::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// Every state, in report order.
    pub const ALL: [SliceState; 5] = [
        SliceState::Up,
        SliceState::Degraded,
        SliceState::Down,
        SliceState::Maintenance,
        SliceState::NoData,
    ];

    /// The upper-case name used in storage and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SliceState::Up => "UP",
            SliceState::Degraded => "DEGRADED",
            SliceState::Down => "DOWN",
            SliceState::Maintenance => "MAINTENANCE",
            SliceState::NoData => "NO_DATA",
        }
    }
}

impl fmt::Display for SliceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that names no slice state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown slice state {0:?}")]
pub struct UnknownState(pub String);

impl FromStr for SliceState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SliceState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// The fixed length of a slice, in whole seconds (1 s for tests, 60 s by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SliceLen(u32);

/// A slice length that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slice length must be 1 to 86400 whole seconds dividing a day, got {0} s")]
pub struct BadSliceLen(pub i64);

impl SliceLen {
    /// One minute, the default.
    pub const MINUTE: SliceLen = SliceLen(60);

    /// Validates a length in seconds; it must divide a day so slices align with midnights.
    pub fn from_secs(secs: i64) -> Result<Self, BadSliceLen> {
        if (1..=86_400).contains(&secs) && 86_400 % secs == 0 {
            Ok(SliceLen(secs as u32))
        } else {
            Err(BadSliceLen(secs))
        }
    }

    /// Validates a duration (whole seconds only).
    pub fn from_duration(d: SignedDuration) -> Result<Self, BadSliceLen> {
        if d.subsec_nanos() != 0 {
            return Err(BadSliceLen(d.as_secs()));
        }
        Self::from_secs(d.as_secs())
    }

    /// Length in seconds.
    pub fn secs(self) -> i64 {
        i64::from(self.0)
    }

    /// Length as a duration.
    pub fn duration(self) -> SignedDuration {
        SignedDuration::from_secs(self.secs())
    }

    /// Length in minutes (fractional for sub-minute slices).
    pub fn minutes(self) -> f64 {
        self.secs() as f64 / 60.0
    }

    /// Start (Unix seconds) of the slice containing `t`.
    pub fn floor(self, t: Timestamp) -> i64 {
        t.as_second().div_euclid(self.secs()) * self.secs()
    }

    /// Start (Unix seconds) of the first slice starting at or after `t`.
    pub fn ceil(self, t: Timestamp) -> i64 {
        let f = self.floor(t);
        if f == t.as_second() && t.subsec_nanosecond() == 0 {
            f
        } else {
            f + self.secs()
        }
    }

    /// Starts (Unix seconds) of the slices whose start lies in `[from, to)`.
    pub fn starts_in(self, from: Timestamp, to: Timestamp) -> impl Iterator<Item = i64> {
        let step = self.secs();
        let first = self.ceil(from);
        let end = to.as_second() + i64::from(to.subsec_nanosecond() > 0);
        (0..)
            .map(move |i| first + i * step)
            .take_while(move |s| *s < end)
    }
}

/// Parses a duration as written in configuration and flags: `1s`, `500ms`, `2m`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = text
        .trim()
        .parse()
        .map_err(|e| format!("not a duration (try 1s, 500ms, 5m): {e}"))?;
    if d.is_negative() || d.is_zero() {
        return Err(format!("must be positive, got {text:?}"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn slices_are_epoch_aligned() {
        let len = SliceLen::from_secs(60).unwrap();
        assert_eq!(len.floor(ts("2026-10-01T00:00:59Z")) % 60, 0);
        let starts: Vec<i64> = len
            .starts_in(ts("2026-10-01T00:00:30Z"), ts("2026-10-01T00:03:00Z"))
            .collect();
        assert_eq!(starts.len(), 2, "slices at :01 and :02 only");
        assert!(SliceLen::from_secs(7).is_err(), "7 s does not divide a day");
        assert!(SliceLen::from_secs(0).is_err());
    }

    #[test]
    fn states_round_trip_as_text() {
        for s in SliceState::ALL {
            assert_eq!(s.as_str().parse::<SliceState>().unwrap(), s);
        }
        assert!("up".parse::<SliceState>().is_err());
    }

    #[test]
    fn durations_parse_in_friendly_units() {
        assert_eq!(parse_duration("1s").unwrap(), SignedDuration::from_secs(1));
        assert_eq!(
            parse_duration("500ms").unwrap(),
            SignedDuration::from_millis(500)
        );
        assert_eq!(
            parse_duration("2m").unwrap(),
            SignedDuration::from_secs(120)
        );
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
