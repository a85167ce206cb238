//! Incidents: hysteresis over consecutive probe rounds, and the incident record with its timeline.
//!
//! An incident opens after K consecutive failed rounds and closes after M consecutive good ones,
//! so a single lost probe or a single lucky one never flaps it. Its `opened_at` is the first
//! failure of the run that opened it and its `closed_at` the first success of the run that closed
//! it: the outage as it happened, while the timeline also records when it was detected.

use jiff::Timestamp;
use rendan_domain::NodeId;

/// What a hysteresis step decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// K failures in a row: open, dated from the first of them.
    Open {
        /// First failure of the run.
        since: Timestamp,
    },
    /// M successes in a row: close, dated from the first of them.
    Close {
        /// First success of the run.
        since: Timestamp,
    },
}

/// Per-node K/M hysteresis.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    open_after: u32,
    close_after: u32,
    is_open: bool,
    run: u32,
    run_start: Option<Timestamp>,
}

impl Hysteresis {
    /// Opens after `open_after` failures, closes after `close_after` successes (both at least 1).
    pub fn new(open_after: u32, close_after: u32, is_open: bool) -> Self {
        Hysteresis {
            open_after: open_after.max(1),
            close_after: close_after.max(1),
            is_open,
            run: 0,
            run_start: None,
        }
    }

    /// Whether an incident is open.
    pub fn is_open(&self) -> bool {
        self.is_open
    }

    /// Feeds one round's result.
    pub fn observe(&mut self, at: Timestamp, ok: bool) -> Option<Transition> {
        // A run counts results that disagree with the current state.
        let against = ok == self.is_open;
        if !against {
            self.run = 0;
            self.run_start = None;
            return None;
        }
        if self.run == 0 {
            self.run_start = Some(at);
        }
        self.run += 1;
        let need = if self.is_open {
            self.close_after
        } else {
            self.open_after
        };
        if self.run < need {
            return None;
        }
        let since = self.run_start.unwrap_or(at);
        self.run = 0;
        self.run_start = None;
        self.is_open = !self.is_open;
        Some(if self.is_open {
            Transition::Open { since }
        } else {
            Transition::Close { since }
        })
    }
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// When it happened.
    pub at: Timestamp,
    /// `first_failure`, `opened`, `evidence`, `first_success`, `closed`.
    pub kind: String,
    /// What was seen.
    pub detail: String,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Identifier given by the store.
    pub id: i64,
    /// The node.
    pub node: NodeId,
    /// Start of the outage.
    pub opened_at: Timestamp,
    /// End of the outage, `None` while open.
    pub closed_at: Option<Timestamp>,
    /// Opened, evidence, closed.
    pub timeline: Vec<TimelineEntry>,
}

impl Incident {
    /// True when the incident overlaps `[from, to)`.
    pub fn overlaps(&self, from: Timestamp, to: Timestamp) -> bool {
        self.opened_at < to && self.closed_at.is_none_or(|c| c > from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + s).unwrap()
    }

    #[test]
    fn opens_after_k_and_closes_after_m() {
        let mut h = Hysteresis::new(3, 2, false);
        let seq = [
            true, false, false, true, false, false, false, true, false, true, true,
        ];
        let mut out = vec![];
        for (i, ok) in seq.iter().enumerate() {
            if let Some(tr) = h.observe(t(i as i64), *ok) {
                out.push((i, tr));
            }
        }
        assert_eq!(
            out,
            vec![
                (6, Transition::Open { since: t(4) }),
                (10, Transition::Close { since: t(9) })
            ],
            "the lone failures and the lone success at 7 flap nothing"
        );
    }

    #[test]
    fn incident_spanning_a_month_boundary_overlaps_both() {
        let i = Incident {
            id: 1,
            node: NodeId::parse("moscow", "n").unwrap(),
            opened_at: "2026-10-31T15:50:00Z".parse().unwrap(),
            closed_at: Some("2026-10-31T16:20:00Z".parse().unwrap()),
            timeline: vec![],
        };
        let oct_end: Timestamp = "2026-10-31T16:00:00Z".parse().unwrap();
        assert!(i.overlaps("2026-09-30T16:00:00Z".parse().unwrap(), oct_end));
        assert!(i.overlaps(oct_end, "2026-11-30T16:00:00Z".parse().unwrap()));
        let open = Incident {
            closed_at: None,
            ..i.clone()
        };
        assert!(open.overlaps(oct_end, "2026-11-30T16:00:00Z".parse().unwrap()));
    }
}
