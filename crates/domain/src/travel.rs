//! Travel between two places on the road, estimated from their coordinates.
//!
//! [`RoadModel::travel`] is the one function that turns two coordinates into a driving distance
//! and time: the great-circle distance times a road factor (roads wind; 1.3 is the usual
//! ratio of road to straight-line distance in towns), driven at a depot's average speed. A
//! road-network router can replace it later behind the same function.

use crate::LatLon;

/// How a depot's trucks move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoadModel {
    /// Road distance over great-circle distance.
    pub road_factor: f64,
    /// Average speed, km/h, stops at lights and parking included.
    pub speed_kmh: f64,
}

impl Default for RoadModel {
    fn default() -> Self {
        RoadModel {
            road_factor: 1.3,
            speed_kmh: 35.0,
        }
    }
}

impl RoadModel {
    /// Road kilometres and driving minutes from `a` to `b`.
    pub fn travel(&self, a: &LatLon, b: &LatLon) -> (f64, f64) {
        let km = a.distance_km(b) * self.road_factor;
        (km, km / self.speed_kmh * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_straight_kilometres_are_thirteen_on_the_road_and_22_minutes() {
        let a = LatLon::new(45.0, 9.0, "").unwrap();
        // 0.0899° of latitude is about 10 km.
        let b = LatLon::new(45.0899, 9.0, "").unwrap();
        let (km, minutes) = RoadModel::default().travel(&a, &b);
        assert!((km - 13.0).abs() < 0.05, "{km}");
        assert!((minutes - 22.3).abs() < 0.1, "{minutes}");
        assert_eq!(RoadModel::default().travel(&a, &a), (0.0, 0.0));
    }
}
