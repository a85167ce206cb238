//! The SLA figures of a range (a contractual month or any `[from, to)`), and their renderings
//! as Markdown, CSV and HTML with an SVG chart.
//!
//! [`figures`] is the one computation behind `GET /network/availability`, `GET /network/sla` and
//! `rendan sla report`: the effective state of every slice of every covered node (the observed
//! state with the maintenance overlay of the windows' versions recorded before the report's
//! instant laid over it, missing slices as NO_DATA), availability against the
//! contract's per-node target, allowed and used downtime, incidents overlapping the range, and
//! RTT / loss / jitter percentiles per traffic class from the hourly rollups. Regions add up
//! their nodes' slices.

use crate::availability::{Counts, Stored, allowed_downtime_minutes, walk};
use crate::contract::Contract;
use crate::incident::Incident;
use crate::maintenance::{MaintenanceWindow, Overlay, Schedule, Scope};
use crate::monitor::Netwatch;
use crate::month::Month;
use crate::rollup::{ClassHour, rollup};
use crate::slice::{SliceLen, SliceState};
use crate::store::StoreError;
use jiff::Timestamp;
use rendan_domain::{NodeId, Region};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Loss and percentiles of one traffic class (or `tcp`) over the UTC hours the range touches,
/// from the hourly rollups (percentiles within 2%).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassFigures {
    /// `tcp`, `voice`, `video` or `data`.
    pub class: String,
    /// Rounds measured.
    pub rounds: usize,
    /// Packets lost over packets sent, in percent.
    pub loss_pct: f64,
    /// Median round-trip time.
    pub rtt_p50_ms: Option<f64>,
    /// 95th percentile round-trip time.
    pub rtt_p95_ms: Option<f64>,
    /// 99th percentile round-trip time.
    pub rtt_p99_ms: Option<f64>,
    /// Median RFC 3550 jitter.
    pub jitter_p50_ms: Option<f64>,
    /// 95th percentile RFC 3550 jitter.
    pub jitter_p95_ms: Option<f64>,
}

/// The figures of one node or one region.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Node or region id.
    pub id: String,
    /// Node name (the id for regions).
    pub name: String,
    /// Region.
    pub region: Region,
    /// Seconds per state.
    pub counts: Counts,
    /// Availability in percent; `None` when nothing was measured.
    pub availability: Option<f64>,
    /// Target in percent.
    pub target: f64,
    /// Met, missed, or unknown (nothing measured).
    pub met: Option<bool>,
    /// Downtime the target allows: over the counted minutes for an arbitrary range, over the
    /// whole contractual month less its maintenance for a month (so a month in progress is
    /// judged against the allowance it will have, not the minutes seen so far).
    pub allowed_down_min: f64,
    /// For a month: the downtime still allowed before the target is missed.
    pub remaining_down_min: Option<f64>,
    /// Downtime counted.
    pub used_down_min: f64,
    /// Minutes under maintenance.
    pub maintenance_min: f64,
    /// Minutes with no data.
    pub no_data_min: f64,
    /// Incidents overlapping the range.
    pub incidents: usize,
    /// Per-class percentiles (nodes only).
    pub classes: Vec<ClassFigures>,
    /// Worst state of each hour of the range, for the chart (nodes only).
    pub hours: Vec<SliceState>,
}

/// The figures of a range under one contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The contract's name.
    pub contract: String,
    /// The zone months are cut in.
    pub zone: String,
    /// Whether DEGRADED counted as down.
    pub degraded_is_down: bool,
    /// The month, when the range is one.
    pub month: Option<Month>,
    /// When a month's report was made before the month ended: the instant it stands at. Its
    /// lines are then not judged met until the month ends, only missed once the downtime
    /// used exceeds the month's allowance.
    pub in_progress_at: Option<Timestamp>,
    /// Start of the range.
    pub from: Timestamp,
    /// End of the range (exclusive).
    pub to: Timestamp,
    /// Slice length.
    pub slice: SliceLen,
    /// One line per covered node, in topology order.
    pub nodes: Vec<Line>,
    /// One line per region.
    pub regions: Vec<Line>,
    /// The maintenance windows that touch the range as the report saw them (emergency and
    /// deleted ones marked), so an auditor sees what was excluded and what no longer is.
    pub windows: Vec<MaintenanceWindow>,
    /// The instant the report stands at: versions of windows recorded later are not applied.
    pub as_of: Timestamp,
    /// The incidents of covered nodes that overlap the range, oldest first (timelines left out).
    pub incident_list: Vec<Incident>,
}

fn severity(s: SliceState) -> u8 {
    match s {
        SliceState::Up => 0,
        SliceState::Maintenance => 1,
        SliceState::NoData => 2,
        SliceState::Degraded => 3,
        SliceState::Down => 4,
    }
}

fn line(
    id: String,
    name: String,
    region: Region,
    counts: Counts,
    target: f64,
    degraded_is_down: bool,
) -> Line {
    let availability = counts.availability(degraded_is_down);
    let minutes = |secs: u64| secs as f64 / 60.0;
    Line {
        id,
        name,
        region,
        counts,
        availability,
        target,
        met: availability.map(|a| a + 1e-9 >= target),
        allowed_down_min: allowed_downtime_minutes(target, minutes(counts.counted())),
        used_down_min: minutes(counts.bad(degraded_is_down)),
        remaining_down_min: None,
        maintenance_min: minutes(counts.maintenance),
        no_data_min: minutes(counts.no_data),
        incidents: 0,
        classes: vec![],
        hours: vec![],
    }
}

/// Per node and class, the rollups of the UTC hours `[from, to)` touches: stored ones
/// below the rollup watermark, the rest rolled up now from the samples by the same code, so the
/// figures do not change when the hour is rolled up or its samples are pruned.
async fn class_hours(
    nw: &Netwatch,
    from: Timestamp,
    to: Timestamp,
) -> Result<HashMap<NodeId, BTreeMap<String, ClassHour>>, StoreError> {
    let ceil = |t: Timestamp| (t.as_second() + 3599).div_euclid(3600) * 3600;
    let (h0, h1) = (crate::rollup::hour_of(from), ceil(to));
    let mark = nw
        .store()
        .rolled_up_until()
        .await?
        .unwrap_or(h0)
        .clamp(h0, h1);
    let mut rows = nw.store().rollups(h0, mark).await?;
    if mark < h1
        && let (Ok(a), Ok(b)) = (Timestamp::from_second(mark), Timestamp::from_second(h1))
    {
        rows.extend(rollup(&nw.store().samples(a, b).await?));
    }
    let mut out: HashMap<NodeId, BTreeMap<String, ClassHour>> = HashMap::new();
    for r in rows {
        let per = out.entry(r.node.clone()).or_default();
        match per.get_mut(&r.class) {
            Some(c) => c.merge(&r),
            None => {
                per.insert(r.class.clone(), r);
            }
        }
    }
    Ok(out)
}

/// Computes the figures of `[from, to)` under `contract` as they stand at `as_of` (the
/// maintenance windows' versions recorded before it); `details` adds percentiles and the
/// hourly chart data.
pub async fn figures(
    nw: &Netwatch,
    contract: &Contract,
    from: Timestamp,
    to: Timestamp,
    details: bool,
    as_of: Timestamp,
) -> Result<Figures, StoreError> {
    let cfg = nw.config();
    let slice = cfg.slice;
    let (from_s, to_s) = (from.as_second(), to.as_second());
    // Whole UTC hours are summed by the store; the part of the range before the first whole
    // hour and after the last, and the hours under maintenance, are walked slice by slice. A
    // slice lies inside one UTC hour when its length divides an hour (slices start at
    // multiples of their length); if any stored slice does not, everything is walked.
    let grid = (from_s + 3599).div_euclid(3600) * 3600;
    let whole = ((to_s.div_euclid(3600) * 3600 - grid).max(0) / 3600) as usize;
    let mut summed: HashMap<NodeId, HashMap<i64, [u64; 5]>> = HashMap::new();
    let mut fits = true;
    if whole > 0 {
        for h in nw
            .store()
            .slice_hours(grid, grid + whole as i64 * 3600)
            .await?
        {
            fits &= h.fits_hours;
            let e = summed.entry(h.node).or_default().entry(h.hour).or_default();
            e[h.state.index()] += h.secs;
        }
    }
    let incidents = nw.store().incidents(None).await?;
    let mut classes = if details {
        class_hours(nw, from, to).await?
    } else {
        HashMap::new()
    };
    let history = nw.store().window_history().await?;
    let overlay = Overlay::new(&history, as_of, cfg.maintenance_notice);
    let hours_len = ((to_s - from_s).max(0) as usize).div_ceil(3600);
    let covered: Vec<&rendan_domain::Node> = cfg
        .nodes
        .iter()
        .filter(|n| contract.targets.contains_key(&n.id))
        .collect();
    let calendars: Vec<_> = covered
        .iter()
        .map(|n| overlay.calendar(&n.id, &n.region, from, to))
        .collect();
    // The pieces of the range: `(start, end, summed hour)`, in order; a piece without a summed
    // hour is walked. Per node, consecutive walked pieces merge into runs.
    let pieces = |cal: &crate::maintenance::MaintenanceCalendar| -> Vec<(i64, i64, Option<i64>)> {
        let mut out = Vec::new();
        if !fits || whole == 0 {
            out.push((from_s, to_s, None));
            return out;
        }
        let mut runs: Vec<(i64, i64, Option<i64>)> = Vec::new();
        let mut push = |a: i64, b: i64, h: Option<i64>| {
            if a >= b {
                return;
            }
            match (runs.last_mut(), h) {
                (Some(last), None) if last.2.is_none() && last.1 == a => last.1 = b,
                _ => runs.push((a, b, h)),
            }
        };
        push(from_s, grid, None);
        for k in 0..whole as i64 {
            let (a, b) = (grid + k * 3600, grid + (k + 1) * 3600);
            let masked = cal
                .spans()
                .iter()
                .any(|(s, e)| s.as_second() < b && e.as_second() + 1 > a);
            push(a, b, (!masked).then_some(k));
        }
        push(grid + whole as i64 * 3600, to_s, None);
        out.extend(runs);
        out
    };
    let plans: Vec<Vec<(i64, i64, Option<i64>)>> = calendars.iter().map(pieces).collect();
    // Each distinct walked run is read once, keeping the nodes that walk it.
    let lead = if fits { 3600 } else { 86_400 };
    let mut raw: HashMap<(i64, i64), HashMap<NodeId, Vec<Stored>>> = HashMap::new();
    let mut wanted: BTreeMap<(i64, i64), std::collections::HashSet<&NodeId>> = BTreeMap::new();
    for (n, plan) in covered.iter().zip(&plans) {
        for (a, b, h) in plan {
            if h.is_none() {
                wanted.entry((*a, *b)).or_default().insert(&n.id);
            }
        }
    }
    for ((a, b), who) in &wanted {
        let mut by_node: HashMap<NodeId, Vec<Stored>> = HashMap::new();
        for r in nw.store().slices(a - lead, *b).await? {
            if !who.contains(&r.node) {
                continue;
            }
            by_node.entry(r.node.clone()).or_default().push(Stored {
                start: r.start,
                len: i64::from(r.len_s),
                state: r.effective(),
            });
        }
        for list in by_node.values_mut() {
            list.sort_by_key(|r| r.start);
        }
        raw.insert((*a, *b), by_node);
    }
    let mut nodes = Vec::new();
    for (node_index, n) in covered.iter().enumerate() {
        let target = contract
            .targets
            .get(&n.id)
            .copied()
            .unwrap_or(n.availability_target);
        let cal = &calendars[node_index];
        let mut counts = Counts::default();
        let mut hours = vec![SliceState::Up; if details { hours_len } else { 0 }];
        let mut seen = vec![false; hours.len()];
        let mut mark = |start: i64, secs: i64, s: SliceState| {
            counts.add(s, secs.max(0) as u64);
            if details && secs > 0 {
                let first = ((start - from_s) / 3600) as usize;
                let last = ((start + secs - 1 - from_s) / 3600) as usize;
                for h in first..=last.min(hours.len().saturating_sub(1)) {
                    if !seen[h] || severity(s) > severity(hours[h]) {
                        hours[h] = s;
                    }
                    seen[h] = true;
                }
            }
        };
        let none = HashMap::new();
        let sums = summed.get(&n.id).unwrap_or(&none);
        for (a, b, h) in &plans[node_index] {
            match h {
                None => {
                    let rows = raw
                        .get(&(*a, *b))
                        .and_then(|by_node| by_node.get(&n.id))
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    walk(*a, *b, rows, cal, &mut mark);
                }
                Some(k) => {
                    let per = sums.get(k).copied().unwrap_or_default();
                    let mut covered = 0;
                    for (i, secs) in per.iter().enumerate() {
                        if *secs > 0 {
                            mark(*a, *secs as i64, SliceState::ALL[i]);
                            covered += secs;
                        }
                    }
                    let gap = (b - a).max(0) as u64;
                    if gap > covered {
                        mark(*a, (gap - covered) as i64, SliceState::NoData);
                    }
                }
            }
        }
        let mut l = line(
            n.id.to_string(),
            n.name.clone(),
            n.region.clone(),
            counts,
            target,
            contract.degraded_is_down,
        );
        l.incidents = incidents
            .iter()
            .filter(|i| i.node == n.id && i.overlaps(from, to))
            .count();
        l.hours = hours;
        if let Some(by_class) = classes.remove(&n.id) {
            for (class, c) in by_class {
                l.classes.push(ClassFigures {
                    class,
                    rounds: c.rounds as usize,
                    loss_pct: if c.sent == 0 {
                        0.0
                    } else {
                        100.0 * c.sent.saturating_sub(c.received) as f64 / c.sent as f64
                    },
                    rtt_p50_ms: c.rtt.percentile(50.0),
                    rtt_p95_ms: c.rtt.percentile(95.0),
                    rtt_p99_ms: c.rtt.percentile(99.0),
                    jitter_p50_ms: c.jitter.percentile(50.0),
                    jitter_p95_ms: c.jitter.percentile(95.0),
                });
            }
        }
        nodes.push(l);
    }
    let mut by_region: BTreeMap<Region, (Counts, f64, usize)> = BTreeMap::new();
    for l in &nodes {
        let e = by_region
            .entry(l.region.clone())
            .or_insert((Counts::default(), f64::INFINITY, 0));
        e.0 += l.counts;
        // A region is held to its strictest node's target.
        e.1 = e.1.min(l.target);
        e.2 += l.incidents;
    }
    let regions = by_region
        .into_iter()
        .map(|(r, (c, target, inc))| {
            let mut l = line(
                r.to_string(),
                r.to_string(),
                r,
                c,
                target,
                contract.degraded_is_down,
            );
            l.incidents = inc;
            l
        })
        .collect();
    Ok(Figures {
        contract: contract.name.clone(),
        zone: contract.zone_name().to_string(),
        degraded_is_down: contract.degraded_is_down,
        month: None,
        in_progress_at: None,
        from,
        to,
        slice,
        nodes,
        regions,
        windows: overlay.listed(from, to),
        as_of,
        incident_list: incidents
            .into_iter()
            .filter(|i| i.overlaps(from, to) && contract.targets.contains_key(&i.node))
            .map(|mut i| {
                i.timeline.clear();
                i
            })
            .collect(),
    })
}

/// The figures of a contractual month as they stand at `now`: each line's allowed downtime
/// is the target's share of the whole month less its maintenance; before the month ends the
/// report is marked in progress, a line is only judged once its downtime exceeds the month's
/// allowance, and the downtime still allowed is given.
pub async fn month_figures(
    nw: &Netwatch,
    contract: &Contract,
    month: Month,
    now: Timestamp,
) -> Result<Figures, ReportError> {
    let (from, to) = month
        .range(&contract.tz)
        .map_err(|e| ReportError::Month(e.to_string()))?;
    // A closed month stands as of its end: later versions of windows never change it.
    let mut f = figures(nw, contract, from, to, true, now.min(to)).await?;
    f.month = Some(month);
    let month_min = to.duration_since(from).as_secs_f64() / 60.0;
    let running = now < to;
    let mut per_region: BTreeMap<Region, f64> = BTreeMap::new();
    for l in &f.nodes {
        *per_region.entry(l.region.clone()).or_default() += 1.0;
    }
    let judge = |l: &mut Line, nodes: f64| {
        let base = (month_min * nodes - l.maintenance_min).max(0.0);
        l.allowed_down_min = allowed_downtime_minutes(l.target, base);
        l.remaining_down_min = Some((l.allowed_down_min - l.used_down_min).max(0.0));
        if running {
            let exceeded = l.used_down_min > l.allowed_down_min + 1e-9;
            l.met = exceeded.then_some(false);
        }
    };
    for l in &mut f.nodes {
        judge(l, 1.0);
    }
    for l in &mut f.regions {
        let nodes = per_region.get(&l.region).copied().unwrap_or(1.0);
        judge(l, nodes);
    }
    f.in_progress_at = running.then_some(now);
    Ok(f)
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The month cannot be placed in the zone.
    #[error("{0}")]
    Month(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown tables.
    Markdown,
    /// One CSV row per node and region.
    Csv,
    /// A standalone HTML page with an SVG chart.
    Html,
}

impl Format {
    /// Parses `md`, `csv` or `html`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "md" | "markdown" => Some(Format::Markdown),
            "csv" => Some(Format::Csv),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    /// The media type of the rendering.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

fn pct(a: Option<f64>) -> String {
    a.map_or("n/a".into(), |a| format!("{a:.3}%"))
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "open",
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

fn title(f: &Figures) -> String {
    match f.month {
        Some(m) => match f.in_progress_at {
            Some(at) => format!(
                "SLA report {m} (contract {}, months in {}), IN PROGRESS as of {at}",
                f.contract, f.zone
            ),
            None => format!(
                "SLA report {m} (contract {}, months in {})",
                f.contract, f.zone
            ),
        },
        None => format!(
            "Availability {} to {} (contract {})",
            f.from, f.to, f.contract
        ),
    }
}

/// Renders `f` in `format`.
pub fn render(f: &Figures, format: Format) -> String {
    match format {
        Format::Markdown => markdown(f),
        Format::Csv => csv(f),
        Format::Html => html(f),
    }
}

const HEAD: [&str; 12] = [
    "id",
    "region",
    "availability",
    "target",
    "result",
    "allowed down (min)",
    "used down (min)",
    "still allowed (min)",
    "incidents",
    "maintenance (min)",
    "no data (min)",
    "name",
];

fn cells(l: &Line) -> [String; 12] {
    [
        l.id.clone(),
        l.region.to_string(),
        pct(l.availability),
        format!("{}%", l.target),
        met(l.met).into(),
        format!("{:.2}", l.allowed_down_min),
        format!("{:.2}", l.used_down_min),
        ms(l.remaining_down_min),
        l.incidents.to_string(),
        format!("{:.2}", l.maintenance_min),
        format!("{:.2}", l.no_data_min),
        l.name.clone(),
    ]
}

const WINDOWS_NOTE: &str = "Windows recorded before the report's instant that touch the range. \
A planned window masks only from its announcement (recorded + notice) on; an EMERGENCY window \
was recorded without notice by an administrator and masks its own times; a DELETED window \
masks nothing.";

const WINDOW_HEAD: [&str; 7] = ["id", "scope", "when", "kind", "recorded", "deleted", "note"];

fn window_cells(w: &MaintenanceWindow) -> [String; 7] {
    let scope = match &w.scope {
        Scope::Node(n) => format!("node {n}"),
        Scope::Region(r) => format!("region {r}"),
    };
    let when = match &w.schedule {
        Schedule::OneOff { start, end } => format!("{start} to {end}"),
        Schedule::Weekly {
            weekday,
            at,
            length,
            tz,
        } => format!(
            "every {weekday:?} {} {} for {length:#}",
            at.strftime("%H:%M"),
            tz.iana_name().unwrap_or("UTC")
        ),
    };
    let kind = match (w.deleted.is_some(), w.emergency) {
        (true, _) => "DELETED",
        (false, true) => "EMERGENCY",
        (false, false) => "planned",
    };
    [
        w.id.to_string(),
        scope,
        when,
        kind.to_string(),
        format!("{} by {} (v{})", w.created.0, w.created.1, w.version),
        w.deleted
            .as_ref()
            .map_or(String::new(), |(at, by)| format!("{at} by {by}")),
        w.note.clone(),
    ]
}

/// An incident's end as the report shows it (open ones "open") and its minutes inside the range
/// (up to the report's instant while open).
fn incident_span(f: &Figures, i: &Incident) -> (String, f64) {
    let end = i.closed_at.unwrap_or(f.as_of).min(f.to);
    let start = i.opened_at.max(f.from);
    let min = end.duration_since(start).as_secs_f64().max(0.0) / 60.0;
    (i.closed_at.map_or("open".into(), |t| t.to_string()), min)
}

fn markdown(f: &Figures) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", title(f));
    let _ = writeln!(
        o,
        "Range {} to {}, {} s slices. Availability = UP{} over all slices except MAINTENANCE and NO_DATA; NO_DATA minutes are shown beside it.\n",
        f.from,
        f.to,
        f.slice.secs(),
        if f.degraded_is_down {
            ""
        } else {
            " + DEGRADED"
        }
    );
    for (name, lines) in [("Nodes", &f.nodes), ("Regions", &f.regions)] {
        let _ = writeln!(o, "## {name}\n");
        let _ = writeln!(o, "| {} |", HEAD.join(" | "));
        let _ = writeln!(o, "|{}", "---|".repeat(HEAD.len()));
        for l in lines.iter() {
            let row: Vec<String> = cells(l).iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(o, "| {} |", row.join(" | "));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "## Incidents\n");
    let _ = writeln!(o, "| id | node | start | end | duration (min) |");
    let _ = writeln!(o, "|---|---|---|---|---|");
    for i in &f.incident_list {
        let (end, min) = incident_span(f, i);
        let _ = writeln!(
            o,
            "| {} | {} | {} | {end} | {min:.1} |",
            i.id, i.node, i.opened_at
        );
    }
    let _ = writeln!(o, "\n## Maintenance windows\n");
    let _ = writeln!(o, "{}\n", WINDOWS_NOTE);
    let _ = writeln!(o, "| {} |", WINDOW_HEAD.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(WINDOW_HEAD.len()));
    for w in &f.windows {
        let row: Vec<String> = window_cells(w)
            .iter()
            .map(|c| c.replace('|', "\\|"))
            .collect();
        let _ = writeln!(o, "| {} |", row.join(" | "));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "## Traffic classes\n");
    let _ = writeln!(
        o,
        "| node | class | rounds | loss | rtt p50 (ms) | rtt p95 | rtt p99 | jitter p50 (ms) | jitter p95 |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    for l in &f.nodes {
        for c in &l.classes {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {:.2}% | {} | {} | {} | {} | {} |",
                l.id,
                c.class,
                c.rounds,
                c.loss_pct,
                ms(c.rtt_p50_ms),
                ms(c.rtt_p95_ms),
                ms(c.rtt_p99_ms),
                ms(c.jitter_p50_ms),
                ms(c.jitter_p95_ms)
            );
        }
    }
    o
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(f: &Figures) -> String {
    let mut o = String::from(
        "level,id,name,region,availability_pct,target_pct,met,allowed_down_min,used_down_min,incidents,maintenance_min,no_data_min,up_s,degraded_s,down_s,maintenance_s,no_data_s",
    );
    let classes = ["tcp", "voice", "video", "data"];
    for c in classes {
        let _ = write!(
            o,
            ",{c}_loss_pct,{c}_rtt_p50_ms,{c}_rtt_p95_ms,{c}_jitter_p95_ms"
        );
    }
    o.push_str(",remaining_down_min,in_progress_at\n");
    for (level, lines) in [("node", &f.nodes), ("region", &f.regions)] {
        for l in lines.iter() {
            let _ = write!(
                o,
                "{level},{},{},{},{},{},{},{:.4},{:.4},{},{:.4},{:.4},{},{},{},{},{}",
                csv_field(&l.id),
                csv_field(&l.name),
                csv_field(l.region.as_str()),
                l.availability.map_or(String::new(), |a| format!("{a:.6}")),
                l.target,
                l.met.map_or("", |m| if m { "true" } else { "false" }),
                l.allowed_down_min,
                l.used_down_min,
                l.incidents,
                l.maintenance_min,
                l.no_data_min,
                l.counts.up,
                l.counts.degraded,
                l.counts.down,
                l.counts.maintenance,
                l.counts.no_data,
            );
            for c in classes {
                match l.classes.iter().find(|x| x.class == c) {
                    Some(x) => {
                        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
                        let _ = write!(
                            o,
                            ",{:.3},{},{},{}",
                            x.loss_pct,
                            opt(x.rtt_p50_ms),
                            opt(x.rtt_p95_ms),
                            opt(x.jitter_p95_ms)
                        );
                    }
                    None => o.push_str(",,,,"),
                }
            }
            let _ = writeln!(
                o,
                ",{},{}",
                l.remaining_down_min
                    .map_or(String::new(), |v| format!("{v:.4}")),
                f.in_progress_at.map_or(String::new(), |t| t.to_string())
            );
        }
    }
    o
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn color(s: SliceState) -> &'static str {
    match s {
        SliceState::Up => "#2e7d32",
        SliceState::Degraded => "#f9a825",
        SliceState::Down => "#c62828",
        SliceState::Maintenance => "#1565c0",
        SliceState::NoData => "#9e9e9e",
    }
}

/// The month's chart: one row per node, one mark per hour coloured by the hour's worst state.
pub fn svg_chart(f: &Figures) -> String {
    let label_w = 120.0;
    let row_h = 14.0;
    let hours = f.nodes.iter().map(|l| l.hours.len()).max().unwrap_or(0);
    let cell = if hours == 0 {
        1.0
    } else {
        (900.0 / hours as f64).max(0.5)
    };
    let width = label_w + cell * hours as f64 + 10.0;
    let axis_y = row_h * f.nodes.len() as f64 + 4.0;
    let height = axis_y + 60.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="hourly state per node">"#
    );
    for (i, l) in f.nodes.iter().enumerate() {
        let y = i as f64 * row_h;
        let _ = write!(
            o,
            r#"<text x="0" y="{:.1}" font-size="10" font-family="sans-serif">{}</text>"#,
            y + row_h - 3.0,
            esc(&l.id)
        );
        // Runs of equal state become one rectangle, keeping the file small.
        let mut h = 0;
        while h < l.hours.len() {
            let s = l.hours[h];
            let mut e = h + 1;
            while e < l.hours.len() && l.hours[e] == s {
                e += 1;
            }
            let _ = write!(
                o,
                r#"<rect x="{:.2}" y="{y:.1}" width="{:.2}" height="{:.1}" fill="{}"><title>{} h{}-{}: {}</title></rect>"#,
                label_w + h as f64 * cell,
                (e - h) as f64 * cell,
                row_h - 2.0,
                color(s),
                esc(&l.id),
                h,
                e,
                s
            );
            h = e;
        }
    }
    // The time axis: a tick at each midnight of the contract's zone, labelled with the day
    // (every day up to a month, else weekly), and the zone named.
    let tz = jiff::tz::TimeZone::get(&f.zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let _ = write!(
        o,
        r##"<line x1="{label_w:.0}" y1="{axis_y:.1}" x2="{:.2}" y2="{axis_y:.1}" stroke="#555555"/>"##,
        label_w + cell * hours as f64
    );
    let every = if hours > 24 * 32 { 7 } else { 1 };
    let mut day = 0;
    for h in 0..=hours {
        let Ok(t) = f
            .from
            .checked_add(jiff::SignedDuration::from_hours(h as i64))
        else {
            break;
        };
        let z = t.to_zoned(tz.clone());
        if z.hour() != 0 {
            continue;
        }
        let x = label_w + h as f64 * cell;
        let _ = write!(
            o,
            r##"<line x1="{x:.2}" y1="{axis_y:.1}" x2="{x:.2}" y2="{:.1}" stroke="#555555"/>"##,
            axis_y + 4.0
        );
        if day % every == 0 {
            let _ = write!(
                o,
                r#"<text x="{x:.2}" y="{:.1}" font-size="9" font-family="sans-serif" text-anchor="middle">{}</text>"#,
                axis_y + 14.0,
                z.strftime("%d")
            );
        }
        day += 1;
    }
    let _ = write!(
        o,
        r#"<text x="0" y="{:.1}" font-size="9" font-family="sans-serif">day ({})</text>"#,
        axis_y + 14.0,
        esc(&f.zone)
    );
    let y = axis_y + 40.0;
    for (i, s) in SliceState::ALL.iter().enumerate() {
        let x = label_w + i as f64 * 110.0;
        let _ = write!(
            o,
            r#"<rect x="{x:.0}" y="{:.0}" width="10" height="10" fill="{}"/><text x="{:.0}" y="{y:.0}" font-size="10" font-family="sans-serif">{s}</text>"#,
            y - 9.0,
            color(*s),
            x + 14.0
        );
    }
    o.push_str("</svg>");
    o
}

fn html(f: &Figures) -> String {
    let mut o = String::new();
    let t = esc(&title(f));
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}.MISSED{{color:#c62828;font-weight:bold}}</style></head><body><h1>{t}</h1><p>Range {} to {}, {} s slices. Availability = UP{} over all slices except MAINTENANCE and NO_DATA.</p><h2>Chart (one mark per hour)</h2>",
        f.from,
        f.to,
        f.slice.secs(),
        if f.degraded_is_down {
            ""
        } else {
            " + DEGRADED"
        }
    );
    o.push_str(&svg_chart(f));
    for (name, lines) in [("Nodes", &f.nodes), ("Regions", &f.regions)] {
        let _ = write!(o, "<h2>{name}</h2><table><tr>");
        for h in HEAD {
            let _ = write!(o, "<th>{}</th>", esc(h));
        }
        o.push_str("</tr>");
        for l in lines.iter() {
            o.push_str("<tr>");
            for (i, c) in cells(l).iter().enumerate() {
                if i == 4 {
                    let _ = write!(o, "<td class=\"{}\">{}</td>", esc(c), esc(c));
                } else {
                    let _ = write!(o, "<td>{}</td>", esc(c));
                }
            }
            o.push_str("</tr>");
        }
        o.push_str("</table>");
    }
    o.push_str("<h2>Incidents</h2><table><tr><th>id</th><th>node</th><th>start</th><th>end</th><th>duration (min)</th></tr>");
    for i in &f.incident_list {
        let (end, min) = incident_span(f, i);
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{min:.1}</td></tr>",
            i.id,
            esc(i.node.as_str()),
            i.opened_at,
            esc(&end)
        );
    }
    let _ = write!(
        o,
        "</table><h2>Maintenance windows</h2><p>{}</p><table><tr>",
        esc(WINDOWS_NOTE)
    );
    for h in WINDOW_HEAD {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr>");
    for w in &f.windows {
        o.push_str("<tr>");
        for c in window_cells(w) {
            let _ = write!(o, "<td>{}</td>", esc(&c));
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    o.push_str("<h2>Traffic classes</h2><table><tr><th>node</th><th>class</th><th>rounds</th><th>loss</th><th>rtt p50 (ms)</th><th>rtt p95</th><th>rtt p99</th><th>jitter p50 (ms)</th><th>jitter p95</th></tr>");
    for l in &f.nodes {
        for c in &l.classes {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.id),
                esc(&c.class),
                c.rounds,
                c.loss_pct,
                ms(c.rtt_p50_ms),
                ms(c.rtt_p95_ms),
                ms(c.rtt_p99_ms),
                ms(c.jitter_p50_ms),
                ms(c.jitter_p95_ms)
            );
        }
    }
    o.push_str("</table></body></html>\n");
    o
}
