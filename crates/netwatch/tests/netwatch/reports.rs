//! Monthly reports over a prepared store: NO_DATA at the start of monitoring, an incident that
//! spans a month boundary, maintenance, and the three renderings.

use crate::helpers::*;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rendan_domain::NodeId;
use rendan_netwatch::incident::TimelineEntry;
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec};
use rendan_netwatch::month::Month;
use rendan_netwatch::report::{self, Format};
use rendan_netwatch::store::SliceRow;
use rendan_netwatch::{Netwatch, SliceState};

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Two nodes watched since 2026-10-20 (Shanghai); alpha down 60 minutes on 2026-11-05 and
/// across the October/November boundary, bravo DEGRADED for a day.
pub async fn prepared() -> Netwatch {
    let addr = "127.0.0.1:9".parse().unwrap();
    let text = topology(
        &[
            ("alpha", "asia", 99.7, addr),
            ("bravo", "europe", 99.8, addr),
        ],
        "",
    );
    let (nw, store) = netwatch(config(&text)).await;
    let tz = TimeZone::get("Asia/Shanghai").unwrap();
    let start = ts("2026-10-19T16:00:00Z");
    let (_, end) = "2026-11".parse::<Month>().unwrap().range(&tz).unwrap();
    let outage = ts("2026-11-05T02:00:00Z").as_second();
    let boundary = ts("2026-10-31T15:50:00Z").as_second();
    let bad_day = ts("2026-11-20T00:00:00Z").as_second();
    let mut rows = Vec::new();
    let mut s = start.as_second();
    while s < end.as_second() {
        for node in ["alpha", "bravo"] {
            let state = if node == "alpha"
                && ((outage..outage + 3600).contains(&s)
                    || (boundary..boundary + 1800).contains(&s))
            {
                SliceState::Down
            } else if node == "bravo" && (bad_day..bad_day + 86_400).contains(&s) {
                SliceState::Degraded
            } else {
                SliceState::Up
            };
            rows.push(SliceRow {
                node: NodeId::parse(node, "n").unwrap(),
                start: s,
                len_s: 60,
                state,
                measured: state,
                reporters: 1,
                down_votes: u16::from(state == SliceState::Down),
            });
        }
        s += 60;
    }
    store.put_slices(&rows).await.unwrap();
    let alpha = NodeId::parse("alpha", "n").unwrap();
    let e = |at: &str, kind: &str| TimelineEntry {
        at: ts(at),
        kind: kind.into(),
        detail: String::new(),
    };
    let i = store
        .open_incident(
            &alpha,
            ts("2026-10-31T15:50:00Z"),
            &[e("2026-10-31T15:50:00Z", "opened")],
            &[],
        )
        .await
        .unwrap();
    store
        .update_incident(
            i,
            Some(ts("2026-10-31T16:20:00Z")),
            &[e("2026-10-31T16:20:00Z", "closed")],
            &[],
        )
        .await
        .unwrap();
    let i = store
        .open_incident(&alpha, ts("2026-11-05T02:00:00Z"), &[], &[])
        .await
        .unwrap();
    store
        .update_incident(i, Some(ts("2026-11-05T03:00:00Z")), &[], &[])
        .await
        .unwrap();
    store
        .create_window(
            &WindowSpec {
                scope: Scope::Node(alpha),
                schedule: Schedule::OneOff {
                    start: ts("2026-11-10T00:00:00Z"),
                    end: ts("2026-11-10T02:00:00Z"),
                },
                note: "router swap".into(),
                emergency: false,
            },
            ts("2026-11-01T00:00:00Z"),
            "ops",
            None,
        )
        .await
        .unwrap();
    nw
}

#[tokio::test]
async fn month_figures_golden() {
    let nw = prepared().await;
    let c = nw.config().contract(None).unwrap().clone();
    let oct = report::month_figures(
        &nw,
        &c,
        "2026-10".parse().unwrap(),
        ts("2027-06-01T00:00:00Z"),
    )
    .await
    .unwrap();
    let nov = report::month_figures(
        &nw,
        &c,
        "2026-11".parse().unwrap(),
        ts("2027-06-01T00:00:00Z"),
    )
    .await
    .unwrap();
    let a_oct = &oct.nodes[0];
    // October (Shanghai): watched from the 20th; the first 19 days are unknown.
    assert_eq!(a_oct.no_data_min, 19.0 * 1440.0);
    assert_eq!(
        a_oct.used_down_min, 10.0,
        "15:50-16:00Z is still October in Shanghai"
    );
    assert_eq!(a_oct.incidents, 1);
    let a = &nov.nodes[0];
    assert_eq!(
        a.incidents, 2,
        "the boundary incident counts in both months"
    );
    assert_eq!(a.used_down_min, 20.0 + 60.0);
    assert_eq!(a.maintenance_min, 120.0);
    assert_eq!(a.no_data_min, 0.0);
    let counted = 43_200.0 - 120.0;
    assert!((a.allowed_down_min - counted * 0.003).abs() < 1e-9);
    assert!((a.availability.unwrap() - 100.0 * (counted - 80.0) / counted).abs() < 1e-9);
    assert_eq!(a.met, Some(true));
    let b = &nov.nodes[1];
    assert_eq!(b.counts.degraded, 86_400, "a day, in seconds");
    assert_eq!(
        b.availability,
        Some(100.0),
        "DEGRADED counts as up by default"
    );
    // Regions: asia holds only alpha here.
    let asia = nov.regions.iter().find(|r| r.id == "asia").unwrap();
    assert_eq!(asia.counts, a.counts);
    assert_eq!(a.hours.len(), 720);
    assert_eq!(
        a.hours[(ts("2026-11-05T02:00:00Z").as_second() - nov.from.as_second()) as usize / 3600],
        SliceState::Down
    );
}

#[tokio::test]
async fn degraded_as_down_contract_misses() {
    let nw = prepared().await;
    let mut c = nw.config().contract(None).unwrap().clone();
    c.degraded_is_down = true;
    let nov = report::month_figures(
        &nw,
        &c,
        "2026-11".parse().unwrap(),
        ts("2027-06-01T00:00:00Z"),
    )
    .await
    .unwrap();
    let b = &nov.nodes[1];
    assert_eq!(b.used_down_min, 1440.0);
    assert_eq!(b.met, Some(false));
}

#[tokio::test]
async fn renderings_carry_the_figures() {
    let nw = prepared().await;
    let c = nw.config().contract(None).unwrap().clone();
    let nov = report::month_figures(
        &nw,
        &c,
        "2026-11".parse().unwrap(),
        ts("2027-06-01T00:00:00Z"),
    )
    .await
    .unwrap();
    let md = report::render(&nov, Format::Markdown);
    assert!(
        md.contains("# SLA report 2026-11 (contract default, months in Asia/Shanghai)"),
        "{md}"
    );
    assert!(
        md.contains(
            "| alpha | asia | 99.814% | 99.7% | met | 129.24 | 80.00 | 49.24 | 2 | 120.00 | 0.00 | alpha |"
        ),
        "{md}"
    );
    let csv = report::render(&nov, Format::Csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 2 + 2);
    assert!(
        lines[1].starts_with("node,alpha,alpha,asia,99.81"),
        "{}",
        lines[1]
    );
    let html = report::render(&nov, Format::Html);
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("<svg") && html.contains("#c62828"),
        "a red mark for the outage"
    );
}

#[tokio::test]
async fn contract_months_cross_dst_in_their_own_zone() {
    let nw = prepared().await;
    let mut c = nw.config().contract(None).unwrap().clone();
    c.tz = TimeZone::get("Europe/Rome").unwrap();
    let oct = report::month_figures(
        &nw,
        &c,
        "2026-10".parse().unwrap(),
        ts("2027-06-01T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(oct.from.to_string(), "2026-09-30T22:00:00Z");
    assert_eq!(
        oct.nodes[0].counts.total(),
        44_700 * 60,
        "31 days and one hour"
    );
    let mar = report::month_figures(
        &nw,
        &c,
        "2026-03".parse().unwrap(),
        ts("2027-06-01T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        mar.nodes[0].counts.total(),
        44_580 * 60,
        "31 days less one hour"
    );
    assert_eq!(mar.nodes[0].availability, None, "nothing measured in March");
    assert_eq!(mar.nodes[0].no_data_min, 44_580.0);
    assert_eq!(mar.nodes[0].met, None);
    assert_eq!(mar.nodes[0].hours.len(), 743);
}

/// A month in progress is judged against the whole month's allowance: early on nothing is
/// "MISSED" unless the downtime already exceeds what the month allows, the report says it is in
/// progress, and it gives the downtime still allowed.
#[tokio::test]
async fn a_month_in_progress_is_not_missed_early() {
    let nw = prepared().await;
    let c = nw.config().contract(None).unwrap().clone();
    // 6 November (Shanghai): alpha has had its 20-minute boundary outage and the one-hour
    // outage of the 5th, 80 minutes of the 129.6 that 99.7% of November (less two hours of
    // maintenance) allows.
    let now = ts("2026-11-06T00:00:00Z");
    let nov = report::month_figures(&nw, &c, "2026-11".parse().unwrap(), now)
        .await
        .unwrap();
    assert_eq!(nov.in_progress_at, Some(now));
    let a = &nov.nodes[0];
    let allowed = (43_200.0 - a.maintenance_min) * 0.003;
    assert!(
        (a.allowed_down_min - allowed).abs() < 1e-9,
        "{}",
        a.allowed_down_min
    );
    assert_eq!(a.met, None, "not judged before the month ends");
    let left = a.remaining_down_min.unwrap();
    assert!((left - (allowed - a.used_down_min)).abs() < 1e-9);
    let md = report::render(&nov, report::Format::Markdown);
    assert!(
        md.contains("IN PROGRESS as of 2026-11-06T00:00:00Z"),
        "{md}"
    );
    assert!(!md.contains("MISSED"), "{md}");
    // A stricter target already exceeded is missed at once, in progress or not.
    let mut strict = c.clone();
    strict.degraded_is_down = true;
    let nov = report::month_figures(&nw, &strict, "2026-11".parse().unwrap(), now)
        .await
        .unwrap();
    let b = &nov.nodes[1];
    assert!(b.used_down_min > b.allowed_down_min, "bravo's degraded day");
    assert_eq!(b.met, Some(false));
}

/// Summing slices per hour in the store (and walking only the edge hours and the hours under
/// maintenance) gives exactly what walking every slice gives, for ranges aligned and not.
#[tokio::test]
async fn hourly_sums_agree_with_walking_every_slice() {
    use rendan_netwatch::availability::{Counts, Stored, walk};
    use rendan_netwatch::maintenance::Overlay;
    let nw = prepared().await;
    let c = nw.config().contract(None).unwrap().clone();
    let history = nw.store().window_history().await.unwrap();
    for (from, to) in [
        ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("2026-11-04T23:30:00Z", "2026-11-10T01:30:00Z"),
        ("2026-11-09T22:00:30Z", "2026-11-10T03:00:00Z"),
        ("2026-10-19T00:00:00Z", "2026-10-21T00:00:00Z"),
    ] {
        let (from, to) = (ts(from), ts(to));
        let f = report::figures(&nw, &c, from, to, true, ts("2027-01-01T00:00:00Z"))
            .await
            .unwrap();
        let overlay = Overlay::new(
            &history,
            ts("2027-01-01T00:00:00Z"),
            nw.config().maintenance_notice,
        );
        let rows = nw
            .store()
            .slices(from.as_second() - 86_400, to.as_second())
            .await
            .unwrap();
        for n in &nw.config().nodes {
            let mut mine: Vec<Stored> = rows
                .iter()
                .filter(|r| r.node == n.id)
                .map(|r| Stored {
                    start: r.start,
                    len: i64::from(r.len_s),
                    state: r.measured,
                })
                .collect();
            mine.sort_by_key(|r| r.start);
            let cal = overlay.calendar(&n.id, &n.region, from, to);
            let mut want = Counts::default();
            walk(
                from.as_second(),
                to.as_second(),
                &mine,
                &cal,
                |_, secs, s| want.add(s, secs.max(0) as u64),
            );
            let got = f.nodes.iter().find(|l| l.id == n.id.as_str()).unwrap();
            assert_eq!(got.counts, want, "{} over {from}..{to}", n.id);
        }
    }
}
