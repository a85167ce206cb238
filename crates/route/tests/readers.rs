//! Readers: malformed files are rejected with the line of the fault; valid ones round-trip.

use rendan_route::check::check;
use rendan_route::error::ReadError;
use rendan_route::io::{Format, json, parse, vrplib};

const SOLOMON: &str = "TINY

VEHICLE
NUMBER     CAPACITY
  2         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE TIME

    0      40         50          0          0       1236          0
    1      45         68         10        912        967         90
    2      45         70         10        825        870         90
";

const VRPLIB: &str = "NAME : TINY
TYPE : CVRPTW
DIMENSION : 3
VEHICLES : 2
CAPACITY : 20
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 40 50
2 45 68
3 45 70
DEMAND_SECTION
1 0
2 10
3 10
TIME_WINDOW_SECTION
1 0 1236
2 912 967
3 825 870
SERVICE_TIME_SECTION
1 0
2 90
3 90
DEPOT_SECTION
1
-1
EOF
";

/// Expected outcome: the line of the error (0 = "unexpected end"), and a word of the message.
fn expect_err(text: &str, format: Format, line: usize, word: &str) {
    match parse(text, format) {
        Ok(_) => panic!("accepted, expected an error at line {line} mentioning {word:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(word), "{msg:?} should mention {word:?}");
            match e {
                ReadError::Line { line: l, .. } => assert_eq!(l, line, "{msg}"),
                ReadError::Truncated { .. } => assert_eq!(line, 0, "{msg}"),
                other => panic!("unexpected error kind {other:?}"),
            }
        }
    }
}

#[test]
fn valid_files_parse() {
    let s = parse(SOLOMON, Format::Solomon).unwrap();
    assert_eq!(
        (s.jobs.len(), s.vehicles.len(), s.vehicles[0].capacity[0]),
        (2, 2, 20.0)
    );
    assert_eq!(s.jobs[1].id, 2);
    assert_eq!(s.vehicles[0].shift.end, 1236.0);
    let v = parse(VRPLIB, Format::Vrplib).unwrap();
    assert_eq!(v.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(v.jobs[1].windows[0].start, 825.0);
    assert!((s.matrix.dist(0, 1) - v.matrix.dist(0, 1)).abs() < 1e-12);
}

#[test]
fn malformed_solomon_files() {
    let cases: &[(&str, String, usize, &str)] = &[
        (
            "truncated",
            SOLOMON.lines().take(5).collect::<Vec<_>>().join("\n"),
            0,
            "CUSTOMER",
        ),
        ("empty", String::new(), 0, "name"),
        (
            "no rows",
            SOLOMON.lines().take(9).collect::<Vec<_>>().join("\n"),
            0,
            "depot",
        ),
        (
            "non-numeric",
            SOLOMON.replace("45         68", "45         6x8"),
            11,
            "not a number",
        ),
        (
            "negative capacity",
            SOLOMON.replace("  2         20", "  2         -20"),
            5,
            "negative",
        ),
        (
            "window end before start",
            SOLOMON.replace("912        967", "967        912"),
            11,
            "before",
        ),
        (
            "missing depot",
            SOLOMON.replace("    0      40", "    7      40"),
            10,
            "missing depot",
        ),
        (
            "short row",
            SOLOMON.replace("       90\n    2", "\n    2"),
            11,
            "7 fields",
        ),
        (
            "duplicate",
            SOLOMON.replace("    2      45", "    1      45"),
            12,
            "twice",
        ),
        (
            "negative demand",
            SOLOMON.replace("10        825", "-10        825"),
            12,
            "negative",
        ),
        (
            "no VEHICLE block",
            SOLOMON.replace("VEHICLE\n", ""),
            3,
            "VEHICLE",
        ),
    ];
    for (name, text, line, word) in cases {
        eprintln!("case {name}");
        expect_err(text, Format::Solomon, *line, word);
    }
}

#[test]
fn malformed_vrplib_files() {
    let cases: &[(&str, String, usize, &str)] = &[
        (
            "truncated",
            VRPLIB.lines().take(12).collect::<Vec<_>>().join("\n"),
            0,
            "DEPOT_SECTION",
        ),
        (
            "non-numeric",
            VRPLIB.replace("2 45 68", "2 45 abc"),
            9,
            "not a number",
        ),
        (
            "negative capacity",
            VRPLIB.replace("CAPACITY : 20", "CAPACITY : -20"),
            5,
            "negative",
        ),
        (
            "window end before start",
            VRPLIB.replace("2 912 967", "2 967 912"),
            17,
            "before",
        ),
        (
            "missing depot",
            VRPLIB.replace("DEPOT_SECTION\n1\n", "DEPOT_SECTION\n"),
            0,
            "missing depot",
        ),
        (
            "node out of range",
            VRPLIB.replace("3 45 70", "9 45 70"),
            10,
            "outside",
        ),
        (
            "no dimension",
            VRPLIB.replace("DIMENSION : 3\n", ""),
            6,
            "DIMENSION",
        ),
    ];
    for (name, text, line, word) in cases {
        eprintln!("case {name}");
        expect_err(text, Format::Vrplib, *line, word);
    }
}

#[test]
fn json_problem_and_errors() {
    let ok = r#"{"name": "j", "locations": [[0,0],[3,4]],
        "jobs": [{"id": 5, "location": 1, "demand": [1, 0.2], "windows": [[0, 100]], "service": 2,
                  "skills": ["install"]}],
        "vehicles": [{"id": 1, "start": 0, "capacity": [10, 1], "shift": [0, 200], "skills": ["install"],
                      "count": 3}]}"#;
    let p = parse(ok, Format::Json).unwrap();
    assert_eq!((p.jobs.len(), p.vehicles.len(), p.dims), (1, 3, 2));
    assert!((p.matrix.dist(0, 1) - 5.0).abs() < 1e-12);
    let bad_syntax = ok.replace("\"service\": 2", "\"service\": ");
    let e = parse(&bad_syntax, Format::Json).unwrap_err().to_string();
    assert!(e.contains("line 2"), "{e}");
    let bad_window = ok.replace("[[0, 100]]", "[[100, 0]]");
    assert!(
        parse(&bad_window, Format::Json)
            .unwrap_err()
            .to_string()
            .contains("before its start")
    );
    let no_skill = ok.replace(
        "\"skills\": [\"install\"],\n                      \"count\"",
        "\"count\"",
    );
    let e = parse(&no_skill, Format::Json).unwrap();
    assert_eq!(e.unservable_jobs().len(), 1);
    assert!(e.unservable_jobs()[0].1.contains("lacks skill"));
    // A few bytes may not ask for millions of vehicles.
    let huge = ok.replace(
        "\"count\": 3",
        "\"count\": 60000}, {\"id\": 2, \"start\": 0, \"capacity\": [1, 1], \"count\": 60000",
    );
    let e = parse(&huge, Format::Json).unwrap_err().to_string();
    assert!(e.contains("more than 100000"), "{e}");
}

#[test]
fn unservable_job_is_explained() {
    // Job 2 opens at 1300, after the depot closes at 1236.
    let text = SOLOMON.replace("825        870", "1300        1400");
    let p = parse(&text, Format::Solomon).unwrap();
    let why = p.unservable_jobs();
    assert_eq!(why.len(), 1);
    assert_eq!(why[0].0, 2);
    assert!(why[0].1.contains("shift ends"), "{}", why[0].1);
    let heavy = SOLOMON.replace("10        825", "30        825");
    let p = parse(&heavy, Format::Solomon).unwrap();
    assert!(p.unservable_jobs()[0].1.contains("capacity"));
}

#[test]
fn solution_round_trip() {
    let doc = json::SolutionDoc {
        instance: "TINY".into(),
        objective: "distance".into(),
        vehicles: 1,
        distance: 12.5,
        cost: 12.5,
        feasible: true,
        elapsed_s: 0.1,
        iterations: 7,
        routes: vec![json::RouteDoc {
            vehicle: 1,
            jobs: vec![2, 1],
        }],
    };
    let text = json::write_solution(&doc);
    assert_eq!(json::parse_solution(&text).unwrap(), doc);
    assert!(json::parse_solution("{\"instance\": 3}").is_err());
    // The older positional form: route k is driven by vehicle k.
    let old = json::parse_solution("{\"routes\": [[], [2, 1]]}").unwrap();
    assert_eq!(old.routes[1].vehicle, 1);
    assert_eq!(old.routes[1].jobs, vec![2, 1]);
}

/// Two depots (nodes 1, 2), three clients, three vehicles with their own depot, capacity,
/// fixed cost (x100) and cost per distance (x100), a maximum duration for all.
const MULTI: &str = "NAME : MULTI
TYPE : MDVRPTW
DIMENSION : 5
VEHICLES : 3
VEHICLES_MAX_DURATION : 500
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 100 0
3 10 0
4 90 0
5 50 0
DEMAND_SECTION
1 0
2 0
3 5
4 6
5 7
TIME_WINDOW_SECTION
1 0 1000
2 0 800
3 0 1000
4 0 1000
5 0 1000
SERVICE_TIME_SECTION
1 0
2 0
3 10
4 10
5 10
CAPACITY_SECTION
1 15
2 20
3 20
VEHICLES_DEPOT_SECTION
1 1
2 2
3 1
VEHICLES_FIXED_COST_SECTION
1 1000
2 2000
3 2000
VEHICLES_UNIT_DISTANCE_COST_SECTION
1 100
2 150
3 100
DEPOT_SECTION
1
2
-1
EOF
";

#[test]
fn vrplib_with_depots_and_a_mixed_fleet() {
    let p = parse(MULTI, Format::Vrplib).unwrap();
    assert_eq!(
        p.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(p.vehicles.len(), 3);
    let v = &p.vehicles[1];
    assert_eq!((v.start, v.end), (1, 1));
    assert_eq!(v.capacity, vec![20.0]);
    assert_eq!((v.fixed_cost, v.unit_cost), (20.0, 1.5));
    assert_eq!(v.max_duration, Some(500.0));
    assert_eq!(v.shift.end, 800.0);
    assert_eq!(p.vehicle_types().len(), 3);
    // Vehicle 0 (depot 1) serves 3 then 5 and back: 10 + 40 + 50; vehicle 1 (depot 2) serves
    // job 4, 10 away: 20 at 1.5 per unit.
    let sol = vrplib::parse_solution("Route #1: 2 4\nRoute #2: 3\nRoute #3:\nCost: 123\n").unwrap();
    assert_eq!(sol.cost, Some(123.0));
    assert_eq!(sol.routes.len(), 2);
    assert_eq!(
        (sol.routes[1].vehicle, sol.routes[1].jobs.clone()),
        (1, vec![4])
    );
    let r = check(&p, &sol.routes);
    assert!(r.feasible, "{:?}", r.violations);
    assert!((r.distance - (100.0 + 20.0)).abs() < 1e-9, "{}", r.distance);
    assert!(
        (r.cost - (10.0 + 100.0 + 20.0 + 1.5 * 20.0)).abs() < 1e-9,
        "{}",
        r.cost
    );
}

#[test]
fn malformed_vehicle_sections() {
    let cases = [
        (
            MULTI.replace("2 2\n3 1", "2 3\n3 1"),
            37,
            "not in DEPOT_SECTION",
        ),
        (
            MULTI.replace("VEHICLES : 3", "VEHICLES : 2"),
            34,
            "beyond VEHICLES",
        ),
        (MULTI.replace("2 150", "2 -150"), 45, "negative"),
        (
            MULTI.replace("3 20\nVEHICLES_DEPOT", "VEHICLES_DEPOT"),
            0,
            "CAPACITY_SECTION row",
        ),
        (
            MULTI.replace("2 20\n3 20", "2 20\n2 20"),
            34,
            "listed twice",
        ),
        (MULTI.replace("2 2\n3 1", "2 2\n0 1"), 38, "vehicle 0"),
        (MULTI.replace("1\n2\n-1", "1\n1\n-1"), 49, "listed twice"),
        (
            MULTI.replace("VEHICLES_MAX_DURATION : 500", "VEHICLES_MAX_DURATION : x"),
            5,
            "not a number",
        ),
    ];
    for (text, line, word) in cases {
        expect_err(&text, Format::Vrplib, line, word);
    }
    let e = vrplib::parse_solution("Route 1: 2 3\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1"), "{e}");
    let e = vrplib::parse_solution("Route #1: 2 x\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("client"), "{e}");
}

#[test]
fn dimacs_distances_truncate_each_arc() {
    use rendan_route::io::{Distances, parse_with};
    let exact = parse(SOLOMON, Format::Solomon).unwrap();
    let dimacs = parse_with(SOLOMON, Format::Solomon, Distances::Dimacs).unwrap();
    // Depot (40,50) to (45,68): 18.6815... → 18.6.
    assert!((exact.matrix.dist(0, 1) - 18.681541692269406).abs() < 1e-12);
    assert_eq!(dimacs.matrix.dist(0, 1), 18.6);
    assert_eq!(dimacs.matrix.time(0, 1), 18.6);
}

/// The shared benchmark folders' best-known solutions re-evaluate to their published costs.
#[test]
fn published_solutions_check_out() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let cases = [
        ("mdvrptw/PR11A", 6655.548),
        ("mdvrptw/PR24A", 11638.608),
        ("hfvrp/X110-HD", 15859.34),
        ("hfvrp/X101-FSMFD", 35170.24),
    ];
    for (name, cost) in cases {
        let vrp = root.join(format!("{name}.vrp"));
        let p = match rendan_route::io::read_problem(&vrp, None) {
            Ok(p) => p,
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipped: {}: {e}", vrp.display());
                return;
            }
            Err(e) => panic!("{}: {e}", vrp.display()),
        };
        let text = std::fs::read_to_string(root.join(format!("{name}.sol"))).unwrap();
        let sol = vrplib::parse_solution(&text).unwrap();
        let r = check(&p, &sol.routes);
        assert!(r.feasible, "{name}: {:?}", r.violations);
        assert!((r.cost - cost).abs() < 0.01, "{name}: {} vs {cost}", r.cost);
    }
}

/// A problem written by `write_problem` reads back to the same problem.
#[test]
fn a_written_json_problem_reads_back_the_same() {
    let text = r#"{"locations": [[0, 0], [3, 4], [6, 8]],
        "jobs": [{"id": 7, "location": 1, "delivery": [95, 0.6], "pickup": [80, 0.5],
                  "windows": [[480, 600]], "service": 90, "skills": ["ac-certified"]},
                 {"id": 9, "location": 2, "delivery": [10, 0.1]}],
        "vehicles": [{"id": 1, "start": 0, "capacity": [1200, 18], "shift": [480, 1080],
                      "skills": ["ac-certified"], "count": 2, "max_duration": 500}]}"#;
    let p = rendan_route::io::json::parse_problem(text, rendan_route::io::Distances::Exact)
        .expect("reads");
    let again = rendan_route::io::json::parse_problem(
        &rendan_route::io::json::write_problem(&p),
        rendan_route::io::Distances::Exact,
    )
    .expect("reads back");
    assert_eq!(again.jobs[0], p.jobs[0]);
    assert_eq!(again.vehicles.len(), 2);
    assert_eq!(again.vehicles[1].shift, p.vehicles[1].shift);
    assert_eq!(again.matrix, p.matrix);
    assert_eq!(
        again.jobs[1].windows[0].end,
        f64::MAX,
        "unbounded written as the largest"
    );
}
