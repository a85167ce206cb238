//! Maintenance windows: one-off or weekly recurring, per node or per region, in a stated zone.
//!
//! A window is expanded into concrete `[start, end)` instants over a range before use, so the
//! slice judge and the reports only ever compare instants. A weekly window's start is a wall-clock
//! time in its own zone (it follows daylight-saving changes); its length is elapsed time. A slice
//! is in maintenance when its start instant lies inside any occurrence; overlapping windows
//! simply overlap and count once.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rendan_domain::{NodeId, Region};

/// What a window applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One node.
    Node(NodeId),
    /// Every node of a region.
    Region(Region),
}

/// When a window happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Once, between two instants.
    OneOff {
        /// Start, inclusive.
        start: Timestamp,
        /// End, exclusive.
        end: Timestamp,
    },
    /// Every week on `weekday` at `at` (wall clock in `tz`) for `length`.
    Weekly {
        /// Day of the week in `tz`.
        weekday: Weekday,
        /// Local start time in `tz`.
        at: Time,
        /// Elapsed length.
        length: SignedDuration,
        /// The zone the weekday and time are stated in.
        tz: TimeZone,
    },
}

/// A maintenance window as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceWindow {
    /// Identifier given by the store.
    pub id: i64,
    /// Node or region.
    pub scope: Scope,
    /// When.
    pub schedule: Schedule,
    /// Free text, e.g. the change ticket.
    pub note: String,
}

impl MaintenanceWindow {
    /// True when the window applies to `node` of `region`.
    pub fn applies_to(&self, node: &NodeId, region: &Region) -> bool {
        match &self.scope {
            Scope::Node(n) => n == node,
            Scope::Region(r) => r == region,
        }
    }

    /// Occurrences that intersect `[from, to)`, as `[start, end)` instants.
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        match &self.schedule {
            Schedule::OneOff { start, end } => {
                if *start < to && *end > from {
                    vec![(*start, *end)]
                } else {
                    vec![]
                }
            }
            Schedule::Weekly {
                weekday,
                at,
                length,
                tz,
            } => {
                let mut out = Vec::new();
                // Start a week early so an occurrence that began before `from` still counts.
                let first = from.to_zoned(tz.clone()).date().checked_sub(8.days());
                let last = to.to_zoned(tz.clone()).date();
                let Ok(mut day) = first else { return out };
                while day <= last {
                    if day.weekday() == *weekday
                        && let Ok(z) = day.to_datetime(*at).to_zoned(tz.clone())
                    {
                        let s = z.timestamp();
                        if let Ok(e) = s.checked_add(*length)
                            && s < to
                            && e > from
                        {
                            out.push((s, e));
                        }
                    }
                    match day.tomorrow() {
                        Ok(d) => day = d,
                        Err(_) => break,
                    }
                }
                out
            }
        }
    }
}

/// Merged, sorted occurrences of every window that applies to one node over a range.
#[derive(Debug, Clone, Default)]
pub struct MaintenanceCalendar {
    spans: Vec<(Timestamp, Timestamp)>,
}

impl MaintenanceCalendar {
    /// Expands `windows` for `node` over `[from, to)`.
    pub fn build<'a>(
        windows: impl IntoIterator<Item = &'a MaintenanceWindow>,
        node: &NodeId,
        region: &Region,
        from: Timestamp,
        to: Timestamp,
    ) -> Self {
        let mut spans: Vec<_> = windows
            .into_iter()
            .filter(|w| w.applies_to(node, region))
            .flat_map(|w| w.occurrences(from, to))
            .collect();
        spans.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        MaintenanceCalendar { spans: merged }
    }

    /// True when the instant `t` lies inside a window.
    pub fn covers(&self, t: Timestamp) -> bool {
        let i = self.spans.partition_point(|(s, _)| *s <= t);
        i > 0 && self.spans[i - 1].1 > t
    }

    /// The merged spans.
    pub fn spans(&self) -> &[(Timestamp, Timestamp)] {
        &self.spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn node() -> (NodeId, Region) {
        (
            NodeId::parse("varese", "n").unwrap(),
            Region::parse("europe", "r").unwrap(),
        )
    }

    #[test]
    fn weekly_window_follows_local_time_across_dst() {
        let tz = TimeZone::get("Europe/Rome").unwrap();
        let w = MaintenanceWindow {
            id: 1,
            scope: Scope::Region(Region::parse("europe", "r").unwrap()),
            schedule: Schedule::Weekly {
                weekday: Weekday::Sunday,
                at: Time::constant(2, 0, 0, 0),
                length: SignedDuration::from_hours(1),
                tz,
            },
            note: String::new(),
        };
        let occ = w.occurrences(ts("2026-10-17T00:00:00Z"), ts("2026-11-02T00:00:00Z"));
        let starts: Vec<String> = occ.iter().map(|(s, _)| s.to_string()).collect();
        // 02:00 in Rome is 00:00Z in summer (CEST) and 01:00Z in winter (CET); on 2026-10-25
        // the clocks go back at 03:00 CEST, so 02:00 is the first (summer) occurrence.
        assert_eq!(
            starts,
            vec![
                "2026-10-18T00:00:00Z",
                "2026-10-25T00:00:00Z",
                "2026-11-01T01:00:00Z"
            ]
        );
    }

    #[test]
    fn overlapping_windows_merge() {
        let (n, r) = node();
        let one = |id, a: &str, b: &str| MaintenanceWindow {
            id,
            scope: Scope::Node(n.clone()),
            schedule: Schedule::OneOff {
                start: ts(a),
                end: ts(b),
            },
            note: String::new(),
        };
        let ws = [
            one(1, "2026-10-05T10:00:00Z", "2026-10-05T11:00:00Z"),
            one(2, "2026-10-05T10:30:00Z", "2026-10-05T12:00:00Z"),
        ];
        let cal = MaintenanceCalendar::build(
            &ws,
            &n,
            &r,
            ts("2026-10-01T00:00:00Z"),
            ts("2026-11-01T00:00:00Z"),
        );
        assert_eq!(cal.spans().len(), 1);
        assert!(cal.covers(ts("2026-10-05T11:59:00Z")));
        assert!(!cal.covers(ts("2026-10-05T12:00:00Z")));
        assert!(!cal.covers(ts("2026-10-05T09:59:59Z")));
    }
}
