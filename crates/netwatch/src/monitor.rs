//! The monitor: schedules a probe round per node, closes each slice once every round that could
//! fall in it has reported, runs the incident hysteresis and keeps the live state.
//!
//! Rounds of a node happen at `k·interval + phase` (wall clock), the phase spread by node so that
//! thousands of targets do not all fire in the same millisecond. A round belongs to the slice of
//! its scheduled start. A slice is closed `round budget + grace` after its end, written once, and
//! never touched again; the slice in which the monitor stops is not written, and the time the
//! monitor was down has no rows at all, so both read as NO_DATA. When the interval is longer than
//! a slice, a slice without its own round takes the node's last round if that round is less than
//! one interval old.

use crate::config::{NetwatchConfig, Target};
use crate::incident::{Hysteresis, TimelineEntry, Transition};
use crate::judge::{Verdict, judge};
use crate::round::{NetworkProber, Prober, RoundResult};
use crate::slice::SliceState;
use crate::stop::{self, Stop, StopSource};
use crate::store::{NetwatchStore, Sample, SliceRow, StoreError};
use crate::webhook::Deliverer;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::NodeId;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// A round that starts more than this after its scheduled time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(100);
/// Extra wait after a slice's last possible round before the slice is closed.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Evidence lines kept per incident.
const MAX_EVIDENCE: usize = 20;

/// Counters of the scheduler, for the benchmark and `/network/state`.
#[derive(Debug, Default)]
pub struct ProbeStats {
    /// Rounds started.
    pub rounds: AtomicU64,
    /// Rounds started later than [`LATE_AFTER`].
    pub late: AtomicU64,
    /// Rounds skipped because the previous one overran a whole interval.
    pub skipped: AtomicU64,
    /// Largest start delay seen, in microseconds.
    pub max_late_us: AtomicU64,
    /// Slices written.
    pub slices_written: AtomicU64,
    /// Round results that arrived after their slice was closed (not counted in it).
    pub late_results: AtomicU64,
}

/// What the monitor last saw of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveNode {
    /// State of the last round (by quorum).
    pub state: SliceState,
    /// When the last round was scheduled.
    pub at: Timestamp,
    /// Why it was not UP.
    pub reason: Option<String>,
    /// TCP connect + echo time.
    pub tcp_ms: Option<f64>,
    /// The open incident, if any.
    pub incident: Option<i64>,
}

/// Where the network watch reads the time: the wall clock in production, a hand-moved one in
/// tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

struct Inner {
    config: NetwatchConfig,
    store: Arc<dyn NetwatchStore>,
    clock: Clock,
    live: RwLock<HashMap<NodeId, LiveNode>>,
    stats: ProbeStats,
}

/// The network watch's shared state: configuration, store, clock and live view.
/// Cheap to clone; the HTTP API and the monitor hold the same one.
#[derive(Clone)]
pub struct Netwatch(Arc<Inner>);

impl Netwatch {
    /// The network watch over `store`, on the wall clock.
    pub async fn new(
        config: NetwatchConfig,
        store: Arc<dyn NetwatchStore>,
    ) -> Result<Self, StoreError> {
        Ok(Self::with_clock(config, store, Arc::new(Timestamp::now)))
    }

    /// The network watch over `store`, reading the time from `clock`.
    pub fn with_clock(config: NetwatchConfig, store: Arc<dyn NetwatchStore>, clock: Clock) -> Self {
        Netwatch(Arc::new(Inner {
            config,
            store,
            clock,
            live: RwLock::new(HashMap::new()),
            stats: ProbeStats::default(),
        }))
    }

    /// The current instant by this network watch's clock.
    pub fn now(&self) -> Timestamp {
        (self.0.clock)()
    }

    /// A clock that reads `start` now and then moves with tokio's time: under a paused
    /// runtime (`#[tokio::test(start_paused = true)]`) a test runs hours of monitoring in
    /// milliseconds, every instant exact.
    pub fn tokio_clock(start: Timestamp) -> Clock {
        let origin = tokio::time::Instant::now();
        Arc::new(move || {
            let elapsed = SignedDuration::try_from(origin.elapsed()).unwrap_or_default();
            start.checked_add(elapsed).unwrap_or(start)
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NetwatchConfig {
        &self.0.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn NetwatchStore> {
        &self.0.store
    }

    /// Scheduler counters.
    pub fn stats(&self) -> &ProbeStats {
        &self.0.stats
    }

    /// The live view of every probed node.
    pub fn live(&self) -> HashMap<NodeId, LiveNode> {
        self.0.live.read().map(|l| l.clone()).unwrap_or_default()
    }

    fn set_live(&self, node: &NodeId, v: LiveNode) {
        if let Ok(mut l) = self.0.live.write() {
            // In place: no key allocated per round.
            match l.get_mut(node) {
                Some(slot) => *slot = v,
                None => {
                    l.insert(node.clone(), v);
                }
            }
        }
    }
}

/// A running monitor.
pub struct MonitorHandle {
    netwatch: Netwatch,
    stop: StopSource,
    probers: JoinSet<()>,
    closer: tokio::task::JoinHandle<()>,
    /// The webhook deliverer, when there are webhooks.
    deliverer: Option<tokio::task::JoinHandle<()>>,
    /// Rolls samples up and prunes them.
    housekeeper: tokio::task::JoinHandle<()>,
    /// Whatever must live as long as the monitor (the storage's lock on its data directory).
    held: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl MonitorHandle {
    /// Keeps `guard` (a lock, say) alive until the monitor is shut down.
    pub fn holding(mut self, guard: impl std::any::Any + Send + Sync) -> Self {
        self.held = Some(Box::new(guard));
        self
    }

    /// The shared state, for the HTTP API.
    pub fn netwatch(&self) -> Netwatch {
        self.netwatch.clone()
    }

    /// Stops probing, closes every slice that has ended, and returns once all is written.
    pub async fn shutdown(mut self) {
        self.stop.stop();
        while self.probers.join_next().await.is_some() {}
        // The probers' senders are gone, so the closer drains and returns.
        let _ = self.closer.await;
        // Notices it has not delivered stay in the outbox for the next start.
        if let Some(d) = self.deliverer.take() {
            let _ = d.await;
        }
        let _ = (&mut self.housekeeper).await;
        drop(self.held.take());
    }
}

/// Where in each interval a node's rounds fall (a stable spread of rounds over the interval).
pub fn phase(node: &NodeId, interval: Duration) -> Duration {
    // FNV-1a of the id: a stable spread of rounds over the interval.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.as_str().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(h % ms)
}

/// Starts probing every target of `netwatch`'s configuration over the network, in background
/// tasks.
pub fn start(netwatch: Netwatch) -> MonitorHandle {
    let cfg = netwatch.config();
    let prober = NetworkProber::new(cfg.vantages.clone(), cfg.probe_key.clone());
    start_with(netwatch, Arc::new(prober))
}

/// Starts the monitor with rounds run by `probe` (a script, in tests).
pub fn start_with(netwatch: Netwatch, probe: Arc<dyn Prober>) -> MonitorHandle {
    let (source, stop) = stop::channel();
    let (tx, rx) = mpsc::channel::<RoundResult>(16_384);
    let mut probers = JoinSet::new();
    let cfg = netwatch.config();
    for (idx, target) in cfg.targets.iter().enumerate() {
        let (nw, tx, stop, probe) = (netwatch.clone(), tx.clone(), stop.clone(), probe.clone());
        let target = target.clone();
        probers.spawn(prober(nw, idx, target, probe, tx, stop));
    }
    drop(tx);
    let closer = tokio::spawn(closer(netwatch.clone(), rx));
    let housekeeper = tokio::spawn(netwatch.clone().keep_house(stop.clone()));
    let deliverer = (!cfg.webhooks.is_empty()).then(|| {
        let d = Deliverer::new(
            netwatch.store().clone(),
            cfg.webhooks.clone(),
            netwatch.0.clock.clone(),
        );
        tokio::spawn(d.run(stop.clone()))
    });
    MonitorHandle {
        netwatch,
        stop: source,
        probers,
        closer,
        deliverer,
        housekeeper,
        held: None,
    }
}

/// Wall-clock instant of the first round at or after `now` for this schedule.
fn first_tick(now: Timestamp, interval: Duration, phase: Duration) -> Timestamp {
    let iv = interval.as_nanos().max(1) as i128;
    let ph = phase.as_nanos() as i128;
    let n = now.as_nanosecond();
    let k = (n - ph).div_euclid(iv) + 1;
    Timestamp::from_nanosecond(k * iv + ph).unwrap_or(now)
}

async fn prober(
    nw: Netwatch,
    idx: usize,
    target: Target,
    probe: Arc<dyn Prober>,
    tx: mpsc::Sender<RoundResult>,
    mut stop: Stop,
) {
    let stats = &nw.0.stats;
    let interval = target.interval;
    let step = SignedDuration::try_from(interval).unwrap_or(SignedDuration::from_secs(1));
    let mut wall = first_tick(nw.now(), interval, phase(&target.node, interval));
    loop {
        let wait = nw.now().duration_until(wall);
        let due = tokio::time::Instant::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = stop.wait() => return,
            _ = tokio::time::sleep_until(due) => {}
        }
        let late = tokio::time::Instant::now().saturating_duration_since(due);
        stats.rounds.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("rendan_netwatch_rounds_total").increment(1);
        if late > LATE_AFTER {
            stats.late.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("rendan_netwatch_rounds_late_total").increment(1);
        }
        stats
            .max_late_us
            .fetch_max(late.as_micros() as u64, Ordering::Relaxed);
        let result = probe.round(idx, &target, wall).await;
        if tx.send(result).await.is_err() {
            return;
        }
        wall = wall.checked_add(step).unwrap_or(wall);
        // Overran a whole interval: skip the missed rounds instead of bursting to catch up.
        let now = nw.now();
        while wall < now {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("rendan_netwatch_rounds_skipped_total").increment(1);
            wall = wall.checked_add(step).unwrap_or(now);
        }
    }
}

struct NodeTrack {
    hysteresis: Hysteresis,
    incident: Option<i64>,
    /// Recent rounds (scheduled start, verdicts), for slices without a round of their own.
    recent: VecDeque<(Timestamp, Vec<Verdict>)>,
    /// Failures of the current run, kept as evidence until the incident opens.
    pending_evidence: Vec<TimelineEntry>,
    evidence: usize,
    last_reason: Option<String>,
    /// Incident writes the store refused, in order, retried at every later round: one failed
    /// write never leaves an outage unrecorded or its incident open for good.
    unsaved: Vec<Unsaved>,
}

/// An incident write not yet stored.
#[derive(Debug, Clone)]
enum Unsaved {
    /// Open an incident.
    Open {
        since: Timestamp,
        timeline: Vec<TimelineEntry>,
    },
    /// Close the node's incident.
    Close {
        since: Timestamp,
        timeline: Vec<TimelineEntry>,
    },
}

/// Stores the node's unsaved incident writes in order, stopping at the first the store
/// refuses (it is tried again at the next round); each is stored with its webhook notices.
async fn flush(nw: &Netwatch, cfg: &NetwatchConfig, track: &mut NodeTrack, node: &NodeId) {
    let store = nw.store();
    let urls: Vec<String> = cfg.webhooks.iter().map(|h| h.url.clone()).collect();
    while let Some(step) = track.unsaved.first().cloned() {
        match step {
            Unsaved::Open { since, timeline } => match store
                .open_incident(node, since, &timeline, &urls)
                .await
            {
                Ok(id) => {
                    track.incident = Some(id);
                    metrics::counter!("rendan_netwatch_incidents_opened_total").increment(1);
                }
                Err(e) => {
                    tracing::error!("cannot open incident for {node} (retried next round): {e}");
                    return;
                }
            },
            Unsaved::Close { since, timeline } => {
                let Some(id) = track.incident else {
                    track.unsaved.remove(0);
                    continue;
                };
                match store
                    .update_incident(id, Some(since), &timeline, &urls)
                    .await
                {
                    Ok(()) => {
                        track.incident = None;
                        metrics::counter!("rendan_netwatch_incidents_closed_total").increment(1);
                    }
                    Err(e) => {
                        tracing::error!("cannot close incident {id} (retried next round): {e}");
                        return;
                    }
                }
            }
        }
        track.unsaved.remove(0);
    }
}

/// What the closer hands the writer.
enum Batch {
    Slices(Vec<SliceRow>),
    Samples(Vec<Sample>),
}

/// Writes closed slices and samples, in the order received, so that a slow store never stops
/// the closer from taking round results (which would hold up the probers).
async fn writer(nw: Netwatch, mut rx: mpsc::UnboundedReceiver<Batch>) {
    let store = nw.store().clone();
    while let Some(b) = rx.recv().await {
        match b {
            Batch::Slices(rows) => match store.put_slices(&rows).await {
                Ok(()) => {
                    nw.stats()
                        .slices_written
                        .fetch_add(rows.len() as u64, Ordering::Relaxed);
                    let mut by_state = [0u64; 5];
                    for r in &rows {
                        by_state[r.state.index()] += 1;
                    }
                    for (s, n) in SliceState::ALL.iter().zip(by_state) {
                        if n > 0 {
                            metrics::counter!("rendan_netwatch_slices_total", "state" => s.as_str())
                                .increment(n);
                        }
                    }
                }
                Err(e) => tracing::error!(
                    "{} slices from {} not stored: {e}",
                    rows.len(),
                    rows.first().map_or(0, |r| r.start)
                ),
            },
            Batch::Samples(rows) => {
                if let Err(e) = store.put_samples(&rows).await {
                    tracing::error!("{} samples not stored: {e}", rows.len());
                }
            }
        }
    }
}

async fn closer(nw: Netwatch, mut rx: mpsc::Receiver<RoundResult>) {
    let cfg = nw.config().clone();
    let store = nw.store().clone();
    let (to_writer, writes) = mpsc::unbounded_channel();
    let writing = tokio::spawn(writer(nw.clone(), writes));
    let len = cfg.slice;
    let started = nw.now();
    // Open incidents survive a restart: continue them instead of opening duplicates.
    let open: HashMap<NodeId, i64> = match store.incidents(None).await {
        Ok(list) => list
            .into_iter()
            .filter(|i| i.closed_at.is_none())
            .map(|i| (i.node, i.id))
            .collect(),
        Err(e) => {
            tracing::error!("cannot read open incidents: {e}");
            HashMap::new()
        }
    };
    let mut tracks: Vec<NodeTrack> = cfg
        .targets
        .iter()
        .map(|t| {
            let inc = open.get(&t.node).copied();
            NodeTrack {
                hysteresis: Hysteresis::new(cfg.open_after, cfg.close_after, inc.is_some()),
                incident: inc,
                recent: VecDeque::new(),
                pending_evidence: Vec::new(),
                evidence: 0,
                last_reason: None,
                unsaved: Vec::new(),
            }
        })
        .collect();
    let budget = cfg
        .targets
        .iter()
        .map(|t| t.round_budget())
        .max()
        .unwrap_or_default()
        + CLOSE_GRACE;
    let budget_sd = SignedDuration::try_from(budget).unwrap_or(SignedDuration::from_secs(5));
    // Never rewrite a slice a previous run already closed (a restart within one slice).
    let mut next_close = len.floor(started);
    if let Ok(rows) = store
        .slices(next_close - len.secs(), next_close + len.secs())
        .await
        && let Some(last) = rows.iter().map(|r| r.start).max()
    {
        next_close = next_close.max(last + len.secs());
    }
    let mut pending: Pending = BTreeMap::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(
        (len.secs() as u64 * 1000 / 4).clamp(100, 1000),
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(r) => {
                    observe(&nw, &cfg, &mut tracks[r.target], &r).await;
                    let RoundResult { target, at, verdicts, samples: taken, .. } = r;
                    let slice = len.floor(at);
                    if slice >= next_close {
                        let per = pending.entry(slice).or_default().entry(target).or_default();
                        for (v, verdict) in verdicts {
                            match per.iter_mut().find(|(name, _)| *name == v) {
                                Some((_, e)) => *e = (*e).max(verdict),
                                None => per.push((v, verdict)),
                            }
                        }
                    } else {
                        // Its slice is already written and stays as written.
                        nw.stats().late_results.fetch_add(1, Ordering::Relaxed);
                    }
                    samples.extend(taken);
                }
                None => {
                    // Probers stopped: close what has fully ended, leave the rest NO_DATA.
                    let now = nw.now();
                    close_due(&nw, &mut pending, &mut tracks, &mut next_close, now, started, &to_writer).await;
                    flush_samples(&to_writer, &mut samples);
                    drop(to_writer);
                    let _ = writing.await;
                    return;
                }
            },
            _ = tick.tick() => {
                let Ok(horizon) = nw.now().checked_sub(budget_sd) else { continue };
                close_due(&nw, &mut pending, &mut tracks, &mut next_close, horizon, started, &to_writer).await;
                flush_samples(&to_writer, &mut samples);
            }
        }
    }
}

/// Verdicts received per slice start, per target, per vantage point.
type Pending = BTreeMap<i64, HashMap<usize, Vec<(String, Verdict)>>>;

fn flush_samples(to_writer: &mpsc::UnboundedSender<Batch>, samples: &mut Vec<Sample>) {
    if !samples.is_empty()
        && to_writer
            .send(Batch::Samples(std::mem::take(samples)))
            .is_err()
    {
        tracing::error!("the writer is gone: samples not stored");
    }
}

/// Closes every slice that ends at or before `horizon` and hands it to the writer.
async fn close_due(
    nw: &Netwatch,
    pending: &mut Pending,
    tracks: &mut [NodeTrack],
    next_close: &mut i64,
    horizon: Timestamp,
    started: Timestamp,
    to_writer: &mpsc::UnboundedSender<Batch>,
) {
    let cfg = nw.config();
    let len = cfg.slice;
    while *next_close + len.secs() <= horizon.as_second() {
        let s = *next_close;
        *next_close += len.secs();
        let got = pending.remove(&s).unwrap_or_default();
        let Ok(s_ts) = Timestamp::from_second(s) else {
            continue;
        };
        let mut rows = Vec::with_capacity(cfg.targets.len());
        for (i, t) in cfg.targets.iter().enumerate() {
            if i % 4096 == 4095 {
                // Tens of thousands of targets: let the probers run meanwhile.
                tokio::task::yield_now().await;
            }
            let mut verdicts: Vec<Verdict> = got
                .get(&i)
                .map(|m| m.iter().map(|(_, v)| *v).collect())
                .unwrap_or_default();
            let track = &mut tracks[i];
            if verdicts.is_empty() {
                let iv = SignedDuration::try_from(t.interval).unwrap_or_default();
                if let Some((at, v)) = track
                    .recent
                    .iter()
                    .rev()
                    .find(|(at, _)| *at < s_ts && *at >= started)
                    && s_ts.duration_since(*at) < iv
                {
                    verdicts = v.clone();
                }
            }
            // The slice keeps what was observed; maintenance is laid over it at report time.
            let measured = judge(&verdicts, cfg.quorum);
            rows.push(SliceRow {
                node: t.node.clone(),
                start: s,
                len_s: len.secs() as u32,
                state: measured,
                measured,
                reporters: verdicts.len() as u16,
                down_votes: verdicts.iter().filter(|v| **v == Verdict::Down).count() as u16,
            });
        }
        if to_writer.send(Batch::Slices(rows)).is_err() {
            tracing::error!("the writer is gone: slice {s} not stored");
        }
    }
}

/// Feeds one round to the node's hysteresis, opening or closing its incident.
async fn observe(nw: &Netwatch, cfg: &NetwatchConfig, track: &mut NodeTrack, r: &RoundResult) {
    let target = &cfg.targets[r.target];
    if track.recent.len() >= 8 {
        track.recent.pop_front();
    }
    track
        .recent
        .push_back((r.at, r.verdicts.iter().map(|(_, v)| *v).collect()));
    let verdicts = track
        .recent
        .back()
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[]);
    let state = judge(verdicts, cfg.quorum);
    let ok = state != SliceState::Down;
    let down = verdicts.iter().filter(|v| **v == Verdict::Down).count();
    let all = verdicts.len();
    // Built only when a failure has to be told (most rounds are good).
    let reason = || r.reason.clone().unwrap_or_else(|| "ok".into());
    let votes = || format!("{down} of {all} vantage points saw it down");
    if !ok && !track.hysteresis.is_open() && track.pending_evidence.len() < MAX_EVIDENCE {
        track.pending_evidence.push(TimelineEntry {
            at: r.at,
            kind: "evidence".into(),
            detail: format!("{} ({})", reason(), votes()),
        });
    }
    if ok && !track.hysteresis.is_open() {
        track.pending_evidence.clear();
    }
    let transition = track.hysteresis.observe(r.at, ok);
    let store = nw.store();
    match transition {
        Some(Transition::Open { since }) => {
            let mut tl = vec![TimelineEntry {
                at: since,
                kind: "first_failure".into(),
                detail: format!("{} down: {}", target.node, reason()),
            }];
            tl.append(&mut track.pending_evidence);
            tl.push(TimelineEntry {
                at: nw.now(),
                kind: "opened".into(),
                detail: format!("{} consecutive failed rounds", cfg.open_after),
            });
            track.evidence = 0;
            track.unsaved.push(Unsaved::Open {
                since,
                timeline: tl,
            });
        }
        Some(Transition::Close { since }) => {
            let open = track.incident.is_some()
                || track
                    .unsaved
                    .iter()
                    .any(|u| matches!(u, Unsaved::Open { .. }));
            if open {
                track.unsaved.push(Unsaved::Close {
                    since,
                    timeline: vec![
                        TimelineEntry {
                            at: since,
                            kind: "first_success".into(),
                            detail: format!("{} reachable again", target.node),
                        },
                        TimelineEntry {
                            at: nw.now(),
                            kind: "closed".into(),
                            detail: format!("{} consecutive good rounds", cfg.close_after),
                        },
                    ],
                });
            }
        }
        None => {
            // While open, record changes of cause as evidence (bounded).
            if let Some(id) = track.incident
                && !ok
                && track.last_reason.as_deref() != Some(r.reason.as_deref().unwrap_or("ok"))
                && track.evidence < MAX_EVIDENCE
            {
                track.evidence += 1;
                let e = TimelineEntry {
                    at: r.at,
                    kind: "evidence".into(),
                    detail: format!("{} ({})", reason(), votes()),
                };
                if let Err(err) = store.update_incident(id, None, &[e], &[]).await {
                    tracing::error!("cannot add evidence to incident {id}: {err}");
                }
            }
        }
    }
    // This round's incident writes, and any an earlier round could not store.
    flush(nw, cfg, track, &target.node).await;
    track.last_reason = (!ok).then(reason);
    nw.set_live(
        &target.node,
        LiveNode {
            state,
            at: r.at,
            reason: r.reason.clone(),
            tcp_ms: r.tcp_ms,
            incident: track.incident,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::maintenance::{WindowSpec, WindowVersion};
    use crate::store::{MemoryStore, Sample, SliceRow, StoreError};
    use std::sync::atomic::AtomicU32;

    /// A memory store whose incident writes fail while `refuse` is above zero (each refusal
    /// counts it down).
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        refuse: AtomicU32,
    }

    impl Flaky {
        fn refused(&self) -> Result<(), StoreError> {
            let left = self.refuse.load(Ordering::SeqCst);
            if left > 0 {
                self.refuse.store(left - 1, Ordering::SeqCst);
                return Err(StoreError::Backend("disk full".into()));
            }
            Ok(())
        }
    }

    #[async_trait::async_trait]
    impl NetwatchStore for Flaky {
        async fn put_slices(&self, rows: &[SliceRow]) -> Result<(), StoreError> {
            self.inner.put_slices(rows).await
        }
        async fn slices(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceRow>, StoreError> {
            self.inner.slices(from_s, to_s).await
        }
        async fn slice_hours(
            &self,
            from_s: i64,
            to_s: i64,
        ) -> Result<Vec<crate::store::SliceHour>, StoreError> {
            self.inner.slice_hours(from_s, to_s).await
        }
        async fn roll_up(&self, hour: i64) -> Result<(), StoreError> {
            self.inner.roll_up(hour).await
        }
        async fn rollups(
            &self,
            from_hour: i64,
            to_hour: i64,
        ) -> Result<Vec<crate::rollup::ClassHour>, StoreError> {
            self.inner.rollups(from_hour, to_hour).await
        }
        async fn rolled_up_until(&self) -> Result<Option<i64>, StoreError> {
            self.inner.rolled_up_until().await
        }
        async fn oldest_sample(&self) -> Result<Option<Timestamp>, StoreError> {
            self.inner.oldest_sample().await
        }
        async fn prune_samples(&self, before: Timestamp) -> Result<u64, StoreError> {
            self.inner.prune_samples(before).await
        }
        async fn put_samples(&self, rows: &[Sample]) -> Result<(), StoreError> {
            self.inner.put_samples(rows).await
        }
        async fn samples(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Sample>, StoreError> {
            self.inner.samples(from, to).await
        }
        async fn open_incident(
            &self,
            node: &NodeId,
            opened_at: Timestamp,
            timeline: &[TimelineEntry],
            notify: &[String],
        ) -> Result<i64, StoreError> {
            self.refused()?;
            self.inner
                .open_incident(node, opened_at, timeline, notify)
                .await
        }
        async fn update_incident(
            &self,
            id: i64,
            closed_at: Option<Timestamp>,
            timeline: &[TimelineEntry],
            notify: &[String],
        ) -> Result<(), StoreError> {
            self.refused()?;
            self.inner
                .update_incident(id, closed_at, timeline, notify)
                .await
        }
        async fn due_notices(
            &self,
            now: Timestamp,
            limit: u32,
        ) -> Result<Vec<crate::store::Notice>, StoreError> {
            self.inner.due_notices(now, limit).await
        }
        async fn record_notice(
            &self,
            id: i64,
            at: Timestamp,
            outcome: &crate::store::NoticeOutcome,
            error: Option<&str>,
        ) -> Result<(), StoreError> {
            self.inner.record_notice(id, at, outcome, error).await
        }
        async fn notices(&self) -> Result<Vec<crate::store::Notice>, StoreError> {
            self.inner.notices().await
        }
        async fn incidents(&self, node: Option<&NodeId>) -> Result<Vec<Incident>, StoreError> {
            self.inner.incidents(node).await
        }
        async fn create_window(
            &self,
            spec: &WindowSpec,
            at: Timestamp,
            by: &str,
            key: Option<&crate::store::RequestKey>,
        ) -> Result<WindowVersion, StoreError> {
            self.inner.create_window(spec, at, by, key).await
        }
        async fn window_by_key(
            &self,
            principal: &str,
            key: &str,
        ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
            self.inner.window_by_key(principal, key).await
        }
        async fn append_window_version(&self, v: &WindowVersion) -> Result<(), StoreError> {
            self.inner.append_window_version(v).await
        }
        async fn window_history(&self) -> Result<Vec<WindowVersion>, StoreError> {
            self.inner.window_history().await
        }
    }

    /// An incident whose opening and closing the store first refuses is still opened and
    /// closed, at the next rounds; with the writes lost it would have stayed open for good.
    #[tokio::test]
    async fn refused_incident_writes_are_retried_until_stored() {
        let text = "[[node]]\nid = \"alpha\"\nname = \"alpha\"\nregion = \"asia\"\nlat = 0.0\n\
                    lon = 0.0\navailability_target = 99.5\nagent = \"127.0.0.1:9\"\n\n\
                    [netwatch]\nopen_after = 2\nclose_after = 2\nclasses = []\n";
        let file = rendan_topology::parse(text, "test").unwrap();
        let cfg = NetwatchConfig::from_topology(&file).unwrap();
        let store = Arc::new(Flaky::default());
        let nw = Netwatch::new(cfg.clone(), store.clone()).await.unwrap();
        let mut track = NodeTrack {
            hysteresis: Hysteresis::new(cfg.open_after, cfg.close_after, false),
            incident: None,
            recent: VecDeque::new(),
            pending_evidence: Vec::new(),
            evidence: 0,
            last_reason: None,
            unsaved: Vec::new(),
        };
        let t0: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let round = |i: i64, up: bool| RoundResult {
            target: 0,
            at: t0 + SignedDuration::from_secs(10 * i),
            verdicts: vec![("local".into(), if up { Verdict::Up } else { Verdict::Down })],
            reason: (!up).then(|| "connection refused".into()),
            samples: vec![],
            tcp_ms: None,
        };
        // Two failed rounds open the incident; the store refuses that write and the next.
        store.refuse.store(2, Ordering::SeqCst);
        for i in 0..3 {
            observe(&nw, &cfg, &mut track, &round(i, false)).await;
        }
        assert_eq!(store.inner.incidents(None).await.unwrap().len(), 0);
        observe(&nw, &cfg, &mut track, &round(3, false)).await;
        let list = store.inner.incidents(None).await.unwrap();
        assert_eq!(list.len(), 1, "opened at the first round the store took it");
        assert_eq!(
            list[0].opened_at,
            round(0, false).at,
            "since the first failure"
        );
        // Two good rounds close it; the store refuses the close once.
        store.refuse.store(1, Ordering::SeqCst);
        observe(&nw, &cfg, &mut track, &round(4, true)).await;
        observe(&nw, &cfg, &mut track, &round(5, true)).await;
        assert_eq!(
            store.inner.incidents(None).await.unwrap()[0].closed_at,
            None
        );
        observe(&nw, &cfg, &mut track, &round(6, true)).await;
        let list = store.inner.incidents(None).await.unwrap();
        assert_eq!(
            list[0].closed_at,
            Some(round(4, true).at),
            "closed as of the first success"
        );
        assert_eq!(track.incident, None);
        assert!(track.unsaved.is_empty());
    }

    #[test]
    fn ticks_are_aligned_and_spread() {
        let now: Timestamp = "2026-10-01T00:00:00.300Z".parse().unwrap();
        let t = first_tick(now, Duration::from_secs(5), Duration::from_millis(1200));
        assert_eq!(t.to_string(), "2026-10-01T00:00:01.2Z");
        let a = phase(
            &NodeId::parse("seoul", "n").unwrap(),
            Duration::from_secs(5),
        );
        let b = phase(
            &NodeId::parse("osaka", "n").unwrap(),
            Duration::from_secs(5),
        );
        assert_ne!(a, b);
        assert!(a < Duration::from_secs(5));
    }
}
