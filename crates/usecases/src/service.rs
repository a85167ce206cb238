//! The published service standards: measured from the visits that went out and their stop
//! events (`rendan_domain::service`), for admins and planners (a scoped planner sees its
//! region only).

use crate::{Error, UseCases, forbidden};
use jiff::ToSpan;
use jiff::civil::Date;
use rendan_domain::Invalid;
use rendan_domain::access::Principal;
use rendan_domain::fulfilment::site_zone;
use rendan_domain::service::{GroupBy, Report, VisitRecord};
use rendan_domain::stop::fold;
use std::collections::{BTreeSet, HashMap};

/// The longest range one measurement may cover, in days.
pub const MAX_SERVICE_DAYS: i32 = 366;

impl UseCases {
    /// The service standards over `from..=to` (local dates at the depots), grouped by
    /// `group_by`, with each region's targets when grouped by region. Without a caller (the
    /// operator's command line) every region is measured.
    pub async fn service_levels(
        &self,
        caller: Option<&Principal>,
        from: Date,
        to: Date,
        group_by: GroupBy,
    ) -> Result<Report, Error> {
        if caller.is_some_and(|c| !c.can_read_stock()) {
            return Err(forbidden(
                "only admin and planner tokens read service levels",
            ));
        }
        if to < from {
            return Err(Invalid::new("to", format!("{to} is before from ({from})")).into());
        }
        let days = (to - from).get_days() + 1;
        if days > MAX_SERVICE_DAYS {
            return Err(Invalid::new(
                "to",
                format!("a range covers at most {MAX_SERVICE_DAYS} days, this one {days}"),
            )
            .into());
        }
        // A visit dated the day before the range may install after midnight inside it.
        let log = self
            .inner
            .store
            .visit_log(from.saturating_sub(1.day()), to)
            .await?;
        let ids: BTreeSet<i64> = log.iter().map(|(a, _)| a.order).collect();
        let mut orders = HashMap::new();
        for id in ids {
            if let Some(order) = self.inner.store.order(id).await? {
                orders.insert(id, order);
            }
        }
        let topology = self.topology();
        let scope = caller.and_then(|c| c.role.region().cloned());
        let records: Vec<VisitRecord> = log
            .into_iter()
            .filter_map(|(attempt, events)| {
                let order = orders.get(&attempt.order)?;
                if scope.as_ref().is_some_and(|r| r != &order.region) {
                    return None;
                }
                let categories = order
                    .lines
                    .iter()
                    .filter_map(|l| topology.product(&l.sku).map(|p| p.category))
                    .collect();
                let promised = order
                    .promises
                    .first()
                    .map_or(order.promised_date, |p| p.date);
                Some(VisitRecord {
                    order: order.id,
                    region: order.region.clone(),
                    zone: site_zone(topology, &attempt.depot),
                    depot: attempt.depot,
                    crew: attempt.crew,
                    categories,
                    date: attempt.date,
                    window: attempt.window,
                    ordered_at: order.created_at,
                    promised,
                    state: fold(&events.iter().map(|r| r.event).collect::<Vec<_>>()),
                })
            })
            .collect();
        let service = topology.service();
        Ok(Report::new(
            &records,
            from,
            to,
            group_by,
            service.on_time_tolerance,
            |key| match group_by {
                GroupBy::Region => rendan_domain::Region::parse(key, "region")
                    .ok()
                    .map(|r| topology.service_targets(&r)),
                _ => None,
            },
        ))
    }
}
