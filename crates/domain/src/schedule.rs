//! Factory capacity schedules: when make-to-order production really finishes.
//!
//! A zero-inventory promise is only honest if it knows what the factory already has to make.
//! Each factory makes at most `capacity` units of a product category per day. Production
//! orders take capacity in promise order (the order in which they were accepted), each from the
//! first day it may be finished (acceptance plus the maker's lead time) onwards, filling
//! whatever the orders before it left free. An order is finished on the last day that holds one
//! of its units.
//!
//! [`plan`] is the one function that decides this. The same function re-promises: when a
//! production order completes early or late, planning the remaining queue again from that day
//! moves the orders behind it, and [`changes`] lists whose finish day moved so their promises
//! (and promise histories) can be updated.

use std::collections::{BTreeMap, HashMap};

use jiff::ToSpan;
use jiff::civil::Date;

use crate::SiteId;
use crate::catalogue::Category;

/// Daily capacity of every factory, per product category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capacities {
    units: HashMap<(SiteId, Category), u32>,
}

impl Capacities {
    /// No factory has a declared capacity (every category is then unlimited).
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares that `factory` makes at most `per_day` units of `category` a day.
    pub fn set(&mut self, factory: SiteId, category: Category, per_day: u32) {
        self.units.insert((factory, category), per_day);
    }

    /// Units of `category` that `factory` makes a day; `None` when no limit is declared.
    pub fn per_day(&self, factory: &SiteId, category: Category) -> Option<u32> {
        self.units.get(&(factory.clone(), category)).copied()
    }

    /// Every declared limit, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&SiteId, Category, u32)> {
        self.units.iter().map(|((f, c), u)| (f, *c, *u))
    }
}

/// One production order waiting for capacity, in the queue given to [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job<K> {
    /// The caller's handle for this production order (an id, an index).
    pub key: K,
    /// The factory that makes it.
    pub factory: SiteId,
    /// The category whose capacity it takes.
    pub category: Category,
    /// Units still to be made.
    pub units: u32,
    /// The first day a unit of it may be finished (acceptance plus lead time, factory-local).
    pub earliest: Date,
}

/// Where [`plan`] put one production order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot<K> {
    /// The job's key.
    pub key: K,
    /// The day its last unit is finished.
    pub finish: Date,
    /// Units taken on each day, in day order.
    pub days: Vec<(Date, u32)>,
}

/// No day can hold the job: its category has a capacity of zero at that factory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("factory {factory} has no capacity for {category:?}")]
pub struct NoCapacity {
    /// The factory.
    pub factory: SiteId,
    /// The category it cannot make.
    pub category: Category,
}

/// Capacity already taken, as units per factory, category and day.
pub type Booked = BTreeMap<(SiteId, Category, Date), u32>;

/// The day the last of `units` would be finished if they took, from `earliest` on, whatever
/// `booked` leaves free of `per_day` (`None`: no limit, so `earliest`). `None` when nothing
/// can ever be made (a capacity of zero). Reads only: [`book`] takes the capacity.
pub fn finish_day(
    per_day: Option<u32>,
    booked: &Booked,
    factory: &SiteId,
    category: Category,
    units: u32,
    earliest: Date,
) -> Option<Date> {
    let Some(cap) = per_day else {
        return Some(earliest);
    };
    if units == 0 {
        return Some(earliest);
    }
    if cap == 0 {
        return None;
    }
    let mut left = units;
    let mut day = earliest;
    loop {
        let used = booked
            .get(&(factory.clone(), category, day))
            .copied()
            .unwrap_or(0);
        let free = cap.saturating_sub(used);
        left = left.saturating_sub(free);
        if left == 0 {
            return Some(day);
        }
        day = day.saturating_add(1.day());
    }
}

/// Takes capacity for `units` from `earliest` on, as [`finish_day`] counts it, and returns
/// the units taken per day (empty without a declared limit; `None`, with nothing taken, for a
/// capacity of zero).
pub fn book(
    per_day: Option<u32>,
    booked: &mut Booked,
    factory: &SiteId,
    category: Category,
    units: u32,
    earliest: Date,
) -> Option<Vec<(Date, u32)>> {
    let Some(cap) = per_day else {
        return Some(Vec::new());
    };
    if cap == 0 && units > 0 {
        return None;
    }
    let mut left = units;
    let mut day = earliest;
    let mut days = Vec::new();
    // Fully booked days are skipped one by one; a queue is at most a few thousand jobs and
    // each job spans few days, so this stays linear in the days actually touched.
    while left > 0 {
        let slot = booked.entry((factory.clone(), category, day)).or_insert(0);
        let free = cap.saturating_sub(*slot);
        if free > 0 {
            let take = free.min(left);
            *slot += take;
            left -= take;
            days.push((day, take));
        }
        if left > 0 {
            day = day.saturating_add(1.day());
        }
    }
    Some(days)
}

/// Plans `queue` (in promise order) onto the factories' daily capacities.
///
/// `booked` is capacity already used by production outside the queue (orders being made whose
/// days are fixed), as units per factory, category and day. A job never takes capacity from a
/// day before its `earliest`, and an earlier job in the queue is never delayed by a later one.
pub fn plan<K: Clone>(
    capacities: &Capacities,
    booked: &Booked,
    queue: &[Job<K>],
) -> Result<Vec<Slot<K>>, NoCapacity> {
    let mut used = booked.clone();
    let mut out = Vec::with_capacity(queue.len());
    for job in queue {
        let per_day = capacities.per_day(&job.factory, job.category);
        let days = book(
            per_day,
            &mut used,
            &job.factory,
            job.category,
            job.units,
            job.earliest,
        )
        .ok_or_else(|| NoCapacity {
            factory: job.factory.clone(),
            category: job.category,
        })?;
        // No declared limit: the lead time alone decides, as before capacities existed.
        let days = if per_day.is_none() {
            vec![(job.earliest, job.units)]
        } else {
            days
        };
        let finish = days.last().map_or(job.earliest, |d| d.0);
        out.push(Slot {
            key: job.key.clone(),
            finish,
            days,
        });
    }
    Ok(out)
}

/// The open production orders of one queue planned again on the day `today` (factory-local):
/// nothing of them is finished before today, and the queue keeps its promise order. This is
/// how an early or late completion (or a cancellation) moves the orders behind it.
pub fn replan<K: Clone>(
    capacities: &Capacities,
    queue: &[Job<K>],
    today: Date,
) -> Result<Vec<Slot<K>>, NoCapacity> {
    let from_today: Vec<Job<K>> = queue
        .iter()
        .map(|j| Job {
            earliest: j.earliest.max(today),
            ..j.clone()
        })
        .collect();
    plan(capacities, &Booked::new(), &from_today)
}

/// A production order whose finish day moved between two plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved<K> {
    /// The job's key.
    pub key: K,
    /// Finish day in the old plan.
    pub was: Date,
    /// Finish day in the new plan.
    pub now: Date,
}

/// The jobs present in both plans whose finish day differs, in the new plan's order.
pub fn changes<K: Clone + Eq + std::hash::Hash>(old: &[Slot<K>], new: &[Slot<K>]) -> Vec<Moved<K>> {
    let before: HashMap<&K, Date> = old.iter().map(|s| (&s.key, s.finish)).collect();
    new.iter()
        .filter_map(|s| {
            let was = *before.get(&s.key)?;
            (was != s.finish).then(|| Moved {
                key: s.key.clone(),
                was,
                now: s.finish,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn factory() -> SiteId {
        SiteId::parse("fx-qingdao", "factory").expect("valid id")
    }

    fn job(key: u32, units: u32, earliest: Date) -> Job<u32> {
        Job {
            key,
            factory: factory(),
            category: Category::Refrigerator,
            units,
            earliest,
        }
    }

    fn caps(per_day: u32) -> Capacities {
        let mut c = Capacities::new();
        c.set(factory(), Category::Refrigerator, per_day);
        c
    }

    #[test]
    fn large_orders_spill_over_days_in_promise_order() {
        let d0 = date(2026, 11, 23);
        let q = [job(1, 10_000, d0), job(2, 10_000, d0), job(3, 10_000, d0)];
        let p = plan(&caps(2_000), &BTreeMap::new(), &q).expect("capacity");
        assert_eq!(p[0].finish, date(2026, 11, 27));
        assert_eq!(p[1].finish, date(2026, 12, 2));
        assert_eq!(p[2].finish, date(2026, 12, 7));
        assert!(
            p.iter()
                .all(|s| s.days.iter().map(|d| d.1).sum::<u32>() == 10_000)
        );
    }

    #[test]
    fn a_small_order_fills_the_gap_a_large_one_left() {
        let d0 = date(2026, 11, 23);
        let q = [job(1, 250, d0), job(2, 100, d0)];
        let p = plan(&caps(300), &BTreeMap::new(), &q).expect("capacity");
        assert_eq!(p[1].days, vec![(d0, 50), (date(2026, 11, 24), 50)]);
    }

    #[test]
    fn nothing_is_finished_before_its_lead_time() {
        let late = date(2026, 11, 30);
        let p = plan(&caps(1_000), &BTreeMap::new(), &[job(1, 5, late)]).expect("capacity");
        assert_eq!(p[0].finish, late);
        assert_eq!(p[0].days, vec![(late, 5)]);
    }

    #[test]
    fn undeclared_capacity_is_the_lead_time_alone() {
        let d0 = date(2026, 11, 23);
        let p = plan(
            &Capacities::new(),
            &BTreeMap::new(),
            &[job(1, 1_000_000, d0)],
        )
        .expect("unlimited");
        assert_eq!(p[0].finish, d0);
    }

    #[test]
    fn zero_capacity_is_an_error_not_a_hang() {
        let d0 = date(2026, 11, 23);
        let e = plan(&caps(0), &BTreeMap::new(), &[job(1, 1, d0)]).unwrap_err();
        assert_eq!(e.category, Category::Refrigerator);
    }

    #[test]
    fn booked_capacity_is_respected() {
        let d0 = date(2026, 11, 23);
        let mut booked = BTreeMap::new();
        booked.insert((factory(), Category::Refrigerator, d0), 100);
        let p = plan(&caps(100), &booked, &[job(1, 1, d0)]).expect("capacity");
        assert_eq!(p[0].finish, date(2026, 11, 24));
    }

    #[test]
    fn early_completion_moves_the_orders_behind_it_forward() {
        let d0 = date(2026, 11, 23);
        let q = [job(1, 3_000, d0), job(2, 1_000, d0)];
        let before = plan(&caps(1_000), &BTreeMap::new(), &q).expect("capacity");
        assert_eq!(before[1].finish, date(2026, 11, 26));
        // Job 1 completes on d0: the rest of the queue is planned again from that day.
        let after = plan(&caps(1_000), &BTreeMap::new(), &q[1..]).expect("capacity");
        let moved = changes(&before, &after);
        assert_eq!(
            moved,
            vec![Moved {
                key: 2,
                was: date(2026, 11, 26),
                now: d0
            }]
        );
    }

    #[test]
    fn finish_day_reads_what_book_then_takes() {
        let d0 = date(2026, 11, 23);
        let mut booked = Booked::new();
        booked.insert((factory(), Category::Refrigerator, d0), 80);
        let f = factory();
        let cat = Category::Refrigerator;
        assert_eq!(
            finish_day(Some(100), &booked, &f, cat, 50, d0),
            Some(date(2026, 11, 24))
        );
        assert_eq!(booked.len(), 1, "finish_day takes nothing");
        let days = book(Some(100), &mut booked, &f, cat, 50, d0).expect("capacity");
        assert_eq!(days, vec![(d0, 20), (date(2026, 11, 24), 30)]);
        assert_eq!(booked[&(f.clone(), cat, d0)], 100);
        assert_eq!(finish_day(Some(0), &booked, &f, cat, 1, d0), None);
        assert_eq!(book(Some(0), &mut booked, &f, cat, 1, d0), None);
        assert_eq!(finish_day(None, &booked, &f, cat, 1_000_000, d0), Some(d0));
    }

    #[test]
    fn replan_starts_nothing_before_today_and_keeps_the_order() {
        let d0 = date(2026, 11, 23);
        let q = [job(1, 1_000, d0), job(2, 500, date(2026, 11, 30))];
        let today = date(2026, 11, 25);
        let p = replan(&caps(1_000), &q, today).expect("capacity");
        assert_eq!(p[0].finish, today);
        assert_eq!(p[1].finish, date(2026, 11, 30));
    }

    #[test]
    fn late_completion_moves_the_orders_behind_it_back() {
        let d0 = date(2026, 11, 23);
        let q = [job(1, 1_000, d0), job(2, 1_000, d0)];
        let before = plan(&caps(1_000), &BTreeMap::new(), &q).expect("capacity");
        // Job 1 is still open three days after it should have finished: from today it takes
        // the first free capacity again, ahead of job 2.
        let today = date(2026, 11, 26);
        let again: Vec<Job<u32>> = q
            .iter()
            .map(|j| Job {
                earliest: j.earliest.max(today),
                ..j.clone()
            })
            .collect();
        let after = plan(&caps(1_000), &BTreeMap::new(), &again).expect("capacity");
        let moved = changes(&before, &after);
        assert_eq!(moved.len(), 2);
        assert_eq!(moved[1].now, date(2026, 11, 27));
    }
}
