//! What crews report from the door, and what it means for the visit.
//!
//! Crews work offline: their events reach rendan late, duplicated and out of order. Every
//! event is kept; the state of a visit is [`fold`]ed from the *set* of its events, so the same
//! events in any order, with any duplicates, give the same state:
//!
//! - events are taken in device-time order (ties broken by event id), duplicates of one id once;
//! - the outcome is the highest one any event supports on the scale pending < arrived <
//!   delivered < failed < installed: a crew that reports an installation did install, so an
//!   `installed` event outranks a `failed` one, except when the failure says the goods were
//!   damaged or wrong (those goods cannot have been installed, and the `installed` is flagged);
//! - a failure's reason is that of the earliest `failed` event;
//! - an event that contradicts the outcome (a failure of an installed visit, anything but a
//!   haul-away after the failure of a failed one) or repeats a kind already reported is kept and
//!   flagged, and changes nothing.
//!
//! [`reconcile`] then says what the change from the outcome already applied to the new one does
//! to the order and to its goods. Outcomes only rise, so an order moves forward only; the one
//! step back is a visit recorded as failed with its goods intact that a late `installed` shows
//! was installed after all.

use crate::appointment::Window;
use crate::order::{OrderEvent, OrderStatus};
use crate::{Invalid, Invalids, LatLon, SiteId};
use jiff::Timestamp;
use jiff::civil::Date;

/// What a crew reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StopEventKind {
    /// The crew is at the door.
    Arrived,
    /// The goods were handed over.
    Delivered,
    /// The goods were installed.
    Installed,
    /// The old appliance was collected for disposal.
    HaulAwayCollected,
    /// The visit failed (with a reason).
    Failed,
}

impl StopEventKind {
    /// Every kind.
    pub const ALL: [StopEventKind; 5] = [
        StopEventKind::Arrived,
        StopEventKind::Delivered,
        StopEventKind::Installed,
        StopEventKind::HaulAwayCollected,
        StopEventKind::Failed,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StopEventKind::Arrived => "arrived",
            StopEventKind::Delivered => "delivered",
            StopEventKind::Installed => "installed",
            StopEventKind::HaulAwayCollected => "haul_away_collected",
            StopEventKind::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "expected arrived, delivered, installed, haul_away_collected or failed, \
                         got {value:?}"
                    ),
                )
            })
    }
}

/// Who caused a failed visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// The customer: excluded from the service rates and listed beside them.
    Customer,
    /// The company: counts against the service rates.
    Company,
}

impl Cause {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::Customer => "customer",
            Cause::Company => "company",
        }
    }
}

/// Why a visit failed: a closed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// Nobody at home.
    CustomerAbsent,
    /// The crew could not get the goods in (stairs, door, no parking).
    AccessImpossible,
    /// The customer refused the goods.
    Refused,
    /// The goods were damaged on the way.
    DamagedInTransit,
    /// The truck carried the wrong item.
    WrongItem,
    /// The crew came too late to be let in.
    CrewLate,
    /// The truck broke down.
    VehicleBreakdown,
    /// The crew lacked a skill the installation needs.
    MissingSkill,
}

impl FailureReason {
    /// Every reason, customer-caused first.
    pub const ALL: [FailureReason; 8] = [
        FailureReason::CustomerAbsent,
        FailureReason::AccessImpossible,
        FailureReason::Refused,
        FailureReason::DamagedInTransit,
        FailureReason::WrongItem,
        FailureReason::CrewLate,
        FailureReason::VehicleBreakdown,
        FailureReason::MissingSkill,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureReason::CustomerAbsent => "customer_absent",
            FailureReason::AccessImpossible => "access_impossible",
            FailureReason::Refused => "refused",
            FailureReason::DamagedInTransit => "damaged_in_transit",
            FailureReason::WrongItem => "wrong_item",
            FailureReason::CrewLate => "crew_late",
            FailureReason::VehicleBreakdown => "vehicle_breakdown",
            FailureReason::MissingSkill => "missing_skill",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(FailureReason::as_str).collect();
                Invalid::new(
                    field,
                    format!("expected one of {}, got {value:?}", names.join(", ")),
                )
            })
    }

    /// Who caused it.
    pub fn cause(&self) -> Cause {
        match self {
            FailureReason::CustomerAbsent
            | FailureReason::AccessImpossible
            | FailureReason::Refused => Cause::Customer,
            _ => Cause::Company,
        }
    }

    /// The goods the crew carried cannot be sold or installed any more: they go to the depot's
    /// returns stock and the order needs replacement goods.
    pub fn goods_unusable(&self) -> bool {
        matches!(
            self,
            FailureReason::DamagedInTransit | FailureReason::WrongItem
        )
    }
}

/// A SHA-256 digest, as 64 lowercase hex digits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Parses 64 hex digits (either case).
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        let bytes = value.as_bytes();
        if bytes.len() != 64 {
            return Err(Invalid::new(
                field,
                format!("expected 64 hex digits, got {} characters", bytes.len()),
            ));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
                _ => return Err(Invalid::new(field, "expected hex digits 0-9, a-f")),
            }
        }
        Ok(Digest(out))
    }

    /// The lowercase hex form.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a crew keeps as proof of a delivery or installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Proof {
    /// Digest of the photo taken at the door.
    pub photo_sha256: Option<Digest>,
    /// Digest of the customer's signature.
    pub signature_sha256: Option<Digest>,
}

/// A stop event's identifier: a UUID chosen by the device, so that a retry is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u128);

impl EventId {
    /// Parses a UUID in its hyphenated form (either case).
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new(field, format!("expected a UUID, got {value:?}"));
        let groups: Vec<&str> = value.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lengths != [8, 4, 4, 4, 12] {
            return Err(bad());
        }
        let hex: String = groups.concat();
        u128::from_str_radix(&hex, 16)
            .ok()
            .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(EventId)
            .ok_or_else(bad)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

/// One event from a crew, valid on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopEvent {
    /// Chosen by the device; the same id again is a retry.
    pub id: EventId,
    /// What happened.
    pub kind: StopEventKind,
    /// When, by the device's clock.
    pub at: Timestamp,
    /// Where the device was.
    pub location: LatLon,
    /// Why the visit failed (only and always for `failed`).
    pub reason: Option<FailureReason>,
    /// Proof kept by the crew, if any.
    pub proof: Option<Proof>,
}

/// A stop event as it arrives, before validation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawStopEvent<'a> {
    /// `event_id`.
    pub event_id: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `at`, RFC 3339.
    pub at: &'a str,
    /// `lat`.
    pub lat: f64,
    /// `lon`.
    pub lon: f64,
    /// `reason`.
    pub reason: Option<&'a str>,
    /// `proof.photo_sha256`.
    pub photo_sha256: Option<&'a str>,
    /// `proof.signature_sha256`.
    pub signature_sha256: Option<&'a str>,
    /// Whether a `proof` object was sent.
    pub proof: bool,
}

impl StopEvent {
    /// Validates an event; every field at fault is reported at once.
    pub fn new(raw: RawStopEvent<'_>) -> Result<StopEvent, Invalids> {
        let mut errors = Vec::new();
        let mut keep = Keep(&mut errors);
        let id = keep.push(EventId::parse(raw.event_id, "event_id"));
        let kind = keep.push(StopEventKind::parse(raw.kind, "kind"));
        let at = keep.push(raw.at.parse::<Timestamp>().map_err(|_| {
            Invalid::new(
                "at",
                format!(
                    "expected an RFC 3339 time with its offset, got {:?}",
                    raw.at
                ),
            )
        }));
        let location = keep.push(LatLon::new(raw.lat, raw.lon, ""));
        let reason = match (kind, raw.reason) {
            (Some(StopEventKind::Failed), None) => {
                keep.push(Err(Invalid::new("reason", "a failed visit needs a reason")))
            }
            (Some(StopEventKind::Failed), Some(r)) => keep.push(FailureReason::parse(r, "reason")),
            (Some(_), Some(_)) => keep.push(Err(Invalid::new(
                "reason",
                "only a failed visit takes a reason",
            ))),
            _ => None,
        };
        let photo = raw
            .photo_sha256
            .and_then(|v| keep.push(Digest::parse(v, "proof.photo_sha256")));
        let signature = raw
            .signature_sha256
            .and_then(|v| keep.push(Digest::parse(v, "proof.signature_sha256")));
        match (id, kind, at, location) {
            (Some(id), Some(kind), Some(at), Some(location)) if errors.is_empty() => {
                Ok(StopEvent {
                    id,
                    kind,
                    at,
                    location,
                    reason: reason.filter(|_| kind == StopEventKind::Failed),
                    proof: raw.proof.then_some(Proof {
                        photo_sha256: photo,
                        signature_sha256: signature,
                    }),
                })
            }
            _ => Err(Invalids(errors)),
        }
    }
}

/// Collects validation errors while keeping the values that passed.
struct Keep<'e>(&'e mut Vec<Invalid>);

impl Keep<'_> {
    fn push<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

/// Where a visit stands, on the scale outcomes only rise along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Nothing reported yet.
    Pending,
    /// The crew is at the door.
    Arrived,
    /// The goods were handed over.
    Delivered,
    /// The visit failed.
    Failed(FailureReason),
    /// Delivered and installed.
    Installed,
}

impl Outcome {
    /// The wire name (a failure's reason is reported beside it).
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Arrived => "arrived",
            Outcome::Delivered => "delivered",
            Outcome::Failed(_) => "failed",
            Outcome::Installed => "installed",
        }
    }

    /// Parses a stored outcome and its reason.
    pub fn parse(value: &str, reason: Option<&str>) -> Result<Self, Invalid> {
        match (value, reason) {
            ("pending", None) => Ok(Outcome::Pending),
            ("arrived", None) => Ok(Outcome::Arrived),
            ("delivered", None) => Ok(Outcome::Delivered),
            ("installed", None) => Ok(Outcome::Installed),
            ("failed", Some(r)) => Ok(Outcome::Failed(FailureReason::parse(r, "reason")?)),
            _ => Err(Invalid::new(
                "outcome",
                format!("unknown outcome {value:?} with reason {reason:?}"),
            )),
        }
    }

    /// The failure's reason, if it failed.
    pub fn reason(&self) -> Option<FailureReason> {
        match self {
            Outcome::Failed(r) => Some(*r),
            _ => None,
        }
    }
}

/// Why an event was kept without effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// An earlier event of the same kind was reported.
    Repeated,
    /// It contradicts the visit's outcome.
    ContradictsOutcome,
}

impl Flag {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Flag::Repeated => "repeated",
            Flag::ContradictsOutcome => "contradicts_outcome",
        }
    }
}

/// A visit's state, folded from its events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StopState {
    /// The outcome; `None` when no event came yet.
    pub outcome: Option<Outcome>,
    /// The earliest event of any kind (a crew that forgets `arrived` was there when it
    /// reported anything else).
    pub arrived_at: Option<Timestamp>,
    /// When the goods were handed over (the installation, when no `delivered` came).
    pub delivered_at: Option<Timestamp>,
    /// When it was installed.
    pub installed_at: Option<Timestamp>,
    /// When it failed.
    pub failed_at: Option<Timestamp>,
    /// When the old appliance was collected.
    pub haul_away_at: Option<Timestamp>,
    /// Events kept without effect, in device-time order.
    pub flagged: Vec<(EventId, Flag)>,
}

impl StopState {
    /// The outcome, `Pending` when nothing was reported.
    pub fn outcome(&self) -> Outcome {
        self.outcome.unwrap_or(Outcome::Pending)
    }
}

/// Folds a visit's events into its state; see the module docs. The result depends only on
/// the set of events, never on their order or repetitions.
pub fn fold(events: &[StopEvent]) -> StopState {
    let mut sorted: Vec<&StopEvent> = events.iter().collect();
    sorted.sort_by_key(|e| (e.at, e.id));
    sorted.dedup_by_key(|e| e.id);
    let first = |kind: StopEventKind| sorted.iter().find(|e| e.kind == kind).copied();
    let failed = first(StopEventKind::Failed);
    let installed = first(StopEventKind::Installed);
    let delivered = first(StopEventKind::Delivered);
    let outcome = match (installed, failed) {
        (Some(_), Some(f)) if f.reason.is_some_and(|r| r.goods_unusable()) => {
            Outcome::Failed(f.reason.unwrap_or(FailureReason::DamagedInTransit))
        }
        (Some(_), _) => Outcome::Installed,
        (None, Some(f)) => Outcome::Failed(f.reason.unwrap_or(FailureReason::CustomerAbsent)),
        (None, None) if delivered.is_some() => Outcome::Delivered,
        (None, None) if !sorted.is_empty() => Outcome::Arrived,
        (None, None) => Outcome::Pending,
    };
    let mut state = StopState {
        outcome: (!sorted.is_empty()).then_some(outcome),
        arrived_at: sorted.first().map(|e| e.at),
        delivered_at: delivered.or(installed).map(|e| e.at),
        installed_at: installed.map(|e| e.at),
        failed_at: failed.map(|e| e.at),
        haul_away_at: first(StopEventKind::HaulAwayCollected).map(|e| e.at),
        flagged: Vec::new(),
    };
    let mut seen = Vec::new();
    for e in &sorted {
        let contradicts = match outcome {
            Outcome::Installed => e.kind == StopEventKind::Failed,
            Outcome::Failed(_) => {
                e.kind == StopEventKind::Installed
                    || (e.kind != StopEventKind::Failed
                        && e.kind != StopEventKind::HaulAwayCollected
                        && state.failed_at.is_some_and(|f| e.at > f))
            }
            _ => false,
        };
        if contradicts {
            state.flagged.push((e.id, Flag::ContradictsOutcome));
        } else if seen.contains(&e.kind) {
            state.flagged.push((e.id, Flag::Repeated));
        }
        seen.push(e.kind);
    }
    if outcome == Outcome::Installed {
        state.failed_at = None;
    }
    if matches!(outcome, Outcome::Failed(_)) {
        state.installed_at = None;
        state.delivered_at = delivered
            .map(|e| e.at)
            .filter(|&d| Some(d) <= state.failed_at);
    }
    state
}

/// What has been done about a visit so far: the outcome applied and whether the old
/// appliance was received into returns stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The outcome last applied to the order.
    pub outcome: Outcome,
    /// The haul-away was received.
    pub haul_away_received: bool,
}

/// What happens to the goods when a visit's outcome changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goods {
    /// Nothing moves.
    Stay,
    /// They come back with the crew to the warehouse they were issued from, reserved for the
    /// order again.
    Return,
    /// They come back unusable into the depot's returns stock; the order needs replacements.
    ReturnUnusable,
    /// Goods returned after a failure leave again: the visit was installed after all.
    IssueAgain,
}

/// The consequences of moving a visit from what was applied to its new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consequence {
    /// The order's transition, if any (`FailVisit`'s `all_ready` is decided by the caller
    /// once replacements are placed; `true` here).
    pub order: Option<OrderEvent>,
    /// What the goods do.
    pub goods: Goods,
    /// Receive the collected old appliance into returns stock.
    pub receive_haul_away: bool,
    /// The outcome now applied.
    pub applied: Applied,
}

/// A visit whose new outcome can no longer be applied: the order has moved on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the order is {} now; the visit's outcome {} can no longer change it", .status.as_str(), .outcome.as_str())]
pub struct MovedOn {
    /// The order's state.
    pub status: OrderStatus,
    /// The outcome that could not be applied.
    pub outcome: Outcome,
}

/// Decides what the change from `applied` to `next` does, for an order now in `status`.
pub fn reconcile(
    applied: Applied,
    next: &StopState,
    status: OrderStatus,
) -> Result<Consequence, MovedOn> {
    let to = next.outcome();
    let from = applied.outcome;
    let (order, goods) = match (from, to) {
        _ if from == to => (None, Goods::Stay),
        (Outcome::Failed(_), Outcome::Failed(_)) => (None, Goods::Stay),
        (_, Outcome::Pending | Outcome::Arrived) => (None, Goods::Stay),
        (Outcome::Pending | Outcome::Arrived, Outcome::Delivered) => {
            (Some(OrderEvent::Deliver), Goods::Stay)
        }
        (Outcome::Pending | Outcome::Arrived | Outcome::Delivered, Outcome::Installed) => {
            (Some(OrderEvent::Install), Goods::Stay)
        }
        (Outcome::Pending | Outcome::Arrived | Outcome::Delivered, Outcome::Failed(r)) => (
            Some(OrderEvent::FailVisit { all_ready: true }),
            if r.goods_unusable() {
                Goods::ReturnUnusable
            } else {
                Goods::Return
            },
        ),
        (Outcome::Failed(r), Outcome::Installed) if !r.goods_unusable() => {
            (Some(OrderEvent::Install), Goods::IssueAgain)
        }
        // Outcomes only rise; anything else cannot come out of `fold`.
        _ => (None, Goods::Stay),
    };
    // A failure already sent the order back to booking: only an order still waiting for its
    // next visit can take the late installation, not one out again on another visit.
    let retracts = matches!(from, Outcome::Failed(_));
    let waiting = matches!(status, OrderStatus::Ready | OrderStatus::Scheduled);
    let mut changed = to;
    if let Some(event) = order
        && (status.apply(event).is_err() || (retracts && !waiting))
    {
        if from == Outcome::Delivered || matches!(from, Outcome::Failed(_)) {
            return Err(MovedOn {
                status,
                outcome: to,
            });
        }
        changed = from;
    }
    let delivered = matches!(changed, Outcome::Delivered | Outcome::Installed);
    let receive_haul_away = delivered && next.haul_away_at.is_some() && !applied.haul_away_received;
    Ok(Consequence {
        order: if changed == to { order } else { None },
        goods: if changed == to { goods } else { Goods::Stay },
        receive_haul_away,
        applied: Applied {
            outcome: changed,
            haul_away_received: applied.haul_away_received || receive_haul_away,
        },
    })
}

/// A visit that went out on a published day: the appointment as it was dispatched, and what
/// its stop events have done so far. An order has one per attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The order visited.
    pub order: i64,
    /// The depot whose crew went.
    pub depot: SiteId,
    /// The local date of the visit.
    pub date: Date,
    /// The booked window.
    pub window: Window,
    /// The crew that went.
    pub crew: i64,
    /// Its position in the crew's route.
    pub position: usize,
    /// When the order went out for delivery.
    pub dispatched_at: Timestamp,
    /// What its events have done so far.
    pub applied: Applied,
    /// Why its events' latest outcome could not change the order, if it could not.
    pub unapplied: Option<String>,
}

/// A stop event as stored: the event, the visit it belongs to, who sent it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// The event.
    pub event: StopEvent,
    /// The order.
    pub order: i64,
    /// The local date of the visit.
    pub date: Date,
    /// The principal that posted it.
    pub posted_by: i64,
    /// When rendan received it.
    pub received_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u128, kind: StopEventKind, minute: i64, reason: Option<FailureReason>) -> StopEvent {
        StopEvent {
            id: EventId(n),
            kind,
            at: Timestamp::from_second(1_800_000_000 + minute * 60).unwrap(),
            location: LatLon::new(45.0, 9.0, "").unwrap(),
            reason,
            proof: None,
        }
    }

    use StopEventKind::*;

    #[test]
    fn a_set_of_events_folds_the_same_in_every_order() {
        let events = [
            ev(1, Arrived, 0, None),
            ev(2, Delivered, 10, None),
            ev(3, HaulAwayCollected, 20, None),
            ev(4, Installed, 40, None),
            ev(5, Arrived, 1, None),
        ];
        let reference = fold(&events);
        assert_eq!(reference.outcome(), Outcome::Installed);
        assert_eq!(reference.flagged, vec![(EventId(5), Flag::Repeated)]);
        // Every rotation and its reverse, with a duplicate of each event.
        for r in 0..events.len() {
            let mut v = events.to_vec();
            v.rotate_left(r);
            v.push(v[0]);
            assert_eq!(fold(&v), reference);
            v.reverse();
            assert_eq!(fold(&v), reference);
        }
    }

    #[test]
    fn installed_outranks_a_failure_unless_the_goods_were_unusable() {
        let absent = Some(FailureReason::CustomerAbsent);
        let s = fold(&[ev(1, Failed, 5, absent), ev(2, Installed, 30, None)]);
        assert_eq!(s.outcome(), Outcome::Installed);
        assert_eq!(s.flagged, vec![(EventId(1), Flag::ContradictsOutcome)]);
        let damaged = Some(FailureReason::DamagedInTransit);
        let s = fold(&[ev(1, Failed, 5, damaged), ev(2, Installed, 30, None)]);
        assert_eq!(
            s.outcome(),
            Outcome::Failed(FailureReason::DamagedInTransit)
        );
        assert_eq!(s.flagged, vec![(EventId(2), Flag::ContradictsOutcome)]);
        assert_eq!(s.installed_at, None);
    }

    #[test]
    fn a_failure_keeps_the_earliest_reason() {
        let s = fold(&[
            ev(9, Failed, 7, Some(FailureReason::Refused)),
            ev(3, Failed, 5, Some(FailureReason::CrewLate)),
        ]);
        assert_eq!(s.outcome(), Outcome::Failed(FailureReason::CrewLate));
        assert_eq!(s.flagged, vec![(EventId(9), Flag::Repeated)]);
        assert_eq!(FailureReason::CrewLate.cause(), Cause::Company);
        assert_eq!(FailureReason::Refused.cause(), Cause::Customer);
    }

    #[test]
    fn reconciling_moves_the_order_and_the_goods_once() {
        let start = Applied {
            outcome: Outcome::Pending,
            haul_away_received: false,
        };
        let s = fold(&[ev(1, Installed, 3, None), ev(2, HaulAwayCollected, 4, None)]);
        let c = reconcile(start, &s, OrderStatus::OutForDelivery).unwrap();
        assert_eq!(c.order, Some(OrderEvent::Install));
        assert!(c.receive_haul_away);
        let again = reconcile(c.applied, &s, OrderStatus::Installed).unwrap();
        assert_eq!(again.order, None);
        assert!(!again.receive_haul_away);

        let failed = fold(&[ev(1, Failed, 3, Some(FailureReason::WrongItem))]);
        let c = reconcile(start, &failed, OrderStatus::OutForDelivery).unwrap();
        assert_eq!(c.goods, Goods::ReturnUnusable);
        let absent = fold(&[ev(1, Failed, 3, Some(FailureReason::CustomerAbsent))]);
        let c = reconcile(start, &absent, OrderStatus::Delivered).unwrap();
        assert_eq!(c.goods, Goods::Return);
        let late = fold(&[
            ev(1, Failed, 3, Some(FailureReason::CustomerAbsent)),
            ev(2, Installed, 9, None),
        ]);
        let c2 = reconcile(c.applied, &late, OrderStatus::Ready).unwrap();
        assert_eq!(
            (c2.order, c2.goods),
            (Some(OrderEvent::Install), Goods::IssueAgain)
        );
        let moved = reconcile(c.applied, &late, OrderStatus::OutForDelivery).unwrap_err();
        assert_eq!(moved.status, OrderStatus::OutForDelivery);
    }

    #[test]
    fn validation_names_every_field() {
        let raw = RawStopEvent {
            event_id: "not-a-uuid",
            kind: "teleported",
            at: "yesterday",
            lat: 91.0,
            lon: 0.0,
            reason: Some("bored"),
            photo_sha256: Some("abc"),
            signature_sha256: None,
            proof: true,
        };
        let e = StopEvent::new(raw).unwrap_err();
        assert_eq!(
            e.fields(),
            ["event_id", "kind", "at", "lat", "proof.photo_sha256"]
        );
        let ok = RawStopEvent {
            event_id: "0F8fad5b-d9cb-469f-a165-70867728950e",
            kind: "failed",
            at: "2026-12-07T10:00:00+01:00",
            lat: 45.0,
            lon: 9.0,
            reason: Some("refused"),
            ..Default::default()
        };
        let e = StopEvent::new(ok).unwrap();
        assert_eq!(e.id.to_string(), "0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(e.reason, Some(FailureReason::Refused));
        let no_reason = RawStopEvent { reason: None, ..ok };
        assert_eq!(StopEvent::new(no_reason).unwrap_err().fields(), ["reason"]);
        let extra = RawStopEvent {
            kind: "arrived",
            ..ok
        };
        assert_eq!(StopEvent::new(extra).unwrap_err().fields(), ["reason"]);
    }
}
