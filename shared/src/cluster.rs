//! Clustering of the asset layer for one map view (server side): one
//! supercluster index per kind and health, so a cluster never mixes kinds and
//! assets that need attention (degraded, offline, maintenance) stay visible
//! on their own.

use supercluster::{CoordinateSystem, Supercluster};

use crate::assets::{Asset, AssetKind};
use crate::map::{AssetMarker, View, MAP_WIDTH};

/// Markers closer than this many map pixels merge.
pub const CLUSTER_RADIUS_PX: f64 = 26.0;
const MAX_ZOOM: u8 = 16;

/// The web-mercator zoom whose pixel matches one map unit of `view` at
/// `zoom` (a factor of 2^zoom over the preset).
pub fn mercator_zoom(view: &View, zoom: u8) -> u8 {
    let px_per_degree = MAP_WIDTH / (view.east - view.west) * 2f64.powi(i32::from(zoom));
    let z = (px_per_degree * 360.0 / 256.0).log2().floor();
    z.clamp(0.0, f64::from(MAX_ZOOM)) as u8
}

struct Layer {
    kind: AssetKind,
    attention: bool,
    index: Supercluster,
    /// Index into the snapshot's assets for each loaded point.
    members: Vec<usize>,
}

/// The clustered asset layer, built once per registry snapshot.
pub struct AssetIndex {
    layers: Vec<Layer>,
}

impl AssetIndex {
    pub fn new(assets: &[Asset]) -> Self {
        let mut layers = Vec::new();
        for kind in AssetKind::ALL {
            for attention in [false, true] {
                let members: Vec<usize> = assets
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| {
                        a.draft.kind == kind && a.draft.status.needs_attention() == attention
                    })
                    .map(|(i, _)| i)
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let points = members
                    .iter()
                    .map(|&i| vec![assets[i].draft.lon, assets[i].draft.lat])
                    .collect();
                let features = Supercluster::feature_builder().add_points(points).build();
                let mut index = Supercluster::new(
                    Supercluster::builder()
                        .radius(CLUSTER_RADIUS_PX)
                        .extent(256.0)
                        .min_points(2)
                        .max_zoom(MAX_ZOOM)
                        .coordinate_system(CoordinateSystem::LatLng)
                        .build(),
                );
                if index.load(features).is_err() {
                    continue;
                }
                layers.push(Layer {
                    kind,
                    attention,
                    index,
                    members,
                });
            }
        }
        Self { layers }
    }

    /// The markers inside `view` at `zoom` steps in (each step doubles the
    /// scale), for the kinds asked for.
    pub fn markers(
        &self,
        assets: &[Asset],
        view: &View,
        zoom: u8,
        kinds: &[AssetKind],
    ) -> Vec<AssetMarker> {
        // The scale is the preset's (a view narrowed with `View::within`
        // keeps its preset id); the box is the view's own.
        let z = mercator_zoom(&View::by_id(view.id), zoom);
        let bbox = [view.west, view.south, view.east, view.north];
        let mut out = Vec::new();
        for layer in self.layers.iter().filter(|l| kinds.contains(&l.kind)) {
            let Ok(features) = layer.index.get_clusters(bbox, z) else {
                continue;
            };
            for f in features {
                let Some(geojson024::Value::Point(p)) = f.geometry.as_ref().map(|g| &g.value)
                else {
                    continue;
                };
                let (Some(&lon), Some(&lat)) = (p.first(), p.get(1)) else {
                    continue;
                };
                let props = f.properties.as_ref();
                let count = props
                    .and_then(|m| m.get("point_count"))
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(1);
                let single = if count <= 1 {
                    // A single point's id is its place in the loaded list.
                    match f.id {
                        Some(geojson024::feature::Id::String(ref n)) => n
                            .parse::<usize>()
                            .ok()
                            .and_then(|n| layer.members.get(n))
                            .and_then(|&i| assets.get(i)),
                        _ => None,
                    }
                } else {
                    None
                };
                out.push(AssetMarker {
                    kind: layer.kind,
                    attention: layer.attention,
                    lon,
                    lat,
                    count: count as u32,
                    id: single.map(|a| a.id),
                    name: single.map(|a| a.draft.name.clone()).unwrap_or_default(),
                    status: single.map(|a| a.draft.status),
                    end: single.and_then(|a| a.draft.end),
                    synthetic: single.is_some_and(Asset::is_synthetic),
                });
            }
        }
        out
    }
}
