//! Housekeeping of the samples: every ended hour is rolled up, then raw samples older than the
//! retention (`[netwatch] sample_retention`, 35 days by default) are deleted. Rollups, slices,
//! incidents and windows are kept, so a report of any month gives the same figures before and
//! after its samples are gone.

use crate::monitor::Netwatch;
use crate::rollup::hour_of;
use crate::stop::Stop;
use crate::store::StoreError;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// An hour is rolled up this long (plus the longest round) after it ends: its last rounds and
/// their samples are in by then.
pub const ROLLUP_GRACE: SignedDuration = SignedDuration::from_mins(2);

/// How often housekeeping runs.
pub const EVERY: Duration = Duration::from_secs(60);

/// What one housekeeping pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekept {
    /// Hours rolled up.
    pub hours: usize,
    /// Samples deleted.
    pub pruned: u64,
}

impl Netwatch {
    /// Rolls up every hour that ended at least [`ROLLUP_GRACE`] ago and is not rolled up yet,
    /// then deletes the samples older than the retention that are rolled up.
    pub async fn housekeeping(&self) -> Result<Housekept, StoreError> {
        let store = self.store();
        let now = self.now();
        // Late enough that the hour's last rounds (as long as the longest round) are in.
        let longest = self
            .config()
            .targets
            .iter()
            .map(|t| t.round_budget())
            .max()
            .unwrap_or_default();
        let grace = ROLLUP_GRACE + SignedDuration::try_from(longest).unwrap_or_default();
        let ready = hour_of(now.checked_sub(grace).unwrap_or(now));
        let start = match store.rolled_up_until().await? {
            Some(h) => h,
            None => match store.oldest_sample().await? {
                Some(t) => hour_of(t),
                None => ready,
            },
        };
        let mut done = Housekept::default();
        let mut hour = start;
        while hour + 3600 <= ready {
            store.roll_up(hour).await?;
            done.hours += 1;
            hour += 3600;
        }
        let keep_from = now
            .checked_sub(self.config().sample_retention)
            .unwrap_or(Timestamp::MIN);
        let rolled = store.rolled_up_until().await?.unwrap_or(i64::MIN);
        let before = keep_from.min(Timestamp::from_second(rolled).unwrap_or(Timestamp::MIN));
        if before > Timestamp::MIN {
            done.pruned = store.prune_samples(before).await?;
        }
        Ok(done)
    }

    /// Runs [`Netwatch::housekeeping`] now and every [`EVERY`] until `stop` fires.
    pub async fn keep_house(self, mut stop: Stop) {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.wait() => return,
                _ = every.tick() => {}
            }
            match self.housekeeping().await {
                Ok(d) if d.hours > 0 || d.pruned > 0 => {
                    tracing::info!(hours = d.hours, pruned = d.pruned, "samples rolled up")
                }
                Ok(_) => {}
                Err(e) => tracing::error!("sample housekeeping failed (retried): {e}"),
            }
        }
    }
}
