//! The OpenAPI document is the contract clients and fuzzers build requests from. These tests
//! walk it: every operation documents what its inputs can answer, every value a handler
//! validates carries its constraint, creating operations link to reading ones; and each
//! documented limit and pattern is driven through the real validation, one value on each side
//! of the boundary, so that the document and the behaviour cannot drift apart.

use regex::Regex;
use rendan_api::{CustomerBody, LineBody, OrderBody, contract, to_new_order};
use rendan_domain::stock::Receipt;
use rendan_domain::topology::Topology;
use serde_json::Value;

fn topology() -> Topology {
    rendan_topology::load(None)
        .expect("default topology")
        .topology
}

fn doc() -> Value {
    serde_json::to_value(rendan_api::openapi(&topology())).expect("document as JSON")
}

/// Resolves `#/components/schemas/X` references.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every operation as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            ops.push((method.to_uppercase(), path.clone(), op));
        }
    }
    ops
}

fn params<'a>(op: &'a Value, place: &str) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["in"] == place).collect())
        .unwrap_or_default()
}

#[test]
fn every_operation_documents_what_its_inputs_can_answer() {
    let doc = doc();
    let ops = operations(&doc);
    assert_eq!(ops.len(), 42, "one entry per operation");
    for (method, path, op) in ops {
        let name = format!("{method} {path}");
        let mut expected = vec!["401"];
        if op.get("requestBody").is_some() {
            expected.extend(["400", "413", "415", "422"]);
        }
        if !params(op, "query").is_empty() {
            expected.extend(["400", "422"]);
        }
        if !params(op, "path").is_empty() {
            expected.push("404");
        }
        let key = params(op, "header")
            .into_iter()
            .find(|p| p["name"] == "Idempotency-Key");
        // A stop event carries its own key: the device's `event_id`.
        let keyed_body = path.starts_with("/stops/");
        if method == "POST" && !keyed_body {
            let key = key.unwrap_or_else(|| panic!("{name}: every POST takes an Idempotency-Key"));
            assert_eq!(key["required"], true, "{name}");
            expected.extend(["400", "409"]);
        } else if method == "POST" {
            expected.extend(["400", "409"]);
        }
        let responses = op["responses"].as_object().expect("responses");
        for status in expected {
            assert!(
                responses.contains_key(status),
                "{name} does not document {status}"
            );
        }
        for (status, response) in responses {
            if status.starts_with('4') {
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{name} {status} is not a problem+json Problem"
                );
            }
        }
        assert!(
            op["operationId"].as_str().is_some_and(|id| !id.is_empty()),
            "{name} has no operationId"
        );
    }
    let problem = &doc["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["errors"].is_object(), "{problem}");
}

/// A leaf of a request schema that the API validates must say how: an enum, a pattern, a
/// format, or bounds.
fn check_constrained(doc: &Value, schema: &Value, at: &str, seen: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = schema[key].as_array() {
            for (i, s) in items.iter().enumerate() {
                check_constrained(doc, s, &format!("{at}/{key}{i}"), seen);
            }
            return;
        }
    }
    let kind = schema["type"].as_str().unwrap_or("");
    match kind {
        "object" => {
            assert_eq!(
                schema["additionalProperties"], false,
                "{at}: unknown fields are refused, the document must say so"
            );
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                check_constrained(doc, prop, &format!("{at}.{name}"), seen);
            }
        }
        "array" => {
            assert!(schema["minItems"].is_u64(), "{at}: no minItems");
            assert!(schema["maxItems"].is_u64(), "{at}: no maxItems");
            check_constrained(doc, &schema["items"], &format!("{at}[]"), seen);
        }
        "string" => {
            let enumerated = schema["enum"].as_array().is_some_and(|e| !e.is_empty());
            let patterned = schema["pattern"].is_string() && schema["maxLength"].is_u64();
            assert!(
                enumerated || patterned || schema["format"] == "date-time",
                "{at}: a validated string needs an enum, a pattern and maxLength, or a format: {schema}"
            );
        }
        "integer" | "number" => {
            assert!(schema["minimum"].is_number(), "{at}: no minimum: {schema}");
            assert!(
                schema["maximum"].is_number() || schema["format"] == "int64",
                "{at}: no maximum: {schema}"
            );
        }
        // Two values: nothing left to constrain.
        "null" | "boolean" => {}
        other => panic!("{at}: unexpected schema type {other:?}: {schema}"),
    }
    seen.push(at.to_string());
}

#[test]
fn every_validated_input_carries_its_constraint() {
    let doc = doc();
    let mut seen = Vec::new();
    for (method, path, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let at = format!("{method} {path} {} {}", p["in"], p["name"]);
            check_constrained(&doc, &p["schema"], &at, &mut seen);
        }
        if let Some(body) = op.get("requestBody") {
            let schema = &body["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{method} {path}: body is not JSON");
            check_constrained(&doc, schema, &format!("{method} {path} body"), &mut seen);
        }
    }
    // The walk reached the fields it is meant to check (a schema turned into a bare `{}`
    // would otherwise pass unnoticed).
    for field in [
        "POST /orders body.channel",
        "POST /orders body.external_ref",
        "POST /orders body.customer.phone",
        "POST /orders body.customer.lat",
        "POST /orders body.lines[].sku",
        "POST /orders body.lines[].qty",
        "POST /orders body.lines",
        "POST /stock/receipts body.site",
        "POST /stock/receipts body.qty",
        "POST /stock/receipts body.reference/oneOf0",
        "POST /tokens body/oneOf1.region/oneOf0",
        "GET /orders \"query\" \"region\"",
        "GET /orders \"query\" \"status\"",
        "GET /orders \"query\" \"limit\"",
        "GET /orders \"query\" \"cursor\"",
        "GET /production-orders \"query\" \"factory\"",
        "GET /stock \"query\" \"sku\"",
        "POST /orders \"header\" \"Idempotency-Key\"",
        "GET /orders/{id} \"path\" \"id\"",
    ] {
        assert!(
            seen.iter().any(|s| s == field),
            "{field} not reached: {seen:#?}"
        );
    }
}

#[test]
fn topology_values_are_enums_of_the_served_topology() {
    let doc = doc();
    let topology = topology();
    let schemas = &doc["components"]["schemas"];
    let values = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum"))
            .iter()
            .map(|v| v.as_str().expect("string").to_string())
            .collect()
    };
    assert_eq!(values("Sku").len(), topology.products().len());
    assert_eq!(values("Site").len(), topology.sites().len());
    assert_eq!(values("Region").len(), topology.regions().len());
    for w in values("Warehouse") {
        let receipt = Receipt::new(&topology, &w, &values("Sku")[0], 1, None);
        assert!(receipt.is_ok(), "documented warehouse {w} refused");
    }
    for f in values("Factory") {
        let refused = Receipt::new(&topology, &f, &values("Sku")[0], 1, None);
        assert!(refused.is_err(), "a factory {f} took a receipt");
    }
}

#[test]
fn creating_operations_link_to_reading_ones() {
    let doc = doc();
    let ids: Vec<String> = operations(&doc)
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str().map(String::from))
        .collect();
    let link = |path: &str, method: &str, status: &str, name: &str| {
        let l = &doc["paths"][path][method]["responses"][status]["links"][name];
        let target = l["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} {status} has no link {name}"));
        assert!(ids.iter().any(|i| i == target), "{name} → unknown {target}");
        l["parameters"]["id"]
            .as_str()
            .expect("id expression")
            .to_string()
    };
    assert_eq!(
        link("/orders", "post", "201", "GetOrder"),
        "$response.body#/id"
    );
    assert_eq!(
        link("/orders", "post", "200", "GetOrder"),
        "$response.body#/id"
    );
    assert_eq!(
        link("/orders", "post", "201", "CancelOrder"),
        "$response.body#/id"
    );
    assert_eq!(
        link("/orders", "post", "201", "CompleteFirstLine"),
        "$response.body#/lines/0/fulfilment/production_order"
    );
    assert_eq!(
        link("/orders/{id}/appointment", "post", "201", "GetAppointment"),
        "$response.body#/order"
    );
    assert_eq!(
        link("/orders/{id}/appointment", "post", "201", "CancelVisit"),
        "$response.body#/order"
    );
    assert_eq!(
        link("/production-orders", "get", "200", "CompleteFirst"),
        "$response.body#/items/0/id"
    );
    assert_eq!(
        link(
            "/production-orders/{id}/complete",
            "post",
            "200",
            "GetOrder"
        ),
        "$response.body#/order/id"
    );
    assert_eq!(
        link("/tokens", "post", "201", "RevokeToken"),
        "$response.body#/id"
    );
}

fn prop<'a>(doc: &'a Value, schema: &str, field: &str) -> &'a Value {
    resolve(
        doc,
        &doc["components"]["schemas"][schema]["properties"][field],
    )
}

fn max_len(doc: &Value, schema: &str, field: &str) -> usize {
    prop(doc, schema, field)["maxLength"]
        .as_u64()
        .unwrap_or_else(|| panic!("{schema}.{field} has no maxLength")) as usize
}

fn good_order() -> OrderBody {
    OrderBody {
        channel: "web".into(),
        external_ref: "W-1".into(),
        customer: CustomerBody {
            name: "Ana Rossi".into(),
            phone: "+39 0332 123456".into(),
            address: "Via Roma 1".into(),
            lat: 45.8,
            lon: 8.85,
        },
        lines: vec![LineBody {
            sku: "TV-LED-43".into(),
            qty: 1,
        }],
        site_access: None,
    }
}

/// The fields `to_new_order` names for `body`, or none when it accepts it.
fn refused(body: &OrderBody) -> Vec<String> {
    match to_new_order(body) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|i| i.field).collect(),
    }
}

#[test]
fn documented_limits_are_the_enforced_ones() {
    let doc = doc();
    assert!(refused(&good_order()).is_empty());
    type Set = fn(&mut OrderBody, String);
    let texts: [(&str, &str, &str, Set); 4] = [
        ("OrderBody", "external_ref", "external_ref", |b, v| {
            b.external_ref = v
        }),
        ("CustomerBody", "name", "customer.name", |b, v| {
            b.customer.name = v
        }),
        ("CustomerBody", "address", "customer.address", |b, v| {
            b.customer.address = v
        }),
        ("CustomerBody", "phone", "customer.phone", |b, v| {
            b.customer.phone = v
        }),
    ];
    for (schema, field, path, set) in texts {
        let max = max_len(&doc, schema, field);
        let fill = if field == "phone" { "5" } else { "é" };
        let mut at = good_order();
        set(&mut at, fill.repeat(max));
        assert!(refused(&at).is_empty(), "{path}: {max} characters refused");
        let mut over = good_order();
        set(&mut over, fill.repeat(max + 1));
        assert_eq!(
            refused(&over),
            [path],
            "{path}: {} characters taken",
            max + 1
        );
        // Padding counts: the limit is on what the client sends.
        let mut padded = good_order();
        set(&mut padded, format!(" {} ", fill.repeat(max - 1)));
        assert_eq!(
            refused(&padded),
            [path],
            "{path}: padded past the limit taken"
        );
    }
    let bound = |schema: &str, field: &str, key: &str| -> f64 {
        prop(&doc, schema, field)[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{schema}.{field} has no {key}"))
    };
    for (field, path) in [("lat", "customer.lat"), ("lon", "customer.lon")] {
        for (key, step) in [("minimum", -1e-9), ("maximum", 1e-9)] {
            let edge = bound("CustomerBody", field, key);
            let mut at = good_order();
            let mut over = good_order();
            if field == "lat" {
                at.customer.lat = edge;
                over.customer.lat = edge + step;
            } else {
                at.customer.lon = edge;
                over.customer.lon = edge + step;
            }
            // At the edge the point is valid; whether a warehouse serves it is another rule.
            assert!(!refused(&at).contains(&path.to_string()), "{path} = {edge}");
            assert_eq!(refused(&over), [path], "{path} = {}", edge + step);
        }
    }
    for (key, step) in [("minimum", -1), ("maximum", 1)] {
        let edge = bound("LineBody", "qty", key) as i64;
        let mut at = good_order();
        at.lines[0].qty = edge;
        assert!(refused(&at).is_empty(), "qty = {edge}");
        let mut over = good_order();
        over.lines[0].qty = edge + step;
        assert_eq!(refused(&over), ["lines[0].qty"]);
    }
    let lines = &doc["components"]["schemas"]["OrderBody"]["properties"]["lines"];
    let max_lines = lines["maxItems"].as_u64().expect("maxItems") as usize;
    let mut at = good_order();
    at.lines = vec![at.lines[0].clone(); max_lines];
    assert!(refused(&at).is_empty(), "{max_lines} lines refused");
    at.lines.push(at.lines[0].clone());
    assert_eq!(refused(&at), ["lines"]);
    at.lines.clear();
    assert_eq!(refused(&at), ["lines"]);
    for value in prop(&doc, "OrderBody", "channel")["enum"]
        .as_array()
        .expect("channel enum")
    {
        let mut at = good_order();
        at.channel = value.as_str().expect("string").into();
        assert!(refused(&at).is_empty(), "channel {value} refused");
    }
    let mut other = good_order();
    other.channel = "fax".into();
    assert_eq!(refused(&other), ["channel"]);

    let topology = topology();
    let receipt = |qty: i64, reference: Option<&str>| {
        Receipt::new(&topology, "wh-varese", "TV-LED-43", qty, reference)
    };
    let qty_max = bound("ReceiptBody", "qty", "maximum") as i64;
    assert!(receipt(qty_max, None).is_ok());
    assert!(receipt(qty_max + 1, None).is_err());
    assert!(receipt(bound("ReceiptBody", "qty", "minimum") as i64 - 1, None).is_err());
    let reference = &doc["components"]["schemas"]["ReceiptBody"]["properties"]["reference"];
    let max = reference["oneOf"][0]["maxLength"]
        .as_u64()
        .expect("maxLength") as usize;
    // Characters, not bytes: 200 Hangul syllables are 600 bytes.
    assert!(
        receipt(1, Some(&"한".repeat(max))).is_ok(),
        "reference of {max} characters"
    );
    assert!(contract::within(&"한".repeat(max + 1), max, "reference").is_err());
}

/// Strings a fuzzer is likely to try against a text field, beside ordinary ones.
const SAMPLES: &[&str] = &[
    "Ana",
    "W-1",
    " padded ",
    "\tTabbed\n",
    "a\tb",
    "a\u{1}b",
    "\u{7f}",
    "\u{85}x\u{85}",
    "x\u{9f}",
    "\u{a0}",
    "\u{3000}名\u{3000}",
    "\u{1c}x",
    "x\u{1f}",
    "",
    " ",
    "\n",
    "한국어",
    "a b",
    "+39 0332 123456",
    "(02) 555-0100",
    "+",
    "-",
    "5",
    " 5 ",
    "12.34",
    "1 2",
    "5x",
    "\u{2028}5",
    "5\u{200b}",
    "+ (0) 5",
    "5 ",
    "٣",
    "x\u{0}",
    "  \u{2003}a\u{2003}  ",
];

fn matches(pattern: &str, value: &str) -> bool {
    Regex::new(pattern)
        .expect("a valid pattern")
        .is_match(value)
}

#[test]
fn documented_patterns_accept_exactly_what_the_domain_accepts() {
    let doc = doc();
    let text = prop(&doc, "OrderBody", "external_ref")["pattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    let phone = prop(&doc, "CustomerBody", "phone")["pattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    for value in SAMPLES {
        let mut body = good_order();
        body.external_ref = value.to_string();
        assert_eq!(
            matches(&text, value),
            refused(&body).is_empty(),
            "external_ref {value:?}: the pattern and the domain disagree"
        );
        let mut body = good_order();
        body.customer.phone = value.to_string();
        assert_eq!(
            matches(&phone, value),
            refused(&body).is_empty(),
            "phone {value:?}: the pattern and the domain disagree"
        );
    }
    let key = contract::KEY_PATTERN;
    for value in [
        "k",
        "k-1",
        "a b",
        "",
        "ü",
        &"x".repeat(255),
        &"x".repeat(256),
    ] {
        assert_eq!(
            matches(key, value),
            rendan_domain::idempotency::Key::parse(value, "Idempotency-Key").is_ok(),
            "Idempotency-Key {value:?}"
        );
    }
    for value in [
        "1",
        "42",
        "0",
        "01",
        "-1",
        "+5",
        "",
        "x",
        &"9".repeat(18),
        &"9".repeat(19),
    ] {
        assert_eq!(
            matches(contract::CURSOR_PATTERN, value),
            contract::cursor(Some(value)).is_ok(),
            "cursor {value:?}"
        );
    }
    for value in [
        "admin",
        "shop-eu",
        "Shop",
        "a_b",
        "",
        &"a".repeat(64),
        &"a".repeat(65),
    ] {
        assert_eq!(
            matches(contract::SLUG_PATTERN, value),
            rendan_domain::access::PrincipalName::parse(value, "principal").is_ok(),
            "principal {value:?}"
        );
    }
    for value in ["1", "500", "0", "501", "050", "+5", "", "x"] {
        let n: Option<u32> = value
            .parse()
            .ok()
            .filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
        let documented = n.is_some_and(|n| (1..=contract::LIMIT_MAX).contains(&n));
        assert_eq!(
            documented,
            contract::limit(Some(value)).is_ok(),
            "limit {value:?}"
        );
    }
}

/// Regression (schemathesis): `"qty": 7263.0` is an integer to JSON Schema, and was refused
/// with 422 as a float.
#[test]
fn whole_numbers_written_with_a_fraction_are_integers() {
    let line = |qty: &str| {
        serde_json::from_str::<LineBody>(&format!(r#"{{"sku": "TV-LED-43", "qty": {qty}}}"#))
    };
    assert_eq!(line("7263.0").expect("a whole number").qty, 7263);
    assert_eq!(line("7263").expect("an integer").qty, 7263);
    assert_eq!(line("-2.0").expect("a whole number").qty, -2);
    for refused in ["1.5", "1e300", "18446744073709551615", "\"2\"", "null"] {
        assert!(line(refused).is_err(), "qty {refused} taken");
    }
}

#[test]
fn the_documented_booking_horizon_is_the_enforced_one() {
    let doc = doc();
    let horizon = format!("{} days ahead", rendan_usecases::delivery::HORIZON_DAYS);
    let from = doc["paths"]["/orders/{id}/slots"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "from")
        .expect("from")["description"]
        .as_str()
        .expect("description")
        .to_string();
    assert!(from.contains(&horizon), "{from}");
    let booking =
        doc["paths"]["/orders/{id}/appointment"]["post"]["responses"]["422"]["description"]
            .as_str()
            .expect("description")
            .to_string();
    assert!(booking.contains(&horizon), "{booking}");
}
