//! Chainage: placing "N km from landing station Y" on a cable's route.
//!
//! Distances are geodesic (WGS84, Karney) along the route's segments. A
//! route is measured from the end nearest the reference station; a station
//! further than [`MAX_STATION_TO_ROUTE_END_KM`] from both ends leaves the
//! fault unplaced.

use geo::{Densify, Distance, Geodesic, InterpolatePoint, LineString, Point};
use serde::{Deserialize, Serialize};

/// How far a reference station may lie from a route end and still anchor it.
pub const MAX_STATION_TO_ROUTE_END_KM: f64 = 30.0;

/// Where a chainage lands on a route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Placement {
    pub lon: f64,
    pub lat: f64,
    /// Distance along the route from the anchoring end, in km.
    pub along_km: f64,
    /// True when the stated km exceeds the route's length (pin clamped to the far end).
    pub beyond_route: bool,
}

/// The longest straight (lon/lat) step a drawn route may take, in km.
///
/// A GeoJSON LineString (RFC 7946) and the SVG map join vertices with straight
/// lines in lon/lat, while pins are placed along the geodesic: on a 200 km
/// segment the two part by up to 0.7 km. With a vertex at least every
/// `DENSIFY_KM` they agree within a few metres (the gap grows with the square
/// of the step).
pub const DENSIFY_KM: f64 = 10.0;

/// `route` with vertices added along each segment's geodesic so that no step
/// is longer than `max_km`. The original vertices are kept, in order.
pub fn densify(route: &[(f64, f64)], max_km: f64) -> Vec<(f64, f64)> {
    if route.len() < 2 || !max_km.is_finite() || max_km <= 0.0 {
        return route.to_vec();
    }
    let line: LineString<f64> = route.iter().copied().collect();
    Geodesic
        .densify(&line, max_km * 1000.0)
        .coords()
        .map(|c| (c.x, c.y))
        .collect()
}

/// Geodesic length of a route given as (lon, lat) points, in km.
pub fn route_length_km(route: &[(f64, f64)]) -> f64 {
    route
        .windows(2)
        .map(|w| Geodesic.distance(Point::new(w[0].0, w[0].1), Point::new(w[1].0, w[1].1)))
        .sum::<f64>()
        / 1000.0
}

/// Places `km` along `route` measured from the end nearest `station` (lon, lat).
/// Returns `None` for an empty route, a negative or non-finite km, or a
/// station that is near neither end.
pub fn place(route: &[(f64, f64)], station: (f64, f64), km: f64) -> Option<Placement> {
    if route.len() < 2 || !km.is_finite() || km < 0.0 {
        return None;
    }
    let st = Point::new(station.0, station.1);
    let first = route[0];
    let last = route[route.len() - 1];
    let d_first = Geodesic.distance(st, Point::new(first.0, first.1)) / 1000.0;
    let d_last = Geodesic.distance(st, Point::new(last.0, last.1)) / 1000.0;
    if d_first.min(d_last) > MAX_STATION_TO_ROUTE_END_KM {
        return None;
    }
    let pts: Vec<Point> = if d_first <= d_last {
        route.iter().map(|&(x, y)| Point::new(x, y)).collect()
    } else {
        route.iter().rev().map(|&(x, y)| Point::new(x, y)).collect()
    };
    let mut remaining = km * 1000.0;
    for w in pts.windows(2) {
        let seg = Geodesic.distance(w[0], w[1]);
        if remaining <= seg {
            let p = Geodesic.point_at_distance_between(w[0], w[1], remaining);
            return Some(Placement {
                lon: p.x(),
                lat: p.y(),
                along_km: km,
                beyond_route: false,
            });
        }
        remaining -= seg;
    }
    let end = pts[pts.len() - 1];
    Some(Placement {
        lon: end.x(),
        lat: end.y(),
        along_km: km - remaining / 1000.0,
        beyond_route: true,
    })
}

/// Distance along `route` from its start to the point of the route nearest
/// `p`, in km: the inverse of [`place`], used to check placements.
pub fn along_route_km(route: &[(f64, f64)], p: (f64, f64)) -> f64 {
    let target = Point::new(p.0, p.1);
    let mut best = (f64::INFINITY, 0.0);
    let mut walked = 0.0;
    for w in route.windows(2) {
        let a = Point::new(w[0].0, w[0].1);
        let b = Point::new(w[1].0, w[1].1);
        let seg = Geodesic.distance(a, b);
        // Sample the segment finely; segments here are at most a few hundred km.
        let steps = ((seg / 100.0).ceil() as usize).max(1);
        for i in 0..=steps {
            let along = seg * i as f64 / steps as f64;
            let q = Geodesic.point_at_distance_between(a, b, along);
            let d = Geodesic.distance(q, target);
            if d < best.0 {
                best = (d, walked + along);
            }
        }
        walked += seg;
    }
    best.1 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tdm2() -> Vec<(f64, f64)> {
        vec![
            (121.423, 25.185),
            (121.6, 25.6),
            (121.5, 26.2),
            (121.0, 26.5),
            (120.49, 26.37),
        ]
    }

    #[test]
    fn places_from_either_end() {
        let r = tdm2();
        let len = route_length_km(&r);
        let from_start = place(&r, (121.423, 25.185), 50.0).expect("placed");
        assert!((along_route_km(&r, (from_start.lon, from_start.lat)) - 50.0).abs() < 0.25);
        let from_end = place(&r, (120.49, 26.37), 50.0).expect("placed");
        assert!((along_route_km(&r, (from_end.lon, from_end.lat)) - (len - 50.0)).abs() < 0.25);
    }

    #[test]
    fn far_station_or_bad_km_is_unplaced() {
        let r = tdm2();
        assert!(place(&r, (118.3, 24.47), 10.0).is_none());
        assert!(place(&r, (121.423, 25.185), -1.0).is_none());
        assert!(place(&r, (121.423, 25.185), f64::NAN).is_none());
        assert!(place(&r[..1], (121.423, 25.185), 1.0).is_none());
    }

    #[test]
    fn beyond_the_route_is_clamped_and_flagged() {
        let r = tdm2();
        let p = place(&r, (121.423, 25.185), 10_000.0).expect("placed");
        assert!(p.beyond_route);
        assert!((p.lon - 120.49).abs() < 1e-9 && (p.lat - 26.37).abs() < 1e-9);
    }

    /// Distance in km from `p` to the route as it is drawn: straight lines in
    /// lon/lat between vertices (what GeoJSON and the SVG map show).
    fn off_drawn_line_km(route: &[(f64, f64)], p: (f64, f64)) -> f64 {
        let target = Point::new(p.0, p.1);
        route
            .windows(2)
            .flat_map(|w| {
                (0..=200).map(move |i| {
                    let t = f64::from(i) / 200.0;
                    Point::new(
                        w[0].0 + (w[1].0 - w[0].0) * t,
                        w[0].1 + (w[1].1 - w[0].1) * t,
                    )
                })
            })
            .map(|q| Geodesic.distance(q, target))
            .fold(f64::INFINITY, f64::min)
            / 1000.0
    }

    #[test]
    fn densifying_keeps_the_vertices_and_the_length() {
        let r = tdm2();
        let d = densify(&r, DENSIFY_KM);
        assert!(
            d.len() as f64 >= (route_length_km(&r) / DENSIFY_KM).ceil(),
            "{} vertices",
            d.len()
        );
        assert_eq!(d.first(), r.first());
        assert_eq!(d.last(), r.last());
        for v in &r {
            assert!(d.contains(v), "vertex {v:?} kept");
        }
        for w in d.windows(2) {
            let step = Geodesic.distance(Point::new(w[0].0, w[0].1), Point::new(w[1].0, w[1].1));
            assert!(step <= DENSIFY_KM * 1000.0 + 1.0, "step {step} m");
        }
        assert!((route_length_km(&d) - route_length_km(&r)).abs() < 0.01);
        assert_eq!(densify(&r[..1], DENSIFY_KM), r[..1].to_vec());
    }

    #[test]
    fn a_long_segment_draws_away_from_its_pins_until_densified() {
        // One 200 km sea segment, as EAC1 had: the pin at its middle lies
        // well off the straight lon/lat line, and on it once densified.
        let r = vec![(121.3832, 25.15), (122.0, 27.0)];
        let mid = route_length_km(&r) / 2.0;
        let p = place(&r, r[0], mid).expect("placed");
        assert!(off_drawn_line_km(&r, (p.lon, p.lat)) > 0.1);
        let d = densify(&r, DENSIFY_KM);
        let p = place(&d, d[0], mid).expect("placed");
        assert!(off_drawn_line_km(&d, (p.lon, p.lat)) < 0.02);
    }

    proptest! {
        #[test]
        fn every_cable_pin_lies_on_its_drawn_route(i in 0usize..64, frac in 0.0f64..1.0) {
            let cables = crate::reference::cables().expect("reference");
            let routed: Vec<_> = cables.iter().filter(|c| c.route.len() >= 2).collect();
            let c = routed[i % routed.len()];
            let km = route_length_km(&c.route) * frac;
            let p = place(&c.route, c.route[0], km).expect("placed");
            let off = off_drawn_line_km(&c.route, (p.lon, p.lat));
            prop_assert!(off < 0.05, "{} at {km:.1} km: {off:.3} km off the drawn line", c.abbrev);
        }

        #[test]
        fn pin_lies_on_route_at_stated_distance(frac in 0.0f64..1.0) {
            let r = tdm2();
            let km = route_length_km(&r) * frac;
            let p = place(&r, r[0], km).expect("placed");
            prop_assert!(!p.beyond_route);
            let back = along_route_km(&r, (p.lon, p.lat));
            prop_assert!((back - km).abs() <= (km * 0.005).max(0.2), "km {km} back {back}");
        }
    }
}
