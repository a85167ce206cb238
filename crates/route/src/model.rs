//! The routing problem as the engine sees it: locations, jobs, vehicles and a travel matrix.
//!
//! The model is what a depot-day needs, and it covers the benchmark families too: loads and
//! capacities have several dimensions (kg, m³, ...); a job delivers goods loaded at the vehicle's
//! start and may pick goods up (the old appliance hauled away) that ride to the vehicle's end;
//! a job may have several time windows and require skills that a vehicle's crew must all have;
//! every vehicle has its own start and end location (so several depots), shift window, maximum
//! route duration, fixed cost and cost per unit of distance. Identical vehicles form a
//! [`VehicleType`] ([`Problem::vehicle_types`]). [`Problem::new`] validates everything, so a
//! `Problem` that exists is consistent; [`Problem::unservable_jobs`] explains which jobs no
//! vehicle can serve.

use crate::error::ModelError;

/// Largest number of locations accepted: the dense matrices take 16·n² bytes.
pub const MAX_LOCATIONS: usize = 10_000;

/// Slack used when comparing times and quantities read from files (Solomon data is integral).
pub const EPS: f64 = 1e-6;

/// A closed interval `[start, end]` of time in which service may start (or a shift runs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeWindow {
    /// Earliest time.
    pub start: f64,
    /// Latest time.
    pub end: f64,
}

impl TimeWindow {
    /// A window; fails if `end < start` or a bound is not finite-or-infinite number.
    pub fn new(start: f64, end: f64) -> Result<Self, ModelError> {
        if start.is_nan() || end.is_nan() || end < start {
            return Err(ModelError::BadWindow { start, end });
        }
        Ok(Self { start, end })
    }

    /// The window that never constrains.
    pub const UNBOUNDED: TimeWindow = TimeWindow {
        start: 0.0,
        end: f64::INFINITY,
    };
}

/// A point on the plane; used for the default Euclidean matrix and for geometric heuristics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// x coordinate.
    pub x: f64,
    /// y coordinate.
    pub y: f64,
}

/// A visit to make: deliver (and maybe install) at a location.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// External id, as numbered in the input (Solomon customer number, VRPLIB node, JSON id).
    pub id: u64,
    /// Index into [`Problem::locations`].
    pub location: usize,
    /// Amount per capacity dimension loaded at the vehicle's start and delivered here (same
    /// length as every vehicle's capacity).
    pub delivery: Vec<f64>,
    /// Amount per capacity dimension picked up here and carried to the vehicle's end (the old
    /// appliance taken away); all zero for a pure delivery.
    pub pickup: Vec<f64>,
    /// Windows in which service may start, sorted and disjoint; never empty.
    pub windows: Vec<TimeWindow>,
    /// Time spent on site after service starts.
    pub service: f64,
    /// Skills a vehicle's crew must have.
    pub skills: Vec<String>,
}

/// A vehicle with its crew and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    /// External id.
    pub id: u64,
    /// Start location index.
    pub start: usize,
    /// End location index.
    pub end: usize,
    /// Capacity per dimension.
    pub capacity: Vec<f64>,
    /// Leave the start no earlier than `shift.start`, reach the end no later than `shift.end`.
    pub shift: TimeWindow,
    /// Maximum time between leaving the start and reaching the end, if any.
    pub max_duration: Option<f64>,
    /// Skills the crew has.
    pub skills: Vec<String>,
    /// Cost paid once if the vehicle is used.
    pub fixed_cost: f64,
    /// Cost per unit of distance driven (1 unless the fleet's vehicles cost differently).
    pub unit_cost: f64,
}

impl Vehicle {
    /// True when `other` differs from `self` only by its id: both can drive the same routes at
    /// the same cost.
    pub fn same_type(&self, other: &Vehicle) -> bool {
        self.start == other.start
            && self.end == other.end
            && self.capacity == other.capacity
            && self.shift == other.shift
            && self.max_duration == other.max_duration
            && self.skills == other.skills
            && self.fixed_cost == other.fixed_cost
            && self.unit_cost == other.unit_cost
    }
}

/// Identical vehicles: the indices (into [`Problem::vehicles`]) of every vehicle of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleType {
    /// Indices of the vehicles of this type, ascending; the first one describes them all.
    pub vehicles: Vec<usize>,
}

/// Travel distances and durations between locations, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    n: usize,
    dist: Vec<f64>,
    time: Vec<f64>,
}

impl Matrix {
    /// Euclidean distances (unrounded, double precision); travel time equals distance.
    pub fn euclidean(locations: &[Location]) -> Self {
        let n = locations.len();
        let mut dist = vec![0.0; n * n];
        for (i, a) in locations.iter().enumerate() {
            for (j, b) in locations.iter().enumerate() {
                dist[i * n + j] = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
            }
        }
        Self {
            n,
            time: dist.clone(),
            dist,
        }
    }

    /// Euclidean distances with every arc truncated to one decimal, the DIMACS 2021 challenge
    /// convention for the Gehring–Homberger tables; travel time equals distance.
    pub fn euclidean_dimacs(locations: &[Location]) -> Self {
        let mut m = Self::euclidean(locations);
        for v in &mut m.dist {
            // The tiny nudge keeps exact tenths (e.g. 0.3 computed as 0.2999…) on their value.
            *v = ((*v * 10.0) + 1e-9).floor() / 10.0;
        }
        m.time = m.dist.clone();
        m
    }

    /// An explicit matrix; `dist` and `time` are `n*n` row-major, non-negative and finite.
    pub fn explicit(n: usize, dist: Vec<f64>, time: Vec<f64>) -> Result<Self, ModelError> {
        if dist.len() != n * n || time.len() != n * n {
            return Err(ModelError::MatrixSize {
                expected: n * n,
                dist: dist.len(),
                time: time.len(),
            });
        }
        if dist
            .iter()
            .chain(time.iter())
            .any(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(ModelError::MatrixValue);
        }
        Ok(Self { n, dist, time })
    }

    /// Number of locations.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True if the matrix has no location.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Distance from location `a` to `b`.
    #[inline]
    pub fn dist(&self, a: usize, b: usize) -> f64 {
        self.dist[a * self.n + b]
    }

    /// Travel time from location `a` to `b`.
    #[inline]
    pub fn time(&self, a: usize, b: usize) -> f64 {
        self.time[a * self.n + b]
    }
}

/// A validated routing problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Instance name (e.g. `C101`).
    pub name: String,
    /// Number of capacity dimensions.
    pub dims: usize,
    /// Locations; jobs and vehicles refer to them by index.
    pub locations: Vec<Location>,
    /// Jobs to serve, all of them.
    pub jobs: Vec<Job>,
    /// Available vehicles; each drives at most one route.
    pub vehicles: Vec<Vehicle>,
    /// Travel matrix over `locations`.
    pub matrix: Matrix,
}

impl Problem {
    /// Validates and builds a problem. `matrix` defaults to Euclidean over `locations`.
    pub fn new(
        name: String,
        locations: Vec<Location>,
        jobs: Vec<Job>,
        vehicles: Vec<Vehicle>,
        matrix: Option<Matrix>,
    ) -> Result<Self, ModelError> {
        if locations.len() > MAX_LOCATIONS {
            return Err(ModelError::TooLarge(locations.len()));
        }
        let matrix = matrix.unwrap_or_else(|| Matrix::euclidean(&locations));
        if matrix.len() != locations.len() {
            return Err(ModelError::MatrixSize {
                expected: locations.len() * locations.len(),
                dist: matrix.len() * matrix.len(),
                time: matrix.len() * matrix.len(),
            });
        }
        if vehicles.is_empty() {
            return Err(ModelError::NoVehicle);
        }
        let dims = vehicles[0].capacity.len();
        let nloc = locations.len();
        let mut seen = std::collections::HashSet::new();
        for j in &jobs {
            if !seen.insert(j.id) {
                return Err(ModelError::DuplicateJob(j.id));
            }
            if j.location >= nloc {
                return Err(ModelError::UnknownLocation {
                    what: format!("job {}", j.id),
                    index: j.location,
                });
            }
            for (what, v) in [("delivery", &j.delivery), ("pickup", &j.pickup)] {
                if v.len() != dims {
                    return Err(ModelError::Dimensions {
                        what: format!("job {} {what}", j.id),
                        got: v.len(),
                        dims,
                    });
                }
                if v.iter().any(|d| !d.is_finite() || *d < 0.0) {
                    return Err(ModelError::Negative {
                        what: format!("job {} {what}", j.id),
                    });
                }
            }
            if !j.service.is_finite() || j.service < 0.0 {
                return Err(ModelError::Negative {
                    what: format!("job {} service time", j.id),
                });
            }
            if j.windows.is_empty() {
                return Err(ModelError::NoWindow(j.id));
            }
            for w in &j.windows {
                TimeWindow::new(w.start, w.end)?;
            }
            if j.windows.windows(2).any(|p| p[1].start < p[0].end) {
                return Err(ModelError::OverlappingWindows(j.id));
            }
        }
        for v in &vehicles {
            if v.start >= nloc || v.end >= nloc {
                return Err(ModelError::UnknownLocation {
                    what: format!("vehicle {}", v.id),
                    index: v.start.max(v.end),
                });
            }
            if v.capacity.len() != dims {
                return Err(ModelError::Dimensions {
                    what: format!("vehicle {}", v.id),
                    got: v.capacity.len(),
                    dims,
                });
            }
            if v.capacity.iter().any(|c| c.is_nan() || *c < 0.0) {
                return Err(ModelError::Negative {
                    what: format!("vehicle {} capacity", v.id),
                });
            }
            TimeWindow::new(v.shift.start, v.shift.end)?;
            if v.max_duration.is_some_and(|d| d.is_nan() || d < 0.0)
                || !v.fixed_cost.is_finite()
                || v.fixed_cost < 0.0
                || !v.unit_cost.is_finite()
                || v.unit_cost < 0.0
            {
                return Err(ModelError::Negative {
                    what: format!("vehicle {} duration, fixed cost or unit cost", v.id),
                });
            }
        }
        Ok(Self {
            name,
            dims,
            locations,
            jobs,
            vehicles,
            matrix,
        })
    }

    /// The vehicles grouped into types of identical vehicles, in order of their first vehicle.
    pub fn vehicle_types(&self) -> Vec<VehicleType> {
        let mut types: Vec<VehicleType> = Vec::new();
        for (k, v) in self.vehicles.iter().enumerate() {
            match types
                .iter_mut()
                .find(|t| self.vehicles[t.vehicles[0]].same_type(v))
            {
                Some(t) => t.vehicles.push(k),
                None => types.push(VehicleType { vehicles: vec![k] }),
            }
        }
        types
    }

    /// Why vehicle `v` cannot serve job `j` alone (on an otherwise empty route), if it cannot.
    pub fn why_not(&self, j: &Job, v: &Vehicle) -> Option<String> {
        for d in 0..self.dims {
            for (what, amount) in [("delivery", j.delivery[d]), ("pickup", j.pickup[d])] {
                if amount > v.capacity[d] + EPS {
                    return Some(format!(
                        "{what} {amount} in dimension {d} exceeds vehicle {}'s capacity {}",
                        v.id, v.capacity[d]
                    ));
                }
            }
        }
        if let Some(s) = j.skills.iter().find(|s| !v.skills.contains(s)) {
            return Some(format!("vehicle {} lacks skill {s:?}", v.id));
        }
        let arrive = v.shift.start + self.matrix.time(v.start, j.location);
        let Some(w) = j.windows.iter().find(|w| w.end + EPS >= arrive) else {
            return Some(format!(
                "vehicle {} arrives at {arrive:.2} at the earliest, after every window closes",
                v.id
            ));
        };
        let begin = arrive.max(w.start);
        let back = begin + j.service + self.matrix.time(j.location, v.end);
        if back > v.shift.end + EPS {
            return Some(format!(
                "vehicle {} would be back at {back:.2}, after its shift ends at {}",
                v.id, v.shift.end
            ));
        }
        if let Some(max) = v.max_duration {
            let dur = self.matrix.time(v.start, j.location)
                + j.service
                + self.matrix.time(j.location, v.end);
            if dur > max + EPS {
                return Some(format!(
                    "vehicle {}'s route would last {dur:.2} > max duration {max}",
                    v.id
                ));
            }
        }
        None
    }

    /// Jobs that no vehicle can serve, each with the reason given by the first vehicle.
    pub fn unservable_jobs(&self) -> Vec<(u64, String)> {
        let types = self.vehicle_types();
        self.jobs
            .iter()
            .filter_map(|j| {
                let mut first = None;
                for t in &types {
                    match self.why_not(j, &self.vehicles[t.vehicles[0]]) {
                        None => return None,
                        Some(r) => {
                            first.get_or_insert(r);
                        }
                    }
                }
                Some((j.id, first.unwrap_or_default()))
            })
            .collect()
    }

    /// Errors with the first unservable job, if any.
    pub fn ensure_servable(&self) -> Result<(), ModelError> {
        match self.unservable_jobs().into_iter().next() {
            Some((job, reason)) => Err(ModelError::Unservable { job, reason }),
            None => Ok(()),
        }
    }
}
