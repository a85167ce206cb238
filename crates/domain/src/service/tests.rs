//! Golden vectors: a hand-computed December in three time zones. Every expected figure below
//! was worked out on paper from the visits described beside it.

use super::*;
use crate::LatLon;
use crate::stop::{EventId, StopEvent, StopEventKind, fold};
use jiff::civil::{Time, date};

const ROME: &str = "Europe/Rome"; // UTC+1 in winter
const NEW_YORK: &str = "America/New_York"; // UTC-5
const TOKYO: &str = "Asia/Tokyo"; // UTC+9

struct Visit {
    order: i64,
    zone: &'static str,
    day: Date,
    window: (i8, i8),
    ordered: &'static str,
    promised: Date,
    categories: Vec<Category>,
    /// (kind, local time HH:MM on `day`, reason)
    events: Vec<(StopEventKind, &'static str, Option<FailureReason>)>,
}

fn record(v: Visit) -> VisitRecord {
    let zone = TimeZone::get(v.zone).expect("zone");
    let events: Vec<StopEvent> = v
        .events
        .iter()
        .enumerate()
        .map(|(i, &(kind, at, reason))| {
            let t: Time = at.parse().expect("time");
            StopEvent {
                id: EventId((v.order as u128) << 8 | i as u128),
                kind,
                at: v
                    .day
                    .to_datetime(t)
                    .to_zoned(zone.clone())
                    .expect("local")
                    .timestamp(),
                location: LatLon::new(45.0, 9.0, "").expect("location"),
                reason,
                proof: None,
            }
        })
        .collect();
    let (region, depot) = match v.zone {
        ROME => ("europe", "dp-varese"),
        NEW_YORK => ("americas", "dp-newyork"),
        _ => ("asia", "dp-tokyo"),
    };
    VisitRecord {
        order: v.order,
        region: Region::parse(region, "region").expect("region"),
        depot: SiteId::parse(depot, "depot").expect("depot"),
        zone: zone.clone(),
        crew: v.order % 2 + 1,
        categories: v.categories,
        date: v.day,
        window: Window {
            start: Time::constant(v.window.0, 0, 0, 0),
            end: Time::constant(v.window.1, 0, 0, 0),
        },
        ordered_at: v.ordered.parse().expect("ordered_at"),
        promised: v.promised,
        state: fold(&events),
    }
}

use FailureReason::*;
use StopEventKind::*;

fn wm() -> Vec<Category> {
    vec![Category::WashingMachine]
}

fn december() -> Vec<VisitRecord> {
    let installed = |arrive: &'static str, done: &'static str| {
        vec![
            (Arrived, arrive, None),
            (Delivered, arrive, None),
            (Installed, done, None),
        ]
    };
    let failed = |arrive: &'static str, r: FailureReason| {
        vec![(Arrived, arrive, None), (Failed, arrive, Some(r))]
    };
    [
        // 1: on time, installed first time, two days before the promise; two categories.
        Visit {
            order: 1,
            zone: ROME,
            day: date(2026, 12, 3),
            window: (10, 12),
            ordered: "2026-12-01T09:00:00Z",
            promised: date(2026, 12, 5),
            categories: vec![Category::WashingMachine, Category::Television],
            events: installed("10:05", "11:00"),
        },
        // 2: arrives five minutes before the window ends and installs after it: on time.
        // Installed on the promised day itself: kept.
        Visit {
            order: 2,
            zone: ROME,
            day: date(2026, 12, 4),
            window: (10, 12),
            ordered: "2026-11-30T09:00:00Z",
            promised: date(2026, 12, 4),
            categories: wm(),
            events: installed("11:55", "12:40"),
        },
        // 3: one minute late (on time only with a tolerance), promise missed by a day.
        Visit {
            order: 3,
            zone: ROME,
            day: date(2026, 12, 7),
            window: (10, 12),
            ordered: "2026-12-02T09:00:00Z",
            promised: date(2026, 12, 6),
            categories: wm(),
            events: installed("12:01", "13:00"),
        },
        // 4: nobody home on the first visit (customer), installed on the second after the
        // promise: excluded from on time (first visit), first visit and promise.
        Visit {
            order: 4,
            zone: ROME,
            day: date(2026, 12, 8),
            window: (10, 12),
            ordered: "2026-12-01T09:00:00Z",
            promised: date(2026, 12, 9),
            categories: wm(),
            events: failed("10:30", CustomerAbsent),
        },
        Visit {
            order: 4,
            zone: ROME,
            day: date(2026, 12, 10),
            window: (14, 16),
            ordered: "2026-12-01T09:00:00Z",
            promised: date(2026, 12, 9),
            categories: wm(),
            events: installed("14:10", "15:00"),
        },
        // 5: goods damaged on the first visit (company): a first-visit miss; installed on the
        // second, before the promise.
        Visit {
            order: 5,
            zone: ROME,
            day: date(2026, 12, 11),
            window: (8, 10),
            ordered: "2026-12-05T09:00:00Z",
            promised: date(2026, 12, 20),
            categories: wm(),
            events: failed("08:30", DamagedInTransit),
        },
        Visit {
            order: 5,
            zone: ROME,
            day: date(2026, 12, 15),
            window: (10, 12),
            ordered: "2026-12-05T09:00:00Z",
            promised: date(2026, 12, 20),
            categories: wm(),
            events: installed("10:20", "11:00"),
        },
        // 8: the crew never reported anything: not on time, not installed.
        Visit {
            order: 8,
            zone: ROME,
            day: date(2026, 12, 20),
            window: (10, 12),
            ordered: "2026-12-10T09:00:00Z",
            promised: date(2026, 12, 22),
            categories: wm(),
            events: vec![],
        },
        // 9: refused at the door (customer): excluded from on time and first visit.
        Visit {
            order: 9,
            zone: ROME,
            day: date(2026, 12, 21),
            window: (10, 12),
            ordered: "2026-12-10T09:00:00Z",
            promised: date(2026, 12, 22),
            categories: wm(),
            events: failed("10:40", Refused),
        },
        // 6: New York, the evening of 30 November local (already 1 December in UTC): a
        // November visit, not a December one.
        Visit {
            order: 6,
            zone: NEW_YORK,
            day: date(2026, 11, 30),
            window: (18, 20),
            ordered: "2026-11-25T15:00:00Z",
            promised: date(2026, 11, 30),
            categories: wm(),
            events: installed("19:10", "19:50"),
        },
        // 7: Tokyo, the morning of 1 December local (still 30 November in UTC): December.
        // Ordered on 28 November local: three days.
        Visit {
            order: 7,
            zone: TOKYO,
            day: date(2026, 12, 1),
            window: (8, 10),
            ordered: "2026-11-28T01:00:00Z",
            promised: date(2026, 12, 1),
            categories: wm(),
            events: installed("08:15", "09:00"),
        },
    ]
    .into_iter()
    .map(record)
    .collect()
}

fn rate(met: u32, total: u32) -> Rate {
    Rate { met, total }
}

#[test]
fn a_december_by_region_matches_the_hand_computation() {
    let figures = measure(
        &december(),
        date(2026, 12, 1),
        date(2026, 12, 31),
        GroupBy::Region,
        SignedDuration::ZERO,
    );
    assert_eq!(
        figures.keys().collect::<Vec<_>>(),
        ["asia", "europe"],
        "New York's visit was on 30 November local"
    );
    let eu = &figures["europe"];
    assert_eq!(eu.visits, 9);
    assert_eq!(
        eu.on_time,
        rate(5, 7),
        "1, 2, 4b, 5a, 5b on time; 3 late; 8 silent"
    );
    assert_eq!(eu.first_visit, rate(3, 5), "1, 2, 3 of 1, 2, 3, 5, 8");
    assert_eq!(eu.promise_kept, rate(3, 4), "1, 2, 5 of 1, 2, 3, 5");
    assert_eq!(eu.lead_days, [2, 4, 5, 9, 10]);
    assert_eq!(eu.lead_quantile(0.5), Some(5));
    assert_eq!(eu.lead_quantile(0.9), Some(10));
    assert_eq!(
        eu.customer,
        CustomerMisses {
            on_time: 2,
            first_visit: 2,
            promise_kept: 1,
            by_reason: [(CustomerAbsent, 1), (Refused, 1)].into_iter().collect(),
        }
    );
    assert_eq!(
        eu.failures,
        [(CustomerAbsent, 1), (Refused, 1), (DamagedInTransit, 1)]
            .into_iter()
            .collect()
    );
    let asia = &figures["asia"];
    assert_eq!(
        (
            asia.visits,
            asia.on_time,
            asia.first_visit,
            asia.promise_kept
        ),
        (1, rate(1, 1), rate(1, 1), rate(1, 1))
    );
    assert_eq!(asia.lead_days, [3]);
}

#[test]
fn a_tolerance_widens_the_window() {
    let figures = measure(
        &december(),
        date(2026, 12, 1),
        date(2026, 12, 31),
        GroupBy::Region,
        SignedDuration::from_mins(5),
    );
    assert_eq!(
        figures["europe"].on_time,
        rate(6, 7),
        "3 is one minute late"
    );
}

#[test]
fn november_holds_the_new_york_evening() {
    let figures = measure(
        &december(),
        date(2026, 11, 1),
        date(2026, 11, 30),
        GroupBy::Depot,
        SignedDuration::ZERO,
    );
    assert_eq!(figures.keys().collect::<Vec<_>>(), ["dp-newyork"]);
    let ny = &figures["dp-newyork"];
    assert_eq!((ny.on_time, ny.promise_kept), (rate(1, 1), rate(1, 1)));
    assert_eq!(ny.lead_days, [5]);
}

#[test]
fn categories_count_an_order_in_each_of_its_categories() {
    let figures = measure(
        &december(),
        date(2026, 12, 1),
        date(2026, 12, 3),
        GroupBy::Category,
        SignedDuration::ZERO,
    );
    assert_eq!(figures["television"].visits, 1);
    assert_eq!(figures["washing-machine"].visits, 2, "orders 1 and 7");
}

#[test]
fn the_figures_do_not_depend_on_the_order_of_the_records() {
    let mut records = december();
    let reference = measure(
        &records,
        date(2026, 12, 1),
        date(2026, 12, 31),
        GroupBy::Crew,
        SignedDuration::ZERO,
    );
    records.reverse();
    assert_eq!(
        measure(
            &records,
            date(2026, 12, 1),
            date(2026, 12, 31),
            GroupBy::Crew,
            SignedDuration::ZERO
        ),
        reference
    );
}

#[test]
fn months_are_parsed_to_their_first_and_last_day() {
    assert_eq!(
        month("2026-02", "month"),
        Ok((date(2026, 2, 1), date(2026, 2, 28)))
    );
    assert_eq!(
        month("2026-12", "month"),
        Ok((date(2026, 12, 1), date(2026, 12, 31)))
    );
    for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
        assert_eq!(month(bad, "month").unwrap_err().field, "month", "{bad}");
    }
}
