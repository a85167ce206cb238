//! The wire contract in one place: every constraint the API enforces on a request, written
//! once and used both by the checks the handlers run and by the OpenAPI document.
//!
//! The domain constructors (`NewOrder::new`, `Receipt::new`, `Role::parse`…) decide what a
//! value may be; this module states those rules as JSON Schema so that a generated client or
//! a fuzzer can build valid requests. The two cannot drift apart silently: the contract
//! tests drive every documented limit and pattern through the real validation, one value on
//! each side of the boundary. Values that depend on the topology (SKUs, sites, regions) are
//! named schemas whose enums [`complete`] fills from the topology the API serves.
//!
//! [`complete`] also adds to every operation the answers its inputs can produce (401 for the
//! bearer token, 400/413/415/422 for a JSON body, 400/422 for query parameters, 404 for a
//! path id, 400/409 for an `Idempotency-Key`), each as `application/problem+json`, and the
//! links from creating operations to the ones that read or act on what they created.

use rendan_domain::SiteKind;
use rendan_domain::order::{Channel, MAX_LINE_QTY, MAX_LINES, OrderStatus};
use rendan_domain::production::ProductionStatus;
use rendan_domain::stock::MAX_RECEIPT;
use rendan_domain::topology::Topology;
use rendan_domain::{Invalid, Invalids};
use std::borrow::Cow;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{
    ContentBuilder, KnownFormat, OpenApi, Ref, RefOr, Response, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// Characters `str::trim` removes (Unicode `White_Space`), as a regex class body.
const SPACE: &str = r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Control characters (`char::is_control`, Unicode `Cc`), as a regex class body.
const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";

/// Free text as the domain takes it: after trimming white space it is not empty and holds no
/// control character (white space around it, control or not, is trimmed away).
pub fn text_pattern() -> String {
    format!("^[{SPACE}]*[^{SPACE}{CONTROL}](?:[^{CONTROL}]*[^{SPACE}{CONTROL}])?[{SPACE}]*$")
}

/// A phone number: digits with optional `+ - ( ) .` and inner spaces, at least one digit.
pub fn phone_pattern() -> String {
    format!(r"^[{SPACE}]*(?:[+().\-][+ ().\-]*)?[0-9](?:[0-9+ ().\-]*[0-9+().\-])?[{SPACE}]*$")
}

/// A principal's name: 1-64 characters of a-z, 0-9 and '-'.
pub const SLUG_PATTERN: &str = "^[a-z0-9-]{1,64}$";
/// Longest principal name (also a site, node or region id).
pub const SLUG_MAX: usize = 64;
/// An `Idempotency-Key`: 1-255 visible ASCII characters.
pub const KEY_PATTERN: &str = "^[!-~]{1,255}$";
/// Longest `Idempotency-Key`.
pub const KEY_MAX: usize = 255;
/// Longest `external_ref`.
pub const EXTERNAL_REF_MAX: usize = 128;
/// Longest customer name.
pub const NAME_MAX: usize = 200;
/// Longest phone number.
pub const PHONE_MAX: usize = 40;
/// Longest street address.
pub const ADDRESS_MAX: usize = 500;
/// Longest receipt reference.
pub const REFERENCE_MAX: usize = 200;
/// Default page size of listings.
pub const LIMIT_DEFAULT: u32 = 50;
/// Largest page size of listings.
pub const LIMIT_MAX: u32 = 500;
/// A cursor as this API hands it out: a positive decimal without leading zeros.
pub const CURSOR_PATTERN: &str = "^[1-9][0-9]{0,17}$";

/// Refuses text longer than `max` characters as it arrives (the domain counts after
/// trimming; the contract promises the limit on what the client sends).
pub fn within(value: &str, max: usize, field: &str) -> Result<(), Invalid> {
    if value.chars().count() > max {
        Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// `validated`, or every field at fault in it and in `limits` (a field named by both once).
pub fn merge<T>(
    validated: Result<T, Invalids>,
    limits: impl IntoIterator<Item = Result<(), Invalid>>,
) -> Result<T, Invalids> {
    let long: Vec<Invalid> = limits.into_iter().filter_map(Result::err).collect();
    match validated {
        Ok(v) if long.is_empty() => Ok(v),
        other => {
            let mut errors = other.err().map(|e| e.0).unwrap_or_default();
            for e in long {
                if !errors.iter().any(|d| d.field == e.field) {
                    errors.push(e);
                }
            }
            Err(Invalids(errors))
        }
    }
}

/// Parses a page size (default [`LIMIT_DEFAULT`], 1..=[`LIMIT_MAX`]).
pub fn limit(value: Option<&str>) -> Result<u32, Invalid> {
    match value {
        None => Ok(LIMIT_DEFAULT),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=LIMIT_MAX).contains(n) && v.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                Invalid::new(
                    "limit",
                    format!("must be an integer between 1 and {LIMIT_MAX}"),
                )
            }),
    }
}

/// Parses a cursor ([`CURSOR_PATTERN`]).
pub fn cursor(value: Option<&str>) -> Result<Option<i64>, Invalid> {
    value
        .map(|c| {
            let canonical = !c.is_empty()
                && c.len() <= 18
                && !c.starts_with('0')
                && c.bytes().all(|b| b.is_ascii_digit());
            c.parse::<i64>()
                .ok()
                .filter(|_| canonical)
                .ok_or_else(|| Invalid::new("cursor", "not a cursor returned by this API"))
        })
        .transpose()
}

/// Reads a JSON integer. JSON Schema counts `7.0` as an integer, so a whole number written
/// with a fraction is one too; `1.5`, or a number beyond `i64`, is a type error (422).
pub fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Whole;

    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            // -2^63 and 2^63 are exact as f64; the range excludes the upper one.
            let bound = -(i64::MIN as f64);
            if v.fract() == 0.0 && (-bound..bound).contains(&v) {
                Ok(v as i64)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }

    d.deserialize_any(Whole)
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable(schema: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// Free text of 1..=`max` characters ([`text_pattern`]).
pub fn text(max: usize) -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(text_pattern()))
}

/// `OrderBody.external_ref`.
pub fn external_ref() -> RefOr<Schema> {
    text(EXTERNAL_REF_MAX)
        .description(Some("The channel's own reference, unique per channel"))
        .into()
}

/// `CustomerBody.name`.
pub fn customer_name() -> RefOr<Schema> {
    text(NAME_MAX).description(Some("Full name")).into()
}

/// `CustomerBody.phone`.
pub fn phone() -> RefOr<Schema> {
    string()
        .min_length(Some(1))
        .max_length(Some(PHONE_MAX))
        .pattern(Some(phone_pattern()))
        .description(Some("Phone number"))
        .into()
}

/// `CustomerBody.address`.
pub fn address() -> RefOr<Schema> {
    text(ADDRESS_MAX).description(Some("Street address")).into()
}

fn degrees(limit: f64, what: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
        .minimum(Some(-limit))
        .maximum(Some(limit))
        .description(Some(what))
        .into()
}

/// `CustomerBody.lat`.
pub fn latitude() -> RefOr<Schema> {
    degrees(90.0, "Latitude, degrees")
}

/// `CustomerBody.lon`.
pub fn longitude() -> RefOr<Schema> {
    degrees(180.0, "Longitude, degrees")
}

fn integer(min: i64, max: i64, what: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
        .description(Some(what))
        .into()
}

/// `LineBody.qty`.
pub fn line_qty() -> RefOr<Schema> {
    integer(1, i64::from(MAX_LINE_QTY), "Units")
}

/// `SiteAccessBody.floor`.
pub fn floor() -> RefOr<Schema> {
    integer(
        0,
        rendan_domain::visit::MAX_FLOOR,
        "Floor (0: ground floor)",
    )
}

/// `OrderBody.lines`.
pub fn lines() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("LineBody"))
        .min_items(Some(1))
        .max_items(Some(MAX_LINES))
        .description(Some("The lines, in the order they are served"))
        .into()
}

fn one_of(values: impl IntoIterator<Item = &'static str>, what: &str) -> RefOr<Schema> {
    string()
        .enum_values(Some(values))
        .description(Some(what))
        .into()
}

/// A channel's wire name.
pub fn channel() -> RefOr<Schema> {
    one_of(
        [Channel::Web, Channel::Marketplace, Channel::Store].map(|c| c.as_str()),
        "Origin channel",
    )
}

/// An order status.
pub fn order_status() -> RefOr<Schema> {
    one_of(OrderStatus::ALL.map(|s| s.as_str()), "Order status")
}

/// A production order status.
pub fn production_status() -> RefOr<Schema> {
    one_of(
        ProductionStatus::ALL.map(|s| s.as_str()),
        "Production order status",
    )
}

/// Why an order was given a promise.
pub fn promise_reason() -> RefOr<Schema> {
    one_of(["accepted", "replanned"], "Why the promise was given")
}

/// A product category, whose daily capacity a factory declares.
pub fn category() -> RefOr<Schema> {
    one_of(
        rendan_domain::catalogue::Category::ALL.map(|c| c.as_str()),
        "Product category",
    )
}

/// The roles a token may have.
pub const ROLES: [&str; 4] = ["admin", "planner", "channel", "crew"];

/// A role's wire name.
pub fn role() -> RefOr<Schema> {
    one_of(ROLES, "Role")
}

/// `ReceiptBody.qty`.
pub fn receipt_qty() -> RefOr<Schema> {
    integer(1, MAX_RECEIPT, "Units received")
}

/// `ReceiptBody.reference`.
pub fn reference() -> RefOr<Schema> {
    nullable(text(REFERENCE_MAX).description(Some("The delivery note or other document")))
}

/// A principal's name.
pub fn principal_name() -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(SLUG_MAX))
        .pattern(Some(SLUG_PATTERN))
}

/// `POST /tokens` body: only planners take a region, so two shapes, told apart by `role`.
pub fn token_body() -> RefOr<Schema> {
    let shape = |roles: &[&'static str], region: RefOr<Schema>| {
        ObjectBuilder::new()
            .property(
                "principal",
                nullable(principal_name().description(Some(
                    "The principal the token belongs to, created on first use; a new one with a generated name when absent",
                ))),
            )
            .property("role", one_of(roles.iter().copied(), "Role"))
            .required("role")
            .property("region", region)
    };
    let closed =
        |o: ObjectBuilder| o.additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let no_crew =
        |o: ObjectBuilder| closed(o.property("crew", ObjectBuilder::new().schema_type(Type::Null)));
    let null = || RefOr::from(ObjectBuilder::new().schema_type(Type::Null));
    OneOfBuilder::new()
        .item(no_crew(shape(&["admin", "channel"], null())))
        .item(no_crew(shape(
            &["planner"],
            nullable(Ref::from_schema_name(Region::name())),
        )))
        .item(closed(
            shape(&["crew"], null())
                .property(
                    "crew",
                    integer(1, i64::MAX, "The crew a crew token speaks for"),
                )
                .required("crew"),
        ))
        .description(Some(
            "A token for a principal; a planner may be limited to one region, a crew token \
             speaks for one crew",
        ))
        .into()
}

/// Query and path parameters and headers whose rules the API checks itself.
pub mod params {
    use super::*;

    /// A page size.
    pub struct Limit;

    impl PartialSchema for Limit {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(LIMIT_MAX))
                .default(Some(LIMIT_DEFAULT.into()))
                .into()
        }
    }

    impl ToSchema for Limit {}

    /// A cursor.
    pub struct Cursor;

    impl PartialSchema for Cursor {
        fn schema() -> RefOr<Schema> {
            string()
                .pattern(Some(CURSOR_PATTERN))
                .max_length(Some(18))
                .into()
        }
    }

    impl ToSchema for Cursor {}

    /// A resource id in a path.
    pub struct Id;

    impl PartialSchema for Id {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1))
                .into()
        }
    }

    impl ToSchema for Id {}

    /// An `Idempotency-Key` header.
    pub struct IdempotencyKey;

    impl PartialSchema for IdempotencyKey {
        fn schema() -> RefOr<Schema> {
            string()
                .min_length(Some(1))
                .max_length(Some(KEY_MAX))
                .pattern(Some(KEY_PATTERN))
                .into()
        }
    }

    impl ToSchema for IdempotencyKey {}

    /// An RFC 3339 timestamp.
    pub struct Instant;

    impl PartialSchema for Instant {
        fn schema() -> RefOr<Schema> {
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .into()
        }
    }

    impl ToSchema for Instant {}

    /// An order status filter.
    pub struct OrderStatusName;

    impl PartialSchema for OrderStatusName {
        fn schema() -> RefOr<Schema> {
            order_status()
        }
    }

    impl ToSchema for OrderStatusName {}

    /// A production status filter.
    pub struct ProductionStatusName;

    impl PartialSchema for ProductionStatusName {
        fn schema() -> RefOr<Schema> {
            production_status()
        }
    }

    impl ToSchema for ProductionStatusName {}

    /// A local date parameter.
    pub struct Date;

    impl PartialSchema for Date {
        fn schema() -> RefOr<Schema> {
            super::date()
        }
    }

    impl ToSchema for Date {}

    /// How service levels are grouped.
    pub struct GroupBy;

    impl PartialSchema for GroupBy {
        fn schema() -> RefOr<Schema> {
            string()
                .enum_values(Some(
                    rendan_domain::service::GroupBy::ALL.map(|g| g.as_str()),
                ))
                .default(Some("region".into()))
                .into()
        }
    }

    impl ToSchema for GroupBy {}

    /// The days of a slot query.
    pub struct Days;

    impl PartialSchema for Days {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(14))
                .default(Some(7.into()))
                .into()
        }
    }

    impl ToSchema for Days {}

    /// The seconds an optimisation may run.
    pub struct Seconds;

    impl PartialSchema for Seconds {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(10))
                .default(Some(10.into()))
                .into()
        }
    }

    impl ToSchema for Seconds {}

    /// A channel filter.
    pub struct ChannelName;

    impl PartialSchema for ChannelName {
        fn schema() -> RefOr<Schema> {
            channel()
        }
    }

    impl ToSchema for ChannelName {}
}

/// Declares a named schema whose values the topology gives (filled by [`complete`]).
macro_rules! topology_schema {
    ($ty:ident, $name:literal, $what:literal) => {
        #[doc = $what]
        pub struct $ty;

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string().description(Some($what)).into()
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

topology_schema!(Sku, "Sku", "A SKU of the catalogue");
topology_schema!(
    Site,
    "Site",
    "A site of the topology (factory, warehouse or depot)"
);
topology_schema!(Warehouse, "Warehouse", "A warehouse of the topology");
topology_schema!(Factory, "Factory", "A factory of the topology");
topology_schema!(Region, "Region", "A region of the topology");
topology_schema!(Depot, "Depot", "A delivery depot of the topology");
topology_schema!(Node, "Node", "A node of the company's network");

/// A contract of the network watch's settings, by name.
pub fn contract_name() -> RefOr<Schema> {
    principal_name()
        .description(Some("Contract name (default: the first)"))
        .into()
}

/// A contractual month, `YYYY-MM`.
pub fn month() -> RefOr<Schema> {
    string()
        .pattern(Some("^[0-9]{4}-(0[1-9]|1[0-2])$"))
        .max_length(Some(7))
        .description(Some("A month, YYYY-MM, in the contract's zone"))
        .into()
}

/// How an SLA report is rendered.
pub fn report_format() -> RefOr<Schema> {
    one_of(["json", "md", "csv", "html"], "Rendering of the report")
}

/// A yes/no query flag.
pub fn flag() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Boolean).into()
}

/// `MaintenanceBody.node`.
pub fn maintenance_node() -> RefOr<Schema> {
    nullable(Ref::from_schema_name(Node::name()))
}

/// `MaintenanceBody.region`.
pub fn maintenance_region() -> RefOr<Schema> {
    nullable(Ref::from_schema_name(Region::name()))
}

/// `MaintenanceBody.start` and `.end`.
pub fn maintenance_instant() -> RefOr<Schema> {
    nullable(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
}

/// `MaintenanceBody.note`.
pub fn maintenance_note() -> RefOr<Schema> {
    string()
        .pattern(Some("^[\\s\\S]*$"))
        .max_length(Some(500))
        .description(Some("Free text, e.g. the change ticket"))
        .into()
}

/// `MaintenanceBody.weekly`.
pub fn maintenance_weekly() -> RefOr<Schema> {
    const DAYS: [&str; 14] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    ];
    nullable(
        ObjectBuilder::new()
            .property("weekday", one_of(DAYS, "Day of the week in tz"))
            .required("weekday")
            .property("at", time_of_day())
            .required("at")
            .property(
                "duration",
                string()
                    .pattern(Some("^([0-9]{1,6}(ms|s|m|h|d))+$"))
                    .max_length(Some(32))
                    .description(Some("Length, e.g. 2h or 1h30m; at most a week")),
            )
            .required("duration")
            .property(
                "tz",
                string()
                    .pattern(Some("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"))
                    .max_length(Some(64))
                    .description(Some("IANA zone, e.g. Europe/Rome")),
            )
            .required("tz")
            .additional_properties(Some(AdditionalProperties::FreeForm(false))),
    )
}

/// A local date, `YYYY-MM-DD`.
pub const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// A local time of day, `HH:MM`.
pub const TIME_PATTERN: &str = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

/// A local date.
pub fn date() -> RefOr<Schema> {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(DATE_PATTERN))
        .max_length(Some(10))
        .into()
}

/// A local time of day.
pub fn time_of_day() -> RefOr<Schema> {
    string()
        .pattern(Some(TIME_PATTERN))
        .max_length(Some(5))
        .description(Some("Local time at the depot, HH:MM"))
        .into()
}

/// A skill a crew holds or a job needs.
pub fn skill() -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(40))
        .pattern(Some("^[a-z][a-z0-9-]{0,39}$"))
}

/// `CrewBody.skills`.
pub fn skills() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(skill())
        .min_items(Some(0))
        .max_items(Some(rendan_domain::crew::SKILLS_MAX))
        .description(Some("What the crew is certified for"))
        .into()
}

/// `CrewBody.name`.
pub fn crew_name() -> RefOr<Schema> {
    text(rendan_domain::crew::NAME_MAX)
        .description(Some("Unique at its depot"))
        .into()
}

/// A truck's payload or volume.
pub fn truck_capacity() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
        .exclusive_minimum(Some(0.0))
        .minimum(Some(0.0))
        .maximum(Some(100_000.0))
        .into()
}

/// `CrewBody.days_off`.
pub fn days_off() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(date())
        .min_items(Some(0))
        .max_items(Some(rendan_domain::crew::DAYS_OFF_MAX))
        .description(Some("Dates the crew does not work"))
        .into()
}

/// A refused visit's reason.
pub fn refusal_reason() -> RefOr<Schema> {
    one_of(
        [
            "not_ready",
            "skills",
            "weight",
            "volume",
            "shift",
            "window_full",
            "published",
            "state",
            "area",
        ],
        "Why",
    )
}

/// A plan's status.
pub fn plan_status() -> RefOr<Schema> {
    one_of(
        ["draft", "published"],
        "Whether the day still takes bookings",
    )
}

fn named_enum(values: Vec<String>, what: &str) -> RefOr<Schema> {
    string()
        .enum_values(Some(values))
        .description(Some(what))
        .into()
}

fn sites(topology: &Topology, kind: Option<SiteKind>) -> Vec<String> {
    topology
        .sites()
        .iter()
        .filter(|s| kind.is_none_or(|k| s.kind == k))
        .map(|s| s.id.to_string())
        .collect()
}

fn problem() -> Response {
    ResponseBuilder::new()
        .description("A problem naming the field at fault (`errors` lists every one)")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// What a status means when the operation's inputs alone can produce it.
fn generic(status: &str) -> &'static str {
    match status {
        "400" => {
            "The request cannot be read: malformed JSON, an unknown or repeated query parameter, a missing or malformed Idempotency-Key"
        }
        "401" => "No valid bearer token",
        "404" => "No such resource (or not visible to this token)",
        "409" => "The Idempotency-Key was used for another request",
        "413" => "The body exceeds 1 MiB",
        "415" => "The body is not application/json",
        "422" => "A value breaks a rule; `errors` names every field at fault",
        _ => "Problem",
    }
}

fn add_problem(op: &mut Operation, status: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            let mut r = problem();
            r.description = generic(status).to_string();
            RefOr::T(r)
        });
}

/// Adds to `op` every status its inputs can answer.
fn add_input_statuses(op: &mut Operation) {
    let params = op.parameters.iter().flatten().filter_map(|p| match p {
        RefOr::T(p) => Some(p),
        RefOr::Ref(_) => None,
    });
    let (mut query, mut path, mut key) = (false, false, false);
    for p in params {
        match p.parameter_in {
            ParameterIn::Query => query = true,
            ParameterIn::Path => path = true,
            ParameterIn::Header if p.name == "Idempotency-Key" => key = true,
            _ => {}
        }
    }
    let mut statuses = vec!["401"];
    if op.request_body.is_some() {
        statuses.extend(["400", "413", "415", "422"]);
    }
    if query {
        statuses.extend(["400", "422"]);
    }
    if path {
        statuses.push("404");
    }
    if key {
        statuses.extend(["400", "409"]);
    }
    for s in statuses {
        add_problem(op, s);
    }
}

/// Links from a response of a creating operation to the operations on what it created.
fn links(
    op_id: &str,
) -> Vec<(
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
)> {
    // (link name, statuses, target operationId, runtime expression of the target's `id`)
    match op_id {
        "createOrder" => vec![
            (
                "GetOrder",
                &["201", "200"],
                "getOrder",
                "$response.body#/id",
            ),
            (
                "CancelOrder",
                &["201", "200"],
                "cancelOrder",
                "$response.body#/id",
            ),
            (
                "CompleteFirstLine",
                &["201", "200"],
                "completeProduction",
                "$response.body#/lines/0/fulfilment/production_order",
            ),
            ("Slots", &["201", "200"], "orderSlots", "$response.body#/id"),
            ("Book", &["201", "200"], "bookVisit", "$response.body#/id"),
        ],
        "cancelOrder" => vec![("GetOrder", &["200"], "getOrder", "$response.body#/id")],
        "bookVisit" => vec![
            (
                "GetAppointment",
                &["201", "200"],
                "getAppointment",
                "$response.body#/order",
            ),
            (
                "CancelVisit",
                &["201", "200"],
                "cancelVisit",
                "$response.body#/order",
            ),
        ],
        "listProductionOrders" => vec![(
            "CompleteFirst",
            &["200"],
            "completeProduction",
            "$response.body#/items/0/id",
        )],
        "completeProduction" => {
            vec![("GetOrder", &["200"], "getOrder", "$response.body#/order/id")]
        }
        "listOrders" => vec![(
            "GetFirst",
            &["200"],
            "getOrder",
            "$response.body#/items/0/id",
        )],
        "createWebhook" => vec![(
            "Deliveries",
            &["201", "200"],
            "webhookDeliveries",
            "$response.body#/id",
        )],
        "createToken" => vec![(
            "RevokeToken",
            &["201", "200"],
            "revokeToken",
            "$response.body#/id",
        )],
        _ => Vec::new(),
    }
}

fn add_links(op: &mut Operation) {
    let Some(id) = op.operation_id.clone() else {
        return;
    };
    for (name, statuses, target, expr) in links(&id) {
        for status in statuses {
            if let Some(RefOr::T(r)) = op.responses.responses.get_mut(*status) {
                r.links.insert(
                    name.to_string(),
                    RefOr::T(
                        LinkBuilder::new()
                            .operation_id(target)
                            .parameter("id", expr)
                            .build(),
                    ),
                );
            }
        }
    }
}

/// Completes the generated document: the topology's values, the statuses every operation's
/// inputs can produce, and the links.
pub fn complete(doc: &mut OpenApi, topology: &Topology) {
    let components = doc.components.get_or_insert_with(Default::default);
    let skus = topology
        .products()
        .iter()
        .map(|p| p.sku.to_string())
        .collect();
    let regions = topology.regions().iter().map(ToString::to_string).collect();
    for (name, schema) in [
        (Sku::name(), named_enum(skus, "A SKU of the catalogue")),
        (
            Site::name(),
            named_enum(sites(topology, None), "A site of the topology"),
        ),
        (
            Warehouse::name(),
            named_enum(
                sites(topology, Some(SiteKind::Warehouse)),
                "A warehouse of the topology",
            ),
        ),
        (
            Factory::name(),
            named_enum(
                sites(topology, Some(SiteKind::Factory)),
                "A factory of the topology",
            ),
        ),
        (
            Region::name(),
            named_enum(regions, "A region of the topology"),
        ),
        (
            Depot::name(),
            named_enum(
                sites(topology, Some(SiteKind::Depot)),
                "A delivery depot of the topology",
            ),
        ),
        (
            Node::name(),
            named_enum(
                topology.nodes().iter().map(|n| n.id.to_string()).collect(),
                "A node of the company's network",
            ),
        ),
    ] {
        components.schemas.insert(name.into_owned(), schema);
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            item.get.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            add_input_statuses(op);
            add_links(op);
        }
    }
}

/// A device-chosen UUID, hyphenated.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// `StopEventBody.event_id`.
pub fn event_id() -> RefOr<Schema> {
    string()
        .pattern(Some(UUID_PATTERN))
        .max_length(Some(36))
        .description(Some(
            "Chosen by the device: the same id again is a retry and changes nothing",
        ))
        .into()
}

/// `StopEventBody.kind`.
pub fn stop_kind() -> RefOr<Schema> {
    one_of(
        rendan_domain::stop::StopEventKind::ALL.map(|k| k.as_str()),
        "What happened at the stop",
    )
}

/// `StopEventBody.reason`.
pub fn failure_reason() -> RefOr<Schema> {
    one_of(
        rendan_domain::stop::FailureReason::ALL.map(|r| r.as_str()),
        "Why the visit failed: customer_absent, access_impossible and refused are the \
         customer's doing, the others the company's",
    )
}

/// An instant with its offset (RFC 3339).
pub fn instant() -> RefOr<Schema> {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339 with its offset, by the device's clock"))
        .into()
}

/// A SHA-256 digest in hex.
pub fn sha256() -> RefOr<Schema> {
    string()
        .pattern(Some("^[0-9a-fA-F]{64}$"))
        .max_length(Some(64))
        .description(Some("SHA-256, 64 hex digits"))
        .into()
}

/// `WebhookBody.url`.
pub fn webhook_url() -> RefOr<Schema> {
    string()
        .pattern(Some("^https?://[^/?#\\s]+[^\\s]*$"))
        .max_length(Some(rendan_domain::webhook::URL_MAX))
        .description(Some("Where deliveries are POSTed (http or https)"))
        .into()
}

/// `WebhookBody.secret`.
pub fn webhook_secret() -> RefOr<Schema> {
    string()
        .pattern(Some("^[\\s\\S]*$"))
        .min_length(Some(rendan_domain::webhook::SECRET_MIN))
        .max_length(Some(rendan_domain::webhook::SECRET_MAX))
        .description(Some(
            "The HMAC-SHA256 key of the Rendan-Signature header; never shown again",
        ))
        .into()
}

/// `WebhookBody.events`.
pub fn webhook_events() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(order_status())
        .min_items(Some(1))
        .max_items(Some(OrderStatus::ALL.len()))
        .unique_items(true)
        .description(Some("The order statuses whose changes are delivered"))
        .into()
}

/// `WebhookBody.channel`.
pub fn webhook_channel() -> RefOr<Schema> {
    nullable(principal_name().description(Some(
        "The channel whose orders it follows: required from an admin, the caller's own for a channel",
    )))
}
