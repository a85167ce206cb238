//! Readers: malformed files are rejected with the line of the fault; valid ones round-trip.

use rendan_route::error::ReadError;
use rendan_route::io::{Format, json, parse};

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
        feasible: true,
        elapsed_s: 0.1,
        routes: vec![vec![2, 1]],
    };
    let text = json::write_solution(&doc);
    assert_eq!(json::parse_solution(&text).unwrap(), doc);
    assert!(json::parse_solution("{\"instance\": 3}").is_err());
}
