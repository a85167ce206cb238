//! Delivery and installation: crews, the windows an order can be offered, booking, and the
//! plans of depot-days.
//!
//! Every decision about where a visit fits is `rendan-dispatch`'s (the route engine on the
//! depot-day); the store serialises the bookings of one depot-day and persists them. Dates and
//! times are local to the depot.

use crate::fingerprint::Fingerprint;
use crate::{Error, UseCases, forbidden, idem};
use jiff::civil::{Date, Time};
use rendan_dispatch::{Dispatch, Offer, Schedule};
use rendan_domain::access::Principal;
use rendan_domain::appointment::{Appointment, PlanStatus, Reason, Refusal, Window};
use rendan_domain::crew::{Crew, NewCrew};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{Order, OrderStatus};
use rendan_domain::{Invalid, Site, SiteId, SiteKind};
use rendan_store::{
    BookVisit, DayState, DepotDay, Idem, Outcome, PublishDay, SetRoutes, StoreError, UnbookVisit,
};
use std::sync::Arc;
use std::time::Duration;

/// Most days one slot query may cover.
pub const MAX_SLOT_DAYS: u32 = 14;

/// How far ahead of the depot's today a visit may be booked or slots asked for, in days: a
/// plan further out than half a year is a guess, and every date asked for holds a row.
pub const HORIZON_DAYS: i64 = 183;

/// Longest an optimisation of one day may run.
pub const OPTIMISE_LIMIT: Duration = Duration::from_secs(10);

/// A window offered to an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// The local date.
    pub date: Date,
    /// The window.
    pub window: Window,
    /// The depot whose crew would come.
    pub depot: SiteId,
}

/// A depot-day's plan as a planner reads it.
#[derive(Debug, Clone)]
pub struct DayPlan {
    /// The day as stored.
    pub day: DepotDay,
    /// Its routes with times.
    pub schedule: Schedule,
}

impl UseCases {
    /// The planning of depot-days.
    pub fn dispatch(&self) -> &Dispatch {
        &self.inner.dispatch
    }

    /// A depot of the topology, parsed from a path or filter value.
    pub fn depot(&self, value: &str, field: &str) -> Result<Site, Invalid> {
        let id = SiteId::parse(value, field)?;
        match self.topology().site(&id) {
            Some(s) if s.kind == SiteKind::Depot => Ok(s.clone()),
            Some(s) => Err(Invalid::new(
                field,
                format!("{id} is a {}, not a depot", s.kind.as_str()),
            )),
            None => Err(Invalid::new(field, format!("unknown site {id}"))),
        }
    }

    fn check_plans(&self, caller: &Principal, depot: &Site) -> Result<(), Error> {
        if caller.can_plan_in(&depot.region) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                message: format!("depot {} is outside this token's region", depot.id),
                field: Some("depot".into()),
            })
        }
    }

    /// Stores a crew at a depot of the caller's region. A retry with the same key answers the
    /// same crew.
    pub async fn create_crew(
        &self,
        caller: &Principal,
        key: Key,
        depot: &Site,
        crew: NewCrew,
    ) -> Result<Outcome<Crew>, Error> {
        self.check_plans(caller, depot)?;
        let mut f = Fingerprint::new("create_crew");
        let (skills, week, days_off) = rendan_store::rows::crew_columns(&crew);
        f.text(depot.id.as_str())
            .text(&crew.name)
            .text(&skills)
            .float(crew.truck.kg)
            .float(crew.truck.m3)
            .text(&week)
            .text(&days_off);
        let idem = idem(caller, &key, f.finish());
        Ok(self
            .inner
            .store
            .create_crew(depot.id.clone(), crew, self.now(), Some(idem))
            .await?)
    }

    /// The crews of a depot (of every depot the caller may plan when `None`).
    pub async fn crews(
        &self,
        caller: &Principal,
        depot: Option<&Site>,
    ) -> Result<Vec<Crew>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot read crews"));
        }
        if let Some(d) = depot {
            self.check_plans(caller, d)?;
        }
        let crews = self.inner.store.crews(depot.map(|d| &d.id)).await?;
        Ok(crews
            .into_iter()
            .filter(|c| {
                self.topology()
                    .site(&c.depot)
                    .is_some_and(|s| caller.can_plan_in(&s.region))
            })
            .collect())
    }

    /// The order a caller may see, the depot that serves it, and its production orders.
    async fn visit_of(&self, caller: &Principal, id: i64) -> Result<(Order, Site), Error> {
        let order = self.order(caller, id).await?;
        let depot = self
            .dispatch()
            .depot_for(&order.customer.location)
            .cloned()
            .ok_or_else(|| {
                StoreError::Refused(Refusal::new(
                    Reason::Area,
                    format!("order {id} is outside the area of every depot: no crew can visit it"),
                ))
            })?;
        Ok((order, depot))
    }

    async fn day_state(&self, depot: &SiteId, date: Date) -> Result<DayState, Error> {
        let crews = self.inner.store.crews(Some(depot)).await?;
        let day = self.inner.store.depot_day(depot, date).await?;
        Ok(DayState { crews, day })
    }

    /// The windows from `from` for `days` days that the plan can keep for a visit to order
    /// `id`: its goods ready by then, a crew with the skills, the truck's capacity, a shift
    /// covering the visit, and a place in that day's plan that keeps every booked visit in its
    /// window. Empty when nothing fits; refused when the order cannot be booked at all.
    pub async fn slots(
        &self,
        caller: &Principal,
        id: i64,
        from: Date,
        days: u32,
    ) -> Result<Vec<Slot>, Error> {
        if days == 0 || days > MAX_SLOT_DAYS {
            return Err(
                Invalid::new("days", format!("must be between 1 and {MAX_SLOT_DAYS}")).into(),
            );
        }
        let (order, depot) = self.visit_of(caller, id).await?;
        bookable(&order)?;
        let now = self.now();
        let last = from.saturating_add(jiff::Span::new().days(i64::from(days) - 1));
        // Every day asked for must be one a booking could be made on.
        let (today, _) = self.dispatch().local_now(&depot.id, now);
        within_horizon(&depot, today, from, "from")?;
        within_horizon(&depot, today, last, "days")?;
        let productions = self.production_of_order(&order).await?;
        // Goods that reach the depot after the last day asked for make the whole question
        // moot: say so, with the date to ask from, rather than an empty list.
        let ready = self.dispatch().visitable_from(&order, &productions, &depot);
        if ready > last {
            return Err(StoreError::Refused(Refusal::new(
                Reason::NotReady,
                format!(
                    "order {id} can be visited from {ready} at the earliest (its goods in the \
                     warehouse, then the transfer to {}); ask for slots from then",
                    depot.id
                ),
            ))
            .into());
        }
        // Every day read at once, then planned side by side: each day's question (where could
        // one more visit go?) is independent of the others.
        let crews = self.inner.store.crews(Some(&depot.id)).await?;
        let read = self.inner.store.depot_days(&depot.id, from, days).await?;

        let mut tasks = Vec::new();
        for day in read {
            if day.status == PlanStatus::Published {
                continue;
            }
            let dispatch = self.inner.dispatch.clone();
            let (order, productions) = (order.clone(), productions.clone());
            let state = DayState {
                crews: crews.clone(),
                day,
            };
            tasks.push(tokio::task::spawn_blocking(move || {
                let date = state.day.date;
                dispatch
                    .open_windows(&state, &order, &productions, now)
                    .map(|offers| (date, offers))
            }));
        }
        let mut out = Vec::new();
        for task in tasks {
            let (date, offers) = task
                .await
                .map_err(|e| StoreError::Backend(format!("slot planning stopped: {e}")))?
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            out.extend(offers.into_iter().map(|o: Offer| Slot {
                date,
                window: o.window,
                depot: depot.id.clone(),
            }));
        }
        Ok(out)
    }

    async fn production_of_order(
        &self,
        order: &Order,
    ) -> Result<Vec<rendan_domain::production::ProductionOrder>, Error> {
        Ok(self.inner.store.production_orders_of(&[order.id]).await?)
    }

    /// Books window `start` of `date` for a visit to order `id`. Refused (409, with the
    /// reason) when the window can no longer be kept or the order cannot be booked. A retry
    /// with the same key answers the same appointment.
    pub async fn book(
        &self,
        caller: &Principal,
        key: Key,
        id: i64,
        date: Date,
        start: Time,
    ) -> Result<Outcome<Appointment>, Error> {
        if !caller.can_change_orders() {
            return Err(forbidden("this role cannot book visits"));
        }
        let (order, depot) = self.visit_of(caller, id).await?;
        let windows = self.dispatch().windows(&depot.id);
        let window = windows.starting(start).ok_or_else(|| {
            Invalid::new(
                "start",
                format!(
                    "{} offers no window starting at {}; its windows start at {}",
                    depot.id,
                    rendan_domain::crew::format_time(start),
                    windows
                        .all()
                        .iter()
                        .map(|w| rendan_domain::crew::format_time(w.start))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let (today, minute) = self.dispatch().local_now(&depot.id, self.now());
        within_horizon(&depot, today, date, "date")?;
        let started =
            date == today && f64::from(rendan_domain::crew::minute_of_day(window.start)) <= minute;
        if date < today || started {
            return Err(Invalid::new(
                "date",
                format!("{date} {} has begun at {}", window.label(), depot.id),
            )
            .into());
        }
        let mut f = Fingerprint::new("book_visit");
        f.int(order.id)
            .text(&date.to_string())
            .text(&rendan_domain::crew::format_time(start));
        let cmd = BookVisit {
            order: order.id,
            visibility: caller.order_visibility(),
            depot: depot.id.clone(),
            date,
            window,
            now: self.now(),
            idem: Some(idem(caller, &key, f.finish())),
            decide: self.inner.dispatch.clone() as Arc<dyn rendan_store::Decide>,
        };
        Ok(self.inner.store.book_visit(cmd).await?)
    }

    /// The appointment of an order the caller may see.
    pub async fn appointment(&self, caller: &Principal, id: i64) -> Result<Appointment, Error> {
        let order = self.order(caller, id).await?;
        self.inner
            .store
            .appointment(order.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("an appointment of order {id}")).into())
    }

    /// Cancels the appointment of order `id`, freeing its capacity. A retry with the same key
    /// answers the same order.
    pub async fn unbook(
        &self,
        caller: &Principal,
        key: Option<Key>,
        id: i64,
    ) -> Result<Outcome<Order>, Error> {
        if !caller.can_change_orders() {
            return Err(forbidden("this role cannot cancel visits"));
        }
        let mut f = Fingerprint::new("unbook_visit");
        f.int(id);
        let cmd = UnbookVisit {
            order: id,
            visibility: caller.order_visibility(),
            now: self.now(),
            idem: key.map(|k| idem(caller, &k, f.finish())),
        };
        Ok(self.inner.store.unbook_visit(cmd).await?)
    }

    /// A depot-day's plan with the times of every stop.
    pub async fn plan(
        &self,
        caller: &Principal,
        depot: &Site,
        date: Date,
    ) -> Result<DayPlan, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot read plans"));
        }
        self.check_plans(caller, depot)?;
        self.day_plan(depot, date).await
    }

    /// A depot-day's plan, for a caller already allowed to read it.
    async fn day_plan(&self, depot: &Site, date: Date) -> Result<DayPlan, Error> {
        let state = self.day_state(&depot.id, date).await?;
        let schedule = self
            .dispatch()
            .schedule(&state)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(DayPlan {
            day: state.day,
            schedule,
        })
    }

    /// Re-plans every booked visit of a draft depot-day with the route engine (for at most
    /// [`OPTIMISE_LIMIT`]) and keeps the result only when it is cheaper; no visit leaves its
    /// window. A day changed by a booking meanwhile is optimised again.
    pub async fn optimise(
        &self,
        caller: &Principal,
        depot: &Site,
        date: Date,
    ) -> Result<Outcome<DayPlan>, Error> {
        self.optimise_for(caller, None, depot, date, OPTIMISE_LIMIT)
            .await
    }

    /// As [`UseCases::optimise`], with a time limit; a retry with the same `key` answers the
    /// plan as it now is without optimising again.
    pub async fn optimise_for(
        &self,
        caller: &Principal,
        key: Option<Key>,
        depot: &Site,
        date: Date,
        limit: Duration,
    ) -> Result<Outcome<DayPlan>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot plan"));
        }
        self.check_plans(caller, depot)?;
        // The time limit is how, not what: a retry with another limit is the same request.
        let idem = key.map(|key| day_idem(caller, &key, "optimise_plan", depot, date));
        // The engine's seconds are spared on a retry; the script checks the key again.
        if let Some(idem) = &idem
            && self
                .inner
                .store
                .seen_key("optimise_plan", idem.clone())
                .await?
        {
            return Ok(Outcome::Replayed(self.plan(caller, depot, date).await?));
        }
        for _ in 0..3 {
            let state = self.day_state(&depot.id, date).await?;
            if state.day.status == PlanStatus::Published {
                return Err(StoreError::Refused(Refusal::new(
                    Reason::Published,
                    format!("the plan of {date} at {} is published", depot.id),
                ))
                .into());
            }
            let dispatch = self.inner.dispatch.clone();
            let for_engine = state.clone();
            // The engine computes for seconds: off the async workers.
            let better =
                tokio::task::spawn_blocking(move || dispatch.optimise(&for_engine, limit, 1))
                    .await
                    .map_err(|e| StoreError::Backend(format!("the optimiser stopped: {e}")))?
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
            let cmd = SetRoutes {
                depot: depot.id.clone(),
                date,
                version: state.day.version,
                routes: better,
                now: self.now(),
                idem: idem.clone(),
            };
            match self.inner.store.set_routes(cmd).await {
                Ok(stored) => {
                    let plan = self.plan(caller, depot, date).await?;
                    return Ok(stored.map(|_| plan));
                }
                Err(StoreError::Stale(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale(format!(
            "{date} at {} kept changing while it was optimised; try again",
            depot.id
        ))
        .into())
    }

    /// Publishes a depot-day's plan: no more bookings that day; on the day, its orders go out
    /// for delivery.
    pub async fn publish(
        &self,
        caller: &Principal,
        key: Option<Key>,
        depot: &Site,
        date: Date,
    ) -> Result<Outcome<DayPlan>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot publish plans"));
        }
        self.check_plans(caller, depot)?;
        let idem = key.map(|key| day_idem(caller, &key, "publish_plan", depot, date));
        let (today, _) = self.dispatch().local_now(&depot.id, self.now());
        let published = self
            .inner
            .store
            .publish_day(PublishDay {
                depot: depot.id.clone(),
                date,
                today,
                now: self.now(),
                idem,
            })
            .await?;
        let plan = self.plan(caller, depot, date).await?;
        Ok(published.map(|_| plan))
    }

    /// Sends out for delivery the orders of every published day that has begun, at every
    /// depot; answers how many days were looked at. `rendan serve` calls it every minute.
    pub async fn start_due_days(&self, dates_back: u32) -> Result<usize, Error> {
        let mut looked = 0;
        let now = self.now();
        let depots: Vec<Site> = self
            .topology()
            .sites()
            .iter()
            .filter(|s| s.kind == SiteKind::Depot)
            .cloned()
            .collect();
        for depot in depots {
            let (today, _) = self.dispatch().local_now(&depot.id, now);
            for back in 0..=i64::from(dates_back) {
                let date = today.saturating_sub(jiff::Span::new().days(back));
                let day = self.inner.store.depot_day(&depot.id, date).await?;
                if day.status != PlanStatus::Published
                    || !day
                        .visits
                        .iter()
                        .any(|v| v.visit.status == OrderStatus::Scheduled)
                {
                    continue;
                }
                looked += 1;
                self.inner
                    .store
                    .publish_day(PublishDay {
                        depot: depot.id.clone(),
                        date,
                        today,
                        now,
                        idem: None,
                    })
                    .await?;
            }
        }
        Ok(looked)
    }

    /// One crew's day: its stops in order, from its depot-day's plan. A crew's own token reads
    /// its own day (and no other crew's).
    pub async fn crew_route(
        &self,
        caller: &Principal,
        crew: i64,
        date: Date,
    ) -> Result<(Crew, Option<rendan_dispatch::CrewDay>), Error> {
        let own = caller.role.crew() == Some(crew);
        let crews = if own {
            self.inner.store.crews(None).await?
        } else {
            self.crews(caller, None).await?
        };
        let crew = crews
            .into_iter()
            .find(|c| c.id == crew)
            .ok_or_else(|| StoreError::NotFound(format!("crew {crew}")))?;
        let depot = self.depot(crew.depot.as_str(), "crew")?;
        let plan = if own {
            self.day_plan(&depot, date).await?
        } else {
            self.plan(caller, &depot, date).await?
        };
        let route = plan.schedule.routes.into_iter().find(|r| r.crew == crew.id);
        Ok((crew, route))
    }

    /// The day as the route engine's JSON problem and the current plan as its JSON solution;
    /// not found when no crew of the depot works that day (the day has no plan).
    pub async fn export(
        &self,
        caller: &Principal,
        depot: &Site,
        date: Date,
    ) -> Result<(String, String), Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot read plans"));
        }
        self.check_plans(caller, depot)?;
        let state = self.day_state(&depot.id, date).await?;
        self.dispatch()
            .export(&state)
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "a plan of {date} at {} (no crew works that day)",
                    depot.id
                ))
                .into()
            })
    }
}

/// An order whose state allows a booking; the refusal names its state otherwise.
fn bookable(order: &Order) -> Result<(), Error> {
    match order.status {
        OrderStatus::Ready | OrderStatus::InProduction => Ok(()),
        other => Err(StoreError::Refused(Refusal::new(
            Reason::State,
            format!(
                "order {} is {}; it cannot be booked",
                order.id,
                other.as_str()
            ),
        ))
        .into()),
    }
}

/// Refuses a date more than [`HORIZON_DAYS`] after `today` at `depot`.
fn within_horizon(depot: &Site, today: Date, date: Date, field: &str) -> Result<(), Error> {
    let last = today.saturating_add(jiff::Span::new().days(HORIZON_DAYS));
    if date > last {
        return Err(Invalid::new(
            field,
            format!(
                "{date} is more than {HORIZON_DAYS} days ahead at {} (the last date is {last})",
                depot.id
            ),
        )
        .into());
    }
    Ok(())
}

/// The key of a request about one depot-day (optimise, publish): what it asks is the depot and
/// the date.
fn day_idem(caller: &Principal, key: &Key, operation: &str, depot: &Site, date: Date) -> Idem {
    let mut f = Fingerprint::new(operation);
    f.text(depot.id.as_str()).text(&date.to_string());
    idem(caller, key, f.finish())
}
