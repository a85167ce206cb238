//! Maintenance windows: one-off or weekly recurring, per node or per region, in a stated zone,
//! kept as an append-only history of versions and laid over the observed slices at report time.
//!
//! A window is never edited in place: creating, changing and deleting it each record a
//! [`WindowVersion`] with who and when. [`Overlay`] turns that history into the spans that mask
//! a node, under three rules that keep the SLA record honest:
//! - a version holds from its announcement (recorded + the notice, default 1 h) until the next
//!   version holds, so a change shortens a window at once and adds to it only after the
//!   notice; an *emergency* one-off version holds from its own start (it may be recorded after
//!   the fact) and is listed in every report;
//! - a deleted window masks nothing: deleting it restores the downtime it hid;
//! - a report as of an instant sees only the versions recorded before it, so a closed month
//!   (reported as of its end) never changes again.
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

/// What one version of a window says.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    /// Node or region.
    pub scope: Scope,
    /// When.
    pub schedule: Schedule,
    /// Free text, e.g. the change ticket.
    pub note: String,
    /// Recorded without the notice (after the fact, or at short notice) by an administrator.
    pub emergency: bool,
}

/// One recorded version of a window: its creation, a change, or its deletion (`spec` = None).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowVersion {
    /// The window.
    pub window: i64,
    /// 1 for the creation, then one more per change or deletion.
    pub version: u32,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
    /// What the window says from this version on; None once deleted.
    pub spec: Option<WindowSpec>,
}

/// A window as it stands (its latest version), with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceWindow {
    /// Identifier given by the store.
    pub id: i64,
    /// The latest version's number.
    pub version: u32,
    /// Node or region.
    pub scope: Scope,
    /// When.
    pub schedule: Schedule,
    /// Free text, e.g. the change ticket.
    pub note: String,
    /// Recorded as an emergency window.
    pub emergency: bool,
    /// When the window was first recorded, and by whom.
    pub created: (Timestamp, String),
    /// When the latest version was recorded, and by whom.
    pub changed: (Timestamp, String),
    /// When it was deleted, and by whom.
    pub deleted: Option<(Timestamp, String)>,
}

/// The windows of `history` as they stand after its last version (deleted ones included,
/// marked), in id order. `history` must be sorted by window and version.
pub fn current(history: &[WindowVersion]) -> Vec<MaintenanceWindow> {
    let mut out: Vec<MaintenanceWindow> = Vec::new();
    for v in history {
        let same = out.last().is_some_and(|w| w.id == v.window);
        let stamp = (v.recorded_at, v.recorded_by.clone());
        match (&v.spec, same) {
            (Some(spec), true) => {
                if let Some(w) = out.last_mut() {
                    w.version = v.version;
                    w.scope = spec.scope.clone();
                    w.schedule = spec.schedule.clone();
                    w.note = spec.note.clone();
                    w.emergency = spec.emergency;
                    w.changed = stamp;
                }
            }
            (Some(spec), false) => out.push(MaintenanceWindow {
                id: v.window,
                version: v.version,
                scope: spec.scope.clone(),
                schedule: spec.schedule.clone(),
                note: spec.note.clone(),
                emergency: spec.emergency,
                created: stamp.clone(),
                changed: stamp,
                deleted: None,
            }),
            (None, true) => {
                if let Some(w) = out.last_mut() {
                    w.version = v.version;
                    w.deleted = Some(stamp);
                }
            }
            // A deletion without a creation cannot be stored; nothing to show.
            (None, false) => {}
        }
    }
    out
}

/// Why a window cannot be recorded as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowRefusal {
    /// A planned window starts before its notice has run.
    #[error(
        "a maintenance window must be announced {notice} before it starts (it starts at {start}, \
         the earliest start now is {earliest}); an administrator may record an emergency window \
         instead (\"emergency\": true)"
    )]
    TooLate {
        /// The window's start.
        start: Timestamp,
        /// Now plus the notice.
        earliest: Timestamp,
        /// The notice, e.g. `1h`.
        notice: String,
    },
    /// The window was deleted; it cannot be changed any more.
    #[error("maintenance window {0} was deleted")]
    Deleted(i64),
}

/// Checks that `spec`, recorded at `now`, respects the notice: a planned one-off window starts
/// no earlier than `now + notice`. Weekly windows are accepted; their occurrences mask only
/// from the announcement on (see [`Overlay`]). Emergency windows are exempt.
pub fn check_notice(
    spec: &WindowSpec,
    now: Timestamp,
    notice: SignedDuration,
) -> Result<(), WindowRefusal> {
    if spec.emergency {
        return Ok(());
    }
    if let Schedule::OneOff { start, .. } = &spec.schedule {
        let earliest = now.checked_add(notice).unwrap_or(now);
        if *start < earliest {
            return Err(WindowRefusal::TooLate {
                start: *start,
                earliest,
                notice: format!("{notice:#}"),
            });
        }
    }
    Ok(())
}

/// The maintenance a report applies: the windows' versions recorded before `as_of`, each
/// masking from its announcement until the next version takes over.
#[derive(Debug, Clone)]
pub struct Overlay<'a> {
    history: &'a [WindowVersion],
    as_of: Timestamp,
    notice: SignedDuration,
}

impl<'a> Overlay<'a> {
    /// The overlay of `history` (sorted by window and version) as of `as_of`.
    pub fn new(history: &'a [WindowVersion], as_of: Timestamp, notice: SignedDuration) -> Self {
        Overlay {
            history,
            as_of,
            notice,
        }
    }

    /// The versions this overlay sees, grouped by window.
    fn windows(&self) -> impl Iterator<Item = &'a [WindowVersion]> + '_ {
        self.history
            .chunk_by(|a, b| a.window == b.window)
            .map(|w| {
                let n = w.partition_point(|v| v.recorded_at < self.as_of);
                &w[..n]
            })
            .filter(|w| !w.is_empty())
    }

    /// From when a version holds: a planned one from its announcement (recorded + notice); an
    /// emergency one-off from its own start when that is earlier than when it was recorded
    /// (that is what an emergency record is for); an emergency weekly one from when it was
    /// recorded, so that it never reaches back over past weeks.
    fn holds_from(&self, v: &WindowVersion) -> Timestamp {
        match &v.spec {
            Some(WindowSpec {
                emergency: true,
                schedule: Schedule::OneOff { start, .. },
                ..
            }) => (*start).min(v.recorded_at),
            Some(WindowSpec {
                emergency: true, ..
            }) => v.recorded_at,
            _ => v
                .recorded_at
                .checked_add(self.notice)
                .unwrap_or(v.recorded_at),
        }
    }

    /// Spans that mask `node` of `region` over `[from, to)`, unmerged.
    fn spans(
        &self,
        node: &NodeId,
        region: &Region,
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<(Timestamp, Timestamp)> {
        let mut out = Vec::new();
        for versions in self.windows() {
            if versions.iter().any(|v| v.spec.is_none()) {
                continue;
            }
            for (k, v) in versions.iter().enumerate() {
                let Some(spec) = &v.spec else { continue };
                if !spec.scope.applies_to(node, region) {
                    continue;
                }
                // Each version masks from when it holds until the next one holds: a change can
                // shorten a window at once, and add to it only after the notice.
                let lo = self.holds_from(v).max(from);
                let hi = versions
                    .get(k + 1)
                    .map(|n| self.holds_from(n))
                    .unwrap_or(to)
                    .min(to);
                if lo >= hi {
                    continue;
                }
                for (s, e) in spec.schedule.occurrences(lo, hi) {
                    out.push((s.max(lo), e.min(hi)));
                }
            }
        }
        out
    }

    /// The calendar of `node` of `region` over `[from, to)`.
    pub fn calendar(
        &self,
        node: &NodeId,
        region: &Region,
        from: Timestamp,
        to: Timestamp,
    ) -> MaintenanceCalendar {
        MaintenanceCalendar::merge(self.spans(node, region, from, to))
    }

    /// The windows whose versions (as of this overlay) touch `[from, to)`, as they stood then,
    /// for a report's list: emergency and deleted ones are what an auditor looks for.
    pub fn listed(&self, from: Timestamp, to: Timestamp) -> Vec<MaintenanceWindow> {
        let mut out = Vec::new();
        for versions in self.windows() {
            let touches = versions.iter().any(|v| {
                v.spec
                    .as_ref()
                    .is_some_and(|s| !s.schedule.occurrences(from, to).is_empty())
            });
            if touches {
                out.extend(current(versions));
            }
        }
        out
    }
}

impl MaintenanceWindow {
    /// True when the window applies to `node` of `region`.
    pub fn applies_to(&self, node: &NodeId, region: &Region) -> bool {
        self.scope.applies_to(node, region)
    }

    /// Occurrences that intersect `[from, to)`, as `[start, end)` instants.
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        self.schedule.occurrences(from, to)
    }
}

impl Scope {
    /// True when the scope includes `node` of `region`.
    pub fn applies_to(&self, node: &NodeId, region: &Region) -> bool {
        match self {
            Scope::Node(n) => n == node,
            Scope::Region(r) => r == region,
        }
    }
}

impl Schedule {
    /// Occurrences that intersect `[from, to)`, as `[start, end)` instants.
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        match self {
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
    /// Expands `windows` for `node` over `[from, to)`, ignoring their history (for tests of
    /// the arithmetic; reports use [`Overlay::calendar`]).
    #[cfg(test)]
    pub(crate) fn build<'a>(
        windows: impl IntoIterator<Item = &'a MaintenanceWindow>,
        node: &NodeId,
        region: &Region,
        from: Timestamp,
        to: Timestamp,
    ) -> Self {
        Self::merge(
            windows
                .into_iter()
                .filter(|w| w.applies_to(node, region))
                .flat_map(|w| w.occurrences(from, to))
                .collect(),
        )
    }

    /// Sorts and merges spans.
    pub fn merge(mut spans: Vec<(Timestamp, Timestamp)>) -> Self {
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
            version: 1,
            emergency: false,
            created: (Timestamp::UNIX_EPOCH, String::new()),
            changed: (Timestamp::UNIX_EPOCH, String::new()),
            deleted: None,
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
            version: 1,
            emergency: false,
            created: (Timestamp::UNIX_EPOCH, String::new()),
            changed: (Timestamp::UNIX_EPOCH, String::new()),
            deleted: None,
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

#[cfg(test)]
mod overlay_tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn alpha() -> (NodeId, Region) {
        (
            NodeId::parse("alpha", "n").unwrap(),
            Region::parse("asia", "r").unwrap(),
        )
    }

    fn spec(a: &str, b: &str, emergency: bool) -> WindowSpec {
        WindowSpec {
            scope: Scope::Node(alpha().0),
            schedule: Schedule::OneOff {
                start: ts(a),
                end: ts(b),
            },
            note: String::new(),
            emergency,
        }
    }

    fn version(window: i64, version: u32, at: &str, spec: Option<WindowSpec>) -> WindowVersion {
        WindowVersion {
            window,
            version,
            recorded_at: ts(at),
            recorded_by: "ops".into(),
            spec,
        }
    }

    fn masked(history: &[WindowVersion], as_of: &str) -> Vec<(String, String)> {
        let (n, r) = alpha();
        Overlay::new(history, ts(as_of), SignedDuration::from_hours(1))
            .calendar(
                &n,
                &r,
                ts("2026-11-01T00:00:00Z"),
                ts("2026-12-01T00:00:00Z"),
            )
            .spans()
            .iter()
            .map(|(s, e)| (s.to_string(), e.to_string()))
            .collect()
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn a_planned_window_masks_only_after_its_notice() {
        let h = [version(
            1,
            1,
            "2026-11-10T09:30:00Z",
            Some(spec("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z", false)),
        )];
        // Recorded 30 min ahead with a 1 h notice (the API refuses this; a store written by
        // hand must not help either): only from 10:30 on.
        assert_eq!(
            masked(&h, "2026-12-07T00:00:00Z"),
            [pair("2026-11-10T10:30:00Z", "2026-11-10T12:00:00Z")]
        );
        let e = [version(
            1,
            1,
            "2026-11-10T13:00:00Z",
            Some(spec("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z", true)),
        )];
        assert_eq!(
            masked(&e, "2026-12-07T00:00:00Z"),
            [pair("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z")],
            "an emergency window masks its own times, recorded after the fact"
        );
        assert!(
            masked(&e, "2026-11-10T12:59:00Z").is_empty(),
            "not before it was recorded"
        );
    }

    #[test]
    fn a_deletion_restores_what_the_window_masked_until_the_month_closed() {
        let h = [
            version(
                1,
                1,
                "2026-11-01T00:00:00Z",
                Some(spec("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z", false)),
            ),
            version(1, 2, "2026-11-20T00:00:00Z", None),
        ];
        assert_eq!(
            masked(&h, "2026-11-15T00:00:00Z"),
            [pair("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z")]
        );
        assert!(masked(&h, "2026-11-20T00:00:01Z").is_empty());
        // A November report stands as of 1 December: a deletion in December changes nothing.
        let late = [h[0].clone(), version(1, 2, "2026-12-02T00:00:00Z", None)];
        assert_eq!(
            masked(&late, "2026-12-01T00:00:00Z"),
            [pair("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z")]
        );
        let listed = Overlay::new(
            &h,
            ts("2026-12-07T00:00:00Z"),
            SignedDuration::from_hours(1),
        )
        .listed(ts("2026-11-01T00:00:00Z"), ts("2026-12-01T00:00:00Z"));
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].deleted.as_ref().unwrap().0,
            ts("2026-11-20T00:00:00Z")
        );
    }

    #[test]
    fn a_change_takes_over_after_its_notice() {
        let weekly = |hour: i8| WindowSpec {
            scope: Scope::Region(alpha().1),
            schedule: Schedule::Weekly {
                weekday: Weekday::Sunday,
                at: Time::constant(hour, 0, 0, 0),
                length: SignedDuration::from_hours(1),
                tz: TimeZone::UTC,
            },
            note: String::new(),
            emergency: false,
        };
        let h = [
            version(1, 1, "2026-10-01T00:00:00Z", Some(weekly(2))),
            // Changed on Sunday 15 November at 01:30: the old version holds until the change
            // does, at 02:30 (the notice); the new 04:00 slot counts from that day.
            version(1, 2, "2026-11-15T01:30:00Z", Some(weekly(4))),
        ];
        let spans = masked(&h, "2026-12-07T00:00:00Z");
        assert_eq!(
            spans,
            [
                pair("2026-11-01T02:00:00Z", "2026-11-01T03:00:00Z"),
                pair("2026-11-08T02:00:00Z", "2026-11-08T03:00:00Z"),
                pair("2026-11-15T02:00:00Z", "2026-11-15T02:30:00Z"),
                pair("2026-11-15T04:00:00Z", "2026-11-15T05:00:00Z"),
                pair("2026-11-22T04:00:00Z", "2026-11-22T05:00:00Z"),
                pair("2026-11-29T04:00:00Z", "2026-11-29T05:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_corrected_emergency_window_masks_only_what_it_says_now() {
        // A typo (a whole day) recorded on the 4th, corrected an hour later to one hour.
        let h = [
            version(
                1,
                1,
                "2026-11-04T04:00:00Z",
                Some(spec("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z", true)),
            ),
            version(
                1,
                2,
                "2026-11-04T05:00:00Z",
                Some(spec("2026-11-03T00:00:00Z", "2026-11-03T01:00:00Z", true)),
            ),
        ];
        assert_eq!(
            masked(&h, "2026-12-07T00:00:00Z"),
            [pair("2026-11-03T00:00:00Z", "2026-11-03T01:00:00Z")]
        );
        // A weekly emergency window does not reach back over past weeks.
        let weekly = WindowSpec {
            scope: Scope::Node(alpha().0),
            schedule: Schedule::Weekly {
                weekday: Weekday::Monday,
                at: Time::constant(0, 0, 0, 0),
                length: SignedDuration::from_hours(2),
                tz: TimeZone::UTC,
            },
            note: String::new(),
            emergency: true,
        };
        let w = [version(1, 1, "2026-11-23T01:00:00Z", Some(weekly))];
        assert_eq!(
            masked(&w, "2026-12-07T00:00:00Z"),
            [
                pair("2026-11-23T01:00:00Z", "2026-11-23T02:00:00Z"),
                pair("2026-11-30T00:00:00Z", "2026-11-30T02:00:00Z")
            ]
        );
    }

    #[test]
    fn the_notice_is_checked_for_planned_one_off_windows() {
        let now = ts("2026-11-10T09:00:00Z");
        let hour = SignedDuration::from_hours(1);
        assert!(
            check_notice(
                &spec("2026-11-10T10:00:00Z", "2026-11-10T11:00:00Z", false),
                now,
                hour
            )
            .is_ok()
        );
        let e = check_notice(
            &spec("2026-11-10T09:59:00Z", "2026-11-10T11:00:00Z", false),
            now,
            hour,
        )
        .unwrap_err();
        assert!(matches!(e, WindowRefusal::TooLate { .. }), "{e}");
        assert!(e.to_string().contains("emergency"), "{e}");
        assert!(
            check_notice(
                &spec("2026-11-09T10:00:00Z", "2026-11-09T11:00:00Z", true),
                now,
                hour
            )
            .is_ok()
        );
    }
}
