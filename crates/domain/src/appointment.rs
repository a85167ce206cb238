//! Appointments: the windows a depot offers, what a booked visit is, and from when an order
//! can be visited.
//!
//! A depot offers the same windows every day, in its local time (by default two hours each,
//! 08–10, 10–12, 12–14, 14–16, 16–18). An appointment books one window of one date for one
//! order; the crew that will serve it is the plan's choice and may change while the plan is a
//! draft, the window never does. A depot-day's plan is a draft until it is published; a
//! published day takes no more bookings.

use crate::crew::format_time;
use crate::fulfilment::{Progress, in_warehouse_on};
use crate::{Invalid, SiteId};
use jiff::ToSpan;
use jiff::civil::{Date, Time};

/// One window of a day, in the depot's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// Start.
    pub start: Time,
    /// End.
    pub end: Time,
}

impl Window {
    /// `HH:MM–HH:MM`.
    pub fn label(&self) -> String {
        format!("{}–{}", format_time(self.start), format_time(self.end))
    }
}

/// The windows a depot offers each day, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(Vec<Window>);

impl Default for Windows {
    /// Two-hour windows from 08:00 to 18:00.
    fn default() -> Self {
        Windows(
            (0..5)
                .map(|i| Window {
                    start: Time::constant(8 + 2 * i, 0, 0, 0),
                    end: Time::constant(10 + 2 * i, 0, 0, 0),
                })
                .collect(),
        )
    }
}

impl Windows {
    /// Windows from (start, end) pairs; each must end after it starts, and they must not
    /// overlap.
    pub fn new(mut windows: Vec<Window>, field: &str) -> Result<Windows, Invalid> {
        windows.sort();
        if windows.is_empty() {
            return Err(Invalid::new(field, "a depot needs at least one window"));
        }
        for (i, w) in windows.iter().enumerate() {
            if w.end <= w.start {
                return Err(Invalid::new(
                    field,
                    format!("window {} ends before it starts", w.label()),
                ));
            }
            if i > 0 && windows[i - 1].end > w.start {
                return Err(Invalid::new(
                    field,
                    format!("window {} overlaps the one before", w.label()),
                ));
            }
        }
        Ok(Windows(windows))
    }

    /// Every window, in order.
    pub fn all(&self) -> &[Window] {
        &self.0
    }

    /// The window starting at `start`, if there is one.
    pub fn starting(&self, start: Time) -> Option<Window> {
        self.0.iter().copied().find(|w| w.start == start)
    }
}

/// A booked visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    /// The order visited.
    pub order: i64,
    /// The depot whose crew visits.
    pub depot: SiteId,
    /// The local date.
    pub date: Date,
    /// The booked window.
    pub window: Window,
    /// The crew the current plan gives it.
    pub crew: i64,
}

/// Why a visit cannot be booked (or a window cannot be kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The order's goods are not in the warehouse early enough for that date.
    NotReady,
    /// No crew working that day holds every skill the visit needs.
    Skills,
    /// No truck working that day carries the visit's weight.
    Weight,
    /// No truck working that day holds the visit's volume.
    Volume,
    /// No crew's shift covers the visit in that window (travel and time on site included).
    Shift,
    /// Crews could serve it, but not in that window beside what is already booked.
    WindowFull,
    /// The day's plan is published: it takes no more bookings.
    Published,
    /// The order's state does not allow a booking (cancelled, already booked, ...).
    State,
    /// The customer lives outside the area of every depot: no crew can visit.
    Area,
}

impl Reason {
    /// Wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::NotReady => "not_ready",
            Reason::Skills => "skills",
            Reason::Weight => "weight",
            Reason::Volume => "volume",
            Reason::Shift => "shift",
            Reason::WindowFull => "window_full",
            Reason::Published => "published",
            Reason::State => "state",
            Reason::Area => "area",
        }
    }
}

/// A booking refused, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// In words.
    pub message: String,
}

impl Refusal {
    /// A refusal for `reason`.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Refusal {
            reason,
            message: message.into(),
        }
    }
}

/// Whether a depot-day still takes bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    /// Bookings change it.
    Draft,
    /// Locked: the crews have their routes.
    Published,
}

impl PlanStatus {
    /// Wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Published => "published",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        match value {
            "draft" => Ok(PlanStatus::Draft),
            "published" => Ok(PlanStatus::Published),
            other => Err(Invalid::new(
                field,
                format!("expected draft or published, got {other:?}"),
            )),
        }
    }
}

/// The first local date on which an order accepted on `accepted_on`, whose production orders
/// stand as `productions` say, can be visited from a depot `transfer_days` away from the
/// warehouse that holds its goods: the day all its goods are in that warehouse, plus the
/// transfer to the depot.
pub fn visitable_from(accepted_on: Date, productions: &[Progress], transfer_days: u32) -> Date {
    in_warehouse_on(accepted_on, productions).saturating_add(i64::from(transfer_days).days())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_windows_cover_eight_to_six_in_two_hours() {
        let w = Windows::default();
        assert_eq!(w.all().len(), 5);
        assert_eq!(w.all()[0].label(), "08:00–10:00");
        assert_eq!(w.all()[4].label(), "16:00–18:00");
        assert!(w.starting(Time::constant(12, 0, 0, 0)).is_some());
        assert!(w.starting(Time::constant(13, 0, 0, 0)).is_none());
        let overlap = vec![
            Window {
                start: Time::constant(8, 0, 0, 0),
                end: Time::constant(11, 0, 0, 0),
            },
            Window {
                start: Time::constant(10, 0, 0, 0),
                end: Time::constant(12, 0, 0, 0),
            },
        ];
        assert!(Windows::new(overlap, "windows").is_err());
    }

    #[test]
    fn an_order_is_visitable_when_its_last_goods_reach_the_warehouse_plus_the_transfer() {
        let accepted = Date::constant(2026, 12, 1);
        assert_eq!(
            visitable_from(accepted, &[], 1),
            Date::constant(2026, 12, 2)
        );
        let open = Progress::Open {
            finish: Date::constant(2026, 12, 10),
            transfer_days: 2,
        };
        assert_eq!(
            visitable_from(accepted, &[open], 1),
            Date::constant(2026, 12, 13)
        );
    }
}
