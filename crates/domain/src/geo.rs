//! Geographic coordinates and great-circle distance.

use crate::Invalid;

/// Mean Earth radius in kilometres (IUGG), used for haversine distances.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A validated point on Earth: latitude in [-90, 90], longitude in [-180, 180], both finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

impl LatLon {
    /// Validates a pair of coordinates; `field` prefixes the error path (e.g. `customer`).
    pub fn new(lat: f64, lon: f64, field: &str) -> Result<Self, Invalid> {
        let prefix = |name: &str| {
            if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            }
        };
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Invalid::new(
                prefix("lat"),
                "latitude must be within -90..90",
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(Invalid::new(
                prefix("lon"),
                "longitude must be within -180..180",
            ));
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance in kilometres (haversine formula).
    pub fn distance_km(&self, other: &LatLon) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_impossible_coordinates() {
        assert_eq!(
            LatLon::new(91.0, 0.0, "customer").unwrap_err().field,
            "customer.lat"
        );
        assert_eq!(
            LatLon::new(0.0, -180.5, "customer").unwrap_err().field,
            "customer.lon"
        );
        assert!(LatLon::new(f64::NAN, 0.0, "").is_err());
    }

    #[test]
    fn qingdao_to_seoul_is_about_600_km() {
        let qingdao = LatLon::new(36.07, 120.38, "").unwrap();
        let seoul = LatLon::new(37.57, 126.98, "").unwrap();
        let d = qingdao.distance_km(&seoul);
        assert!((560.0..640.0).contains(&d), "{d}");
    }
}
