//! What crews report from the door: stop events, and the visits they shape.
//!
//! A crew's device posts events for the stops of its own published routes; an admin may post
//! for any. Each event belongs to the visit of its order on the local date (at the depot) of
//! its device time. What the events of a visit mean is `rendan_domain::stop`'s; the store
//! keeps every event and applies the outcome to the order and its goods in one transaction.

use crate::fingerprint::Fingerprint;
use crate::{Error, UseCases, forbidden};
use jiff::SignedDuration;
use rendan_domain::Invalid;
use rendan_domain::access::{Principal, Role};
use rendan_domain::fulfilment::site_zone;
use rendan_domain::stop::{Attempt, StopEvent, fold};
use rendan_store::{Outcome, RecordStop, StopRecord, StoreError};

/// How far ahead of rendan's clock a device's clock may run before its event is refused.
pub const DEVICE_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(15);

/// The fingerprint of a stop event: the same id with another body is another event.
fn fingerprint(e: &StopEvent) -> String {
    let mut f = Fingerprint::new("stop_event");
    f.text(e.kind.as_str())
        .int(e.at.as_microsecond())
        .float(e.location.lat())
        .float(e.location.lon())
        .text(e.reason.map_or("", |r| r.as_str()));
    match e.proof {
        None => f.int(0),
        Some(p) => f
            .int(1)
            .text(&p.photo_sha256.map(|d| d.to_hex()).unwrap_or_default())
            .text(&p.signature_sha256.map(|d| d.to_hex()).unwrap_or_default()),
    };
    hex::encode(f.finish())
}

impl UseCases {
    /// Records a crew's stop event for a visit of `order` (see the module docs); the same
    /// event again answers the visit as it is.
    pub async fn report_stop(
        &self,
        caller: &Principal,
        order: i64,
        event: StopEvent,
    ) -> Result<Outcome<StopRecord>, Error> {
        let crew = match caller.role {
            Role::Admin => None,
            Role::Crew { crew } => Some(crew),
            _ => return Err(forbidden("only crew and admin tokens report stop events")),
        };
        let now = self.now();
        if event.at > now + DEVICE_CLOCK_SKEW {
            return Err(Invalid::new(
                "at",
                format!("{} is in the future (rendan's clock reads {now})", event.at),
            )
            .into());
        }
        let attempts = self.inner.store.attempts(order).await?;
        let not_found = || {
            Error::from(StoreError::NotFound(format!(
                "a visit of order {order} on the caller's routes"
            )))
        };
        // Every visit of one order leaves from the depot that serves it.
        let depot = attempts
            .iter()
            .find(|a| crew.is_none_or(|c| c == a.crew))
            .map(|a| a.depot.clone())
            .ok_or_else(not_found)?;
        let date = event.at.to_zoned(site_zone(self.topology(), &depot)).date();
        if !attempts.iter().any(|a| a.date == date) {
            return Err(Invalid::new(
                "at",
                format!("order {order} had no visit on {date} (local time at {depot})"),
            )
            .into());
        }
        Ok(self
            .inner
            .store
            .record_stop(RecordStop {
                order,
                date,
                fingerprint: fingerprint(&event),
                event,
                crew,
                principal: caller.id,
                planning: self.planning(),
                now,
            })
            .await?)
    }

    /// Every visit of an order that went out, with its events and the state they fold into:
    /// for those who may see the order, and for a crew, the visits it made.
    pub async fn visits(&self, caller: &Principal, order: i64) -> Result<Vec<StopRecord>, Error> {
        let own_crew = caller.role.crew();
        let status = match own_crew {
            Some(_) => self.inner.store.order(order).await?.map(|o| o.status),
            None => Some(self.order(caller, order).await?.status),
        };
        let attempts: Vec<Attempt> = self
            .inner
            .store
            .attempts(order)
            .await?
            .into_iter()
            .filter(|a| own_crew.is_none_or(|c| c == a.crew))
            .collect();
        let (Some(status), false) = (status, attempts.is_empty() && own_crew.is_some()) else {
            return Err(StoreError::NotFound(format!("order {order}")).into());
        };
        let events = self.inner.store.stop_events(order).await?;
        Ok(rendan_store::pair_visits(attempts, events)
            .into_iter()
            .map(|(attempt, events)| {
                let state = fold(&events.iter().map(|r| r.event).collect::<Vec<_>>());
                StopRecord {
                    attempt,
                    state,
                    events,
                    status,
                }
            })
            .collect())
    }
}
