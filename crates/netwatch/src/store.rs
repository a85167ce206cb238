//! Storage of the network watch behind one trait, and an in-memory implementation for tests and
//! benchmarks (the durable one is `rendan-netwatch-sqlite`).
//!
//! Invariant every implementation keeps: a slice row, once written, is never rewritten; writing
//! the same node and start again is a [`StoreError::Conflict`]. Missing slice rows mean NO_DATA.

use crate::incident::{Incident, TimelineEntry};
use crate::maintenance::{WindowSpec, WindowVersion};
use crate::rollup::{ClassHour, rollup};
use crate::slice::SliceState;
use async_trait::async_trait;
use jiff::Timestamp;
use rendan_domain::NodeId;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A closed slice of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceRow {
    /// The node.
    pub node: NodeId,
    /// Start in Unix seconds (aligned to `len_s`).
    pub start: i64,
    /// Slice length in seconds.
    pub len_s: u32,
    /// The state the slice closed with.
    pub state: SliceState,
    /// The measured state (differs from `state` only under MAINTENANCE).
    pub measured: SliceState,
    /// Vantage points that reported.
    pub reporters: u16,
    /// Of which saw the node down.
    pub down_votes: u16,
}

/// Seconds of one measured state in one hour of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceHour {
    /// The node.
    pub node: NodeId,
    /// The hour, counted from the start of the range asked for.
    pub hour: i64,
    /// The measured state.
    pub state: SliceState,
    /// Seconds of slices in that state starting in that hour.
    pub secs: u64,
    /// Whether every one of those slices lies inside the hour (its length divides an hour).
    pub fits_hours: bool,
}

impl SliceRow {
    /// The state the slice counts with before the maintenance overlay: what was measured,
    /// except that a slice written before windows were versioned, as MAINTENANCE, stays so
    /// (the window that masked it may have been deleted since, and closed months must not
    /// move).
    pub fn effective(&self) -> SliceState {
        if self.state == SliceState::Maintenance {
            SliceState::Maintenance
        } else {
            self.measured
        }
    }
}

/// One class measurement of one round, kept for percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The node.
    pub node: NodeId,
    /// `tcp` or a traffic class name.
    pub class: String,
    /// When the round started.
    pub at: Timestamp,
    /// Mean round-trip time, if anything came back.
    pub rtt_ms: Option<f64>,
    /// Packets sent (1 for TCP).
    pub sent: u32,
    /// Packets received.
    pub received: u32,
    /// RFC 3550 jitter (UDP only).
    pub jitter_ms: Option<f64>,
}

/// The `Idempotency-Key` a window was created under: who sent it, the key, and the request as
/// received (compared on a retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The principal who sent the request.
    pub principal: String,
    /// The key.
    pub key: String,
    /// The request's canonical bytes.
    pub request: Vec<u8>,
}

/// What an incident notice tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeEvent {
    /// The incident opened.
    Opened,
    /// The incident closed.
    Closed,
}

impl NoticeEvent {
    /// `incident.opened` or `incident.closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeEvent::Opened => "incident.opened",
            NoticeEvent::Closed => "incident.closed",
        }
    }

    /// Parses [`NoticeEvent::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "incident.opened" => Some(NoticeEvent::Opened),
            "incident.closed" => Some(NoticeEvent::Closed),
            _ => None,
        }
    }
}

/// One incident change to tell one webhook, from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The outbox row (the `Rendan-Delivery` header; the same on every attempt).
    pub id: i64,
    /// Where it goes.
    pub url: String,
    /// What it tells.
    pub event: NoticeEvent,
    /// The incident as it stands (its `closed_at` is only told by the closing notice).
    pub incident: Incident,
    /// When the change happened (retries stop 24 h after).
    pub created_at: Timestamp,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is due.
    pub next_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
    /// When retrying stopped.
    pub gave_up_at: Option<Timestamp>,
    /// What went wrong last.
    pub last_error: Option<String>,
}

/// What became of one attempt at a notice.
#[derive(Debug, Clone, PartialEq)]
pub enum NoticeOutcome {
    /// The receiver took it.
    Delivered,
    /// Try again then.
    RetryAt(Timestamp),
    /// Stop trying.
    GaveUp,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An attempt to rewrite a closed slice, or similar.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed.
    #[error("storage: {0}")]
    Backend(String),
}

/// Where the network watch keeps slices, samples, incidents and maintenance windows.
#[async_trait]
pub trait NetwatchStore: Send + Sync + 'static {
    /// Writes closed slices; fails with `Conflict` (writing nothing) if one already exists.
    async fn put_slices(&self, rows: &[SliceRow]) -> Result<(), StoreError>;
    /// Slices of every node whose start lies in `[from_s, to_s)`.
    async fn slices(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceRow>, StoreError>;
    /// Per node, hour of the range (0 for the hour starting at `from_s`) and state (measured,
    /// or MAINTENANCE for a slice stored so before windows were versioned), the seconds of the
    /// slices starting in `[from_s, to_s)`, summed by the store.
    async fn slice_hours(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceHour>, StoreError>;
    /// Appends samples.
    async fn put_samples(&self, rows: &[Sample]) -> Result<(), StoreError>;
    /// Samples taken in `[from, to)`.
    async fn samples(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Sample>, StoreError>;
    /// Rolls the samples of the UTC hour starting at `hour` (Unix seconds) up per node and
    /// class ([`crate::rollup::rollup`]), replacing that hour's rollups, and moves the rollup
    /// watermark to the hour's end when that is later.
    async fn roll_up(&self, hour: i64) -> Result<(), StoreError>;
    /// Rollups of the hours starting in `[from_hour, to_hour)`.
    async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<ClassHour>, StoreError>;
    /// Every hour before this one has been rolled up (None: nothing yet).
    async fn rolled_up_until(&self) -> Result<Option<i64>, StoreError>;
    /// When the oldest stored sample was taken.
    async fn oldest_sample(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Deletes the samples taken before `before`; answers how many.
    async fn prune_samples(&self, before: Timestamp) -> Result<u64, StoreError>;
    /// Records a new open incident and, in the same transaction, an `incident.opened` notice
    /// for each of `notify` (webhook URLs); returns the incident's id.
    async fn open_incident(
        &self,
        node: &NodeId,
        opened_at: Timestamp,
        timeline: &[TimelineEntry],
        notify: &[String],
    ) -> Result<i64, StoreError>;
    /// Adds timeline entries, and closes the incident when `closed_at` is given, with an
    /// `incident.closed` notice for each of `notify` in the same transaction.
    async fn update_incident(
        &self,
        id: i64,
        closed_at: Option<Timestamp>,
        timeline: &[TimelineEntry],
        notify: &[String],
    ) -> Result<(), StoreError>;
    /// Notices due at `now`: of each webhook and node only the oldest not yet settled, so one
    /// node's changes reach a receiver in order; at most `limit`, oldest first.
    async fn due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Notice>, StoreError>;
    /// Records an attempt at notice `id` made at `at`.
    async fn record_notice(
        &self,
        id: i64,
        at: Timestamp,
        outcome: &NoticeOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Every notice, oldest first (for tests and inspection).
    async fn notices(&self) -> Result<Vec<Notice>, StoreError>;
    /// Incidents, of one node or all, oldest first.
    async fn incidents(&self, node: Option<&NodeId>) -> Result<Vec<Incident>, StoreError>;
    /// Creates a maintenance window: gives it an id and stores `spec` as its version 1, under
    /// `key` when given (`Conflict` if that principal already used the key, writing nothing).
    async fn create_window(
        &self,
        spec: &WindowSpec,
        at: Timestamp,
        by: &str,
        key: Option<&RequestKey>,
    ) -> Result<WindowVersion, StoreError>;
    /// The window created under `principal`'s `key`, with the request it was created by.
    async fn window_by_key(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError>;
    /// Appends a later version of an existing window; `Conflict` when that window already has
    /// this version (someone else changed it first) and nothing is written.
    async fn append_window_version(&self, version: &WindowVersion) -> Result<(), StoreError>;
    /// Every version of every window, sorted by window and version. Versions are never
    /// changed or removed.
    async fn window_history(&self) -> Result<Vec<WindowVersion>, StoreError>;
}

#[derive(Default)]
struct Mem {
    slices: BTreeMap<(i64, NodeId), SliceRow>,
    samples: Vec<Sample>,
    incidents: Vec<Incident>,
    notices: Vec<Notice>,
    rollups: BTreeMap<(i64, NodeId, String), ClassHour>,
    rolled_until: Option<i64>,
    windows: Vec<WindowVersion>,
    next_window: i64,
    window_keys: Vec<(RequestKey, i64)>,
}

impl Mem {
    fn enqueue(&mut self, urls: &[String], event: NoticeEvent, inc: &Incident, at: Timestamp) {
        for url in urls {
            let id = self.notices.len() as i64 + 1;
            let mut incident = inc.clone();
            incident.timeline.clear();
            self.notices.push(Notice {
                id,
                url: url.clone(),
                event,
                incident,
                created_at: at,
                attempts: 0,
                next_at: at,
                delivered_at: None,
                gave_up_at: None,
                last_error: None,
            });
        }
    }
}

/// A store in memory: the same invariants, nothing durable.
#[derive(Default)]
pub struct MemoryStore(Mutex<Mem>);

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Mem>, StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::Backend("memory store poisoned".into()))
    }
}

#[async_trait]
impl NetwatchStore for MemoryStore {
    async fn put_slices(&self, rows: &[SliceRow]) -> Result<(), StoreError> {
        let mut m = self.lock()?;
        if let Some(r) = rows
            .iter()
            .find(|r| m.slices.contains_key(&(r.start, r.node.clone())))
        {
            return Err(StoreError::Conflict(format!(
                "slice {} of {} is closed",
                r.start, r.node
            )));
        }
        for r in rows {
            m.slices.insert((r.start, r.node.clone()), r.clone());
        }
        Ok(())
    }

    async fn slices(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceRow>, StoreError> {
        let m = self.lock()?;
        Ok(m.slices
            .values()
            .filter(|r| r.start >= from_s && r.start < to_s)
            .cloned()
            .collect())
    }

    async fn slice_hours(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceHour>, StoreError> {
        let m = self.lock()?;
        let mut sums: BTreeMap<(NodeId, i64, &'static str), (SliceState, u64, bool)> =
            BTreeMap::new();
        for r in m
            .slices
            .values()
            .filter(|r| r.start >= from_s && r.start < to_s)
        {
            let state = r.effective();
            let e = sums
                .entry((r.node.clone(), (r.start - from_s) / 3600, state.as_str()))
                .or_insert((state, 0, true));
            e.1 += u64::from(r.len_s);
            e.2 &= r.len_s > 0 && 3600 % r.len_s == 0;
        }
        Ok(sums
            .into_iter()
            .map(|((node, hour, _), (state, secs, fits_hours))| SliceHour {
                node,
                hour,
                state,
                secs,
                fits_hours,
            })
            .collect())
    }

    async fn put_samples(&self, rows: &[Sample]) -> Result<(), StoreError> {
        self.lock()?.samples.extend_from_slice(rows);
        Ok(())
    }

    async fn samples(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Sample>, StoreError> {
        let m = self.lock()?;
        Ok(m.samples
            .iter()
            .filter(|s| s.at >= from && s.at < to)
            .cloned()
            .collect())
    }

    async fn roll_up(&self, hour: i64) -> Result<(), StoreError> {
        let mut m = self.lock()?;
        let rows = rollup(
            m.samples
                .iter()
                .filter(|s| crate::rollup::hour_of(s.at) == hour),
        );
        m.rollups.retain(|(h, _, _), _| *h != hour);
        for r in rows {
            m.rollups
                .insert((r.hour, r.node.clone(), r.class.clone()), r);
        }
        m.rolled_until = Some(m.rolled_until.map_or(hour + 3600, |u| u.max(hour + 3600)));
        Ok(())
    }

    async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<ClassHour>, StoreError> {
        Ok(self
            .lock()?
            .rollups
            .values()
            .filter(|r| r.hour >= from_hour && r.hour < to_hour)
            .cloned()
            .collect())
    }

    async fn rolled_up_until(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.lock()?.rolled_until)
    }

    async fn oldest_sample(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.lock()?.samples.iter().map(|s| s.at).min())
    }

    async fn prune_samples(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut m = self.lock()?;
        let n = m.samples.len();
        m.samples.retain(|s| s.at >= before);
        Ok((n - m.samples.len()) as u64)
    }

    async fn open_incident(
        &self,
        node: &NodeId,
        opened_at: Timestamp,
        timeline: &[TimelineEntry],
        notify: &[String],
    ) -> Result<i64, StoreError> {
        let mut m = self.lock()?;
        let id = m.incidents.len() as i64 + 1;
        let inc = Incident {
            id,
            node: node.clone(),
            opened_at,
            closed_at: None,
            timeline: timeline.to_vec(),
        };
        m.incidents.push(inc.clone());
        m.enqueue(notify, NoticeEvent::Opened, &inc, opened_at);
        Ok(id)
    }

    async fn update_incident(
        &self,
        id: i64,
        closed_at: Option<Timestamp>,
        timeline: &[TimelineEntry],
        notify: &[String],
    ) -> Result<(), StoreError> {
        let mut m = self.lock()?;
        let inc = m
            .incidents
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| StoreError::Backend(format!("no incident {id}")))?;
        if closed_at.is_some() {
            if inc.closed_at.is_some() {
                return Err(StoreError::Conflict(format!("incident {id} is closed")));
            }
            inc.closed_at = closed_at;
        }
        inc.timeline.extend_from_slice(timeline);
        if let Some(at) = closed_at {
            let inc = inc.clone();
            m.enqueue(notify, NoticeEvent::Closed, &inc, at);
        }
        Ok(())
    }

    async fn due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Notice>, StoreError> {
        let m = self.lock()?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for n in m.notices.iter() {
            if n.delivered_at.is_some() || n.gave_up_at.is_some() {
                continue;
            }
            // The oldest open notice of its webhook and node blocks the later ones.
            if !seen.insert((n.url.clone(), n.incident.node.clone())) {
                continue;
            }
            if n.next_at <= now && out.len() < limit as usize {
                let mut n = n.clone();
                n.incident = m
                    .incidents
                    .iter()
                    .find(|i| i.id == n.incident.id)
                    .cloned()
                    .unwrap_or(n.incident);
                n.incident.timeline.clear();
                out.push(n);
            }
        }
        Ok(out)
    }

    async fn record_notice(
        &self,
        id: i64,
        at: Timestamp,
        outcome: &NoticeOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut m = self.lock()?;
        let n = m
            .notices
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| StoreError::Backend(format!("no notice {id}")))?;
        n.attempts += 1;
        n.last_error = error.map(str::to_string);
        match outcome {
            NoticeOutcome::Delivered => n.delivered_at = Some(at),
            NoticeOutcome::RetryAt(t) => n.next_at = *t,
            NoticeOutcome::GaveUp => n.gave_up_at = Some(at),
        }
        Ok(())
    }

    async fn notices(&self) -> Result<Vec<Notice>, StoreError> {
        Ok(self.lock()?.notices.clone())
    }

    async fn incidents(&self, node: Option<&NodeId>) -> Result<Vec<Incident>, StoreError> {
        let m = self.lock()?;
        Ok(m.incidents
            .iter()
            .filter(|i| node.is_none_or(|n| &i.node == n))
            .cloned()
            .collect())
    }

    async fn create_window(
        &self,
        spec: &WindowSpec,
        at: Timestamp,
        by: &str,
        key: Option<&RequestKey>,
    ) -> Result<WindowVersion, StoreError> {
        let mut m = self.lock()?;
        if let Some(k) = key {
            if m.window_keys
                .iter()
                .any(|(x, _)| x.principal == k.principal && x.key == k.key)
            {
                return Err(StoreError::Conflict(format!("key {} is used", k.key)));
            }
            let id = m.next_window + 1;
            m.window_keys.push((k.clone(), id));
        }
        m.next_window += 1;
        let v = WindowVersion {
            window: m.next_window,
            version: 1,
            recorded_at: at,
            recorded_by: by.to_string(),
            spec: Some(spec.clone()),
        };
        m.windows.push(v.clone());
        Ok(v)
    }

    async fn window_by_key(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        Ok(self
            .lock()?
            .window_keys
            .iter()
            .find(|(k, _)| k.principal == principal && k.key == key)
            .map(|(k, id)| (*id, k.request.clone())))
    }

    async fn append_window_version(&self, version: &WindowVersion) -> Result<(), StoreError> {
        let mut m = self.lock()?;
        if !m.windows.iter().any(|v| v.window == version.window) {
            return Err(StoreError::Backend(format!("no window {}", version.window)));
        }
        if m.windows
            .iter()
            .any(|v| v.window == version.window && v.version == version.version)
        {
            return Err(StoreError::Conflict(format!(
                "window {} already has version {}",
                version.window, version.version
            )));
        }
        m.windows.push(version.clone());
        m.windows.sort_by_key(|v| (v.window, v.version));
        Ok(())
    }

    async fn window_history(&self) -> Result<Vec<WindowVersion>, StoreError> {
        Ok(self.lock()?.windows.clone())
    }
}
