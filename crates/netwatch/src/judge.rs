//! Judging a slice: from each vantage point's verdict to the node's one state, by quorum.
//!
//! A node is DOWN only when at least `ceil(quorum × reporters)` of the vantage points that
//! reported in the slice saw it down, so one vantage point's own broken link cannot fail a node.
//! Otherwise it is DEGRADED when a vantage point that reached it saw a class over threshold, UP
//! when all of them saw it fine, and NO_DATA when nobody reported.

use crate::slice::SliceState;

/// One vantage point's view of a node over a probe round or a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Reachable and within thresholds.
    Up,
    /// Reachable, over a threshold.
    Degraded,
    /// Not reachable (connect, HTTP check or every UDP packet failed).
    Down,
}

/// The share of reporting vantage points that must agree a node is down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quorum(f64);

/// A quorum outside `(0, 1]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("quorum must be a share in (0, 1], got {0}")]
pub struct BadQuorum(pub f64);

impl Quorum {
    /// Validates a share in `(0, 1]`.
    pub fn new(share: f64) -> Result<Self, BadQuorum> {
        if share > 0.0 && share <= 1.0 {
            Ok(Quorum(share))
        } else {
            Err(BadQuorum(share))
        }
    }

    /// The share.
    pub fn share(self) -> f64 {
        self.0
    }

    /// Down votes needed out of `reporters`.
    pub fn needed(self, reporters: usize) -> usize {
        ((self.0 * reporters as f64) - 1e-9).ceil().max(1.0) as usize
    }
}

impl Default for Quorum {
    /// More than half of the reporters, i.e. a strict majority.
    fn default() -> Self {
        Quorum(0.51)
    }
}

/// The node's state in a slice from the vantage points' verdicts (maintenance is decided apart).
pub fn judge(verdicts: &[Verdict], quorum: Quorum) -> SliceState {
    if verdicts.is_empty() {
        return SliceState::NoData;
    }
    let down = verdicts.iter().filter(|v| **v == Verdict::Down).count();
    if down >= quorum.needed(verdicts.len()) {
        SliceState::Down
    } else if verdicts.contains(&Verdict::Degraded) {
        SliceState::Degraded
    } else {
        SliceState::Up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    #[test]
    fn quorum_of_reporters() {
        let q = Quorum::default();
        assert_eq!(judge(&[], q), SliceState::NoData);
        assert_eq!(judge(&[Down], q), SliceState::Down);
        assert_eq!(
            judge(&[Down, Up], q),
            SliceState::Up,
            "1 of 2 is no majority"
        );
        assert_eq!(judge(&[Down, Down, Up], q), SliceState::Down);
        assert_eq!(judge(&[Down, Degraded, Up], q), SliceState::Degraded);
        let half = Quorum::new(0.5).unwrap();
        assert_eq!(judge(&[Down, Up], half), SliceState::Down);
        assert!(Quorum::new(0.0).is_err());
        assert!(Quorum::new(1.5).is_err());
    }
}
