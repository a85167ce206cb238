//! Availability arithmetic: counting slices per state over a range and judging it against a target.
//!
//! Availability = UP (+ DEGRADED unless the contract counts it as down) over every slice except
//! MAINTENANCE and NO_DATA. A slice's effective state is MAINTENANCE when the maintenance
//! overlay covers its start (`maintenance::Overlay`), otherwise its stored state, otherwise
//! NO_DATA.
//! Allowed downtime is `(100 - target)%` of the counted minutes, which for a fully measured
//! month is `(100 - target)%` of the month: 129.6 min for 30 days at 99.7%.

use crate::maintenance::MaintenanceCalendar;
use crate::slice::{SliceLen, SliceState};
use jiff::Timestamp;
use std::ops::AddAssign;

/// Time spent in each state, in seconds.
///
/// Time rather than a slice count, so that slices of different lengths (a demo run with 1 s
/// slices beside production's 60 s) and slices cut by a month boundary add up exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Seconds UP.
    pub up: u64,
    /// Seconds DEGRADED.
    pub degraded: u64,
    /// Seconds DOWN.
    pub down: u64,
    /// Seconds in MAINTENANCE.
    pub maintenance: u64,
    /// Seconds with NO_DATA.
    pub no_data: u64,
}

impl Counts {
    /// Adds `secs` seconds in state `s`.
    pub fn add(&mut self, s: SliceState, secs: u64) {
        match s {
            SliceState::Up => self.up += secs,
            SliceState::Degraded => self.degraded += secs,
            SliceState::Down => self.down += secs,
            SliceState::Maintenance => self.maintenance += secs,
            SliceState::NoData => self.no_data += secs,
        }
    }

    /// The whole range.
    pub fn total(&self) -> u64 {
        self.up + self.degraded + self.down + self.maintenance + self.no_data
    }

    /// Time that enters the denominator.
    pub fn counted(&self) -> u64 {
        self.up + self.degraded + self.down
    }

    /// Time counted as down under the contract.
    pub fn bad(&self, degraded_is_down: bool) -> u64 {
        self.down + if degraded_is_down { self.degraded } else { 0 }
    }

    /// Availability in percent, or `None` when nothing was measured.
    pub fn availability(&self, degraded_is_down: bool) -> Option<f64> {
        let counted = self.counted();
        if counted == 0 {
            return None;
        }
        let good = counted - self.bad(degraded_is_down);
        Some(100.0 * good as f64 / counted as f64)
    }

    /// The same figures in units of `len` slices (exact when every slice has that length).
    pub fn in_slices(&self, len: SliceLen) -> Counts {
        let d = len.secs().max(1) as u64;
        Counts {
            up: self.up / d,
            degraded: self.degraded / d,
            down: self.down / d,
            maintenance: self.maintenance / d,
            no_data: self.no_data / d,
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.up += o.up;
        self.degraded += o.degraded;
        self.down += o.down;
        self.maintenance += o.maintenance;
        self.no_data += o.no_data;
    }
}

/// Minutes down allowed by `target` percent over `minutes` of counted time.
pub fn allowed_downtime_minutes(target: f64, minutes: f64) -> f64 {
    // Work in hundredths of a percent so 99.7 is exactly 9970 and 0.3% exactly 30/10000.
    let shortfall = (10_000.0 - (target * 100.0).round()).max(0.0);
    minutes * shortfall / 10_000.0
}

/// A stored slice as the arithmetic sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Start, Unix seconds.
    pub start: i64,
    /// Length in seconds.
    pub len: i64,
    /// State it closed with.
    pub state: SliceState,
}

/// Walks `[from, to)` (Unix seconds) in time order, calling `f(start, secs, state)` for each
/// stretch of one effective state. `rows` must be sorted by start.
///
/// A stored slice is MAINTENANCE when a window covers its start, else its stored state; time
/// without a stored slice is MAINTENANCE where a window covers it and NO_DATA elsewhere. Slices
/// are clipped to the range, and where two stored slices overlap the earlier one wins.
pub fn walk(
    from: i64,
    to: i64,
    rows: &[Stored],
    calendar: &MaintenanceCalendar,
    mut f: impl FnMut(i64, i64, SliceState),
) {
    let gap = |a: i64, b: i64, f: &mut dyn FnMut(i64, i64, SliceState)| {
        let mut cur = a;
        for (s, e) in calendar.spans() {
            let (s, e) = (
                s.as_second(),
                e.as_second() + i64::from(e.subsec_nanosecond() > 0),
            );
            if e <= cur {
                continue;
            }
            if s >= b {
                break;
            }
            if s > cur {
                f(cur, s - cur, SliceState::NoData);
                cur = s;
            }
            let end = e.min(b);
            f(cur, end - cur, SliceState::Maintenance);
            cur = end;
        }
        if cur < b {
            f(cur, b - cur, SliceState::NoData);
        }
    };
    let mut cursor = from;
    for r in rows {
        let (mut s, e) = (r.start.max(from), (r.start + r.len).min(to));
        if e <= s || e <= cursor {
            continue;
        }
        s = s.max(cursor);
        if s > cursor {
            gap(cursor, s, &mut f);
        }
        let in_window = Timestamp::from_second(r.start)
            .map(|t| calendar.covers(t))
            .unwrap_or(false);
        f(
            s,
            e - s,
            if in_window {
                SliceState::Maintenance
            } else {
                r.state
            },
        );
        cursor = e;
    }
    if cursor < to {
        gap(cursor, to, &mut f);
    }
}

/// Time per effective state over `[from, to)`.
pub fn tally(
    from: Timestamp,
    to: Timestamp,
    rows: &[Stored],
    calendar: &MaintenanceCalendar,
) -> Counts {
    let mut c = Counts::default();
    walk(
        from.as_second(),
        to.as_second(),
        rows,
        calendar,
        |_, secs, s| c.add(s, secs.max(0) as u64),
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::{MaintenanceWindow, Schedule, Scope};
    use crate::month::Month;
    use jiff::civil::{Time, Weekday};
    use jiff::tz::TimeZone;
    use jiff::{SignedDuration, ToSpan};
    use rendan_domain::{NodeId, Region};
    use std::collections::BTreeMap;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn month(m: &str, zone: &str) -> (Timestamp, Timestamp) {
        m.parse::<Month>()
            .unwrap()
            .range(&TimeZone::get(zone).unwrap())
            .unwrap()
    }

    fn minutes(r: (Timestamp, Timestamp)) -> f64 {
        (r.1.as_second() - r.0.as_second()) as f64 / 60.0
    }

    /// Golden vectors of the contract (ANCHORS.md "Network watch").
    #[test]
    fn allowed_downtime_golden_vectors() {
        let m30 = minutes(month("2026-11", "Asia/Shanghai"));
        let m31 = minutes(month("2026-10", "Asia/Shanghai"));
        assert!(close(allowed_downtime_minutes(99.7, m30), 129.6));
        assert!(close(allowed_downtime_minutes(99.8, m30), 86.4));
        assert!(close(allowed_downtime_minutes(99.7, m31), 133.92));
        assert!(close(allowed_downtime_minutes(99.8, m31), 89.28));
        // October in Rome has 25 hours on the 25th: 44,700 minutes.
        let rome = minutes(month("2026-10", "Europe/Rome"));
        assert!(close(rome, 44_700.0));
        assert!(close(allowed_downtime_minutes(99.8, rome), 89.4));
        let march = minutes(month("2026-03", "Europe/Rome"));
        assert!(close(allowed_downtime_minutes(99.8, march), 89.16));
    }

    fn all_up(len: SliceLen, r: (Timestamp, Timestamp)) -> BTreeMap<i64, SliceState> {
        len.starts_in(r.0, r.1)
            .map(|s| (s, SliceState::Up))
            .collect()
    }

    /// Counts in minutes over `r` from one-minute slices.
    fn minutes_tally(
        r: (Timestamp, Timestamp),
        stored: &BTreeMap<i64, SliceState>,
        cal: &MaintenanceCalendar,
    ) -> Counts {
        let rows: Vec<Stored> = stored
            .iter()
            .map(|(s, st)| Stored {
                start: *s,
                len: 60,
                state: *st,
            })
            .collect();
        tally(r.0, r.1, &rows, cal).in_slices(SliceLen::MINUTE)
    }

    #[test]
    fn dst_month_counts_real_minutes() {
        let len = SliceLen::MINUTE;
        let r = month("2026-10", "Europe/Rome");
        let mut stored = all_up(len, r);
        // 89 minutes down on the night the clocks go back: still within 99.8%.
        let outage: Timestamp = "2026-10-25T00:30:00Z".parse().unwrap();
        for i in 0..89 {
            stored.insert(outage.as_second() + 60 * i, SliceState::Down);
        }
        let c = minutes_tally(r, &stored, &MaintenanceCalendar::default());
        assert_eq!(c.total(), 44_700);
        assert_eq!(c.down, 89);
        let a = c.availability(false).unwrap();
        assert!(a >= 99.8, "{a}");
        assert!((c.down as f64) <= allowed_downtime_minutes(99.8, c.counted() as f64));
    }

    #[test]
    fn maintenance_leaves_numerator_and_denominator() {
        let len = SliceLen::MINUTE;
        let r = month("2026-11", "Asia/Shanghai");
        let (node, region) = (
            NodeId::parse("seoul", "n").unwrap(),
            Region::parse("asia", "r").unwrap(),
        );
        let mut stored = all_up(len, r);
        // The node is down for 3 hours, two of them inside maintenance.
        let t0: Timestamp = "2026-11-10T02:00:00Z".parse().unwrap();
        for i in 0..180 {
            stored.insert(t0.as_second() + 60 * i, SliceState::Down);
        }
        let one_off = MaintenanceWindow {
            id: 1,
            scope: Scope::Node(node.clone()),
            schedule: Schedule::OneOff {
                start: t0,
                end: t0.checked_add(90.minutes()).unwrap(),
            },
            note: "one-off".into(),
            version: 1,
            emergency: false,
            created: (Timestamp::UNIX_EPOCH, String::new()),
            changed: (Timestamp::UNIX_EPOCH, String::new()),
            deleted: None,
        };
        // A weekly window (Tuesday 10:30 Shanghai = 02:30Z) overlapping the one-off by 60 min.
        let weekly = MaintenanceWindow {
            id: 2,
            scope: Scope::Region(region.clone()),
            schedule: Schedule::Weekly {
                weekday: Weekday::Tuesday,
                at: Time::constant(10, 30, 0, 0),
                length: SignedDuration::from_mins(90),
                tz: TimeZone::get("Asia/Shanghai").unwrap(),
            },
            note: "weekly".into(),
            version: 1,
            emergency: false,
            created: (Timestamp::UNIX_EPOCH, String::new()),
            changed: (Timestamp::UNIX_EPOCH, String::new()),
            deleted: None,
        };
        let cal = MaintenanceCalendar::build([&one_off, &weekly], &node, &region, r.0, r.1);
        let c = minutes_tally(r, &stored, &cal);
        // Tuesdays in November 2026 (Shanghai): 3, 10, 17, 24 -> 4 x 90 min, of which the
        // 10th's overlaps the one-off (02:00-03:30Z vs 02:30-04:00Z): union 120 min that day.
        assert_eq!(c.maintenance, 3 * 90 + 120);
        assert_eq!(c.down, 60, "only the hour outside both windows counts");
        assert_eq!(c.counted(), 43_200 - c.maintenance);
        let a = c.availability(false).unwrap();
        let want = 100.0 * (c.counted() - 60) as f64 / c.counted() as f64;
        assert!(close(a, want));
    }

    #[test]
    fn no_data_at_the_start_of_monitoring() {
        let len = SliceLen::MINUTE;
        let r = month("2026-11", "Asia/Shanghai");
        // Monitoring starts on the 10th at local midnight: nine days unknown.
        let started: Timestamp = "2026-11-09T16:00:00Z".parse().unwrap();
        let stored = all_up(len, (started, r.1));
        let c = minutes_tally(r, &stored, &MaintenanceCalendar::default());
        assert_eq!(c.no_data, 9 * 1440);
        assert_eq!(c.up, 21 * 1440);
        assert_eq!(c.availability(false), Some(100.0));
        let nothing = minutes_tally(r, &BTreeMap::new(), &MaintenanceCalendar::default());
        assert_eq!(
            nothing.availability(false),
            None,
            "no measurement, no figure"
        );
    }

    #[test]
    fn slices_of_any_length_add_up_as_time() {
        // A demo run with 1 s slices after a production run with 60 s slices, a gap inside a
        // maintenance window, and a slice straddling the end of the range.
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let from = t("2026-11-01T00:00:00Z");
        let to = t("2026-11-01T00:10:00Z");
        let f = from.as_second();
        let mut rows = vec![
            Stored {
                start: f - 30,
                len: 60,
                state: SliceState::Up,
            },
            Stored {
                start: f + 30,
                len: 60,
                state: SliceState::Down,
            },
        ];
        rows.extend((0..60).map(|i| Stored {
            start: f + 120 + i,
            len: 1,
            state: SliceState::Degraded,
        }));
        rows.push(Stored {
            start: f + 570,
            len: 60,
            state: SliceState::Up,
        });
        let (node, region) = (
            NodeId::parse("pune", "n").unwrap(),
            Region::parse("asia", "r").unwrap(),
        );
        let w = MaintenanceWindow {
            id: 1,
            scope: Scope::Node(node.clone()),
            schedule: Schedule::OneOff {
                start: t("2026-11-01T00:05:00Z"),
                end: t("2026-11-01T00:06:00Z"),
            },
            note: String::new(),
            version: 1,
            emergency: false,
            created: (Timestamp::UNIX_EPOCH, String::new()),
            changed: (Timestamp::UNIX_EPOCH, String::new()),
            deleted: None,
        };
        let cal = MaintenanceCalendar::build([&w], &node, &region, from, to);
        let c = tally(from, to, &rows, &cal);
        assert_eq!(c.total(), 600);
        assert_eq!(c.up, 30 + 30, "clipped at both ends");
        assert_eq!(c.down, 60);
        assert_eq!(c.degraded, 60);
        assert_eq!(
            c.maintenance, 60,
            "a window over a gap is maintenance, not NO_DATA"
        );
        assert_eq!(c.no_data, 30 + 120 + 210, "90-120, 180-300 and 360-570");
    }

    #[test]
    fn degraded_counts_by_contract() {
        let c = Counts {
            up: 996,
            degraded: 2,
            down: 2,
            ..Counts::default()
        };
        assert!(close(c.availability(false).unwrap(), 99.8));
        assert!(close(c.availability(true).unwrap(), 99.6));
    }
}
