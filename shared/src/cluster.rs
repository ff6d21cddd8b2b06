//! Clustering of the asset layer for one map view (server side): one
//! supercluster index per kind and health, so a cluster never mixes kinds and
//! assets that need attention (degraded, offline, maintenance) stay visible
//! on their own.

use supercluster::{CoordinateSystem, Supercluster};

use crate::assets::{Asset, AssetKind};
use crate::map::{asset_elements, AssetMarker, View, ASSET_ELEMENT_BUDGET, MAP_WIDTH};

/// Markers closer than this many map pixels merge.
pub const CLUSTER_RADIUS_PX: f64 = 40.0;
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
    /// scale), for the kinds asked for. Where the assets are too dense for
    /// [`ASSET_ELEMENT_BUDGET`], they are clustered a zoom level coarser
    /// (twice the radius) until they fit, so the map stays light whatever
    /// the size of the registry.
    pub fn markers(
        &self,
        assets: &[Asset],
        view: &View,
        zoom: u8,
        kinds: &[AssetKind],
    ) -> Vec<AssetMarker> {
        // The scale is the preset's (a view narrowed with `View::within`
        // keeps its preset id); the box is the view's own.
        let mut z = mercator_zoom(&View::by_id(view.id), zoom);
        let bbox = [view.west, view.south, view.east, view.north];
        loop {
            let out = self.markers_at(assets, bbox, z, kinds);
            if z == 0 || asset_elements(&out) <= ASSET_ELEMENT_BUDGET {
                return out;
            }
            z -= 1;
        }
    }

    fn markers_at(
        &self,
        assets: &[Asset],
        bbox: [f64; 4],
        z: u8,
        kinds: &[AssetKind],
    ) -> Vec<AssetMarker> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::SOURCE_SYNTHETIC;
    use crate::inventory::{demo_inventory, synthetic_inventory};
    use crate::map::VIEWS;

    /// The benchmark's registry: the demo inventory topped up to 20,000.
    fn registry() -> Vec<Asset> {
        let mut drafts = demo_inventory();
        let more = 20_000 - drafts.len();
        drafts.extend(synthetic_inventory(7, more));
        drafts
            .into_iter()
            .enumerate()
            .map(|(i, draft)| Asset {
                id: i as i64 + 1,
                draft,
                source: SOURCE_SYNTHETIC.into(),
                version: 1,
            })
            .collect()
    }

    #[test]
    fn every_view_fits_the_element_budget_and_loses_no_asset() {
        let assets = registry();
        let index = AssetIndex::new(&assets);
        for v in VIEWS {
            for zoom in 0..=5 {
                let markers = index.markers(&assets, &v, zoom, &AssetKind::ALL);
                let drawn = asset_elements(&markers);
                assert!(
                    drawn <= ASSET_ELEMENT_BUDGET,
                    "{} zoom {zoom}: {drawn} elements",
                    v.id
                );
                assert!(!markers.is_empty(), "{} zoom {zoom}", v.id);
            }
        }
        // At Taiwan's extent every asset in the box is counted exactly once.
        let v = View::by_id("taiwan");
        let inside = assets
            .iter()
            .filter(|a| {
                (v.west..=v.east).contains(&a.draft.lon)
                    && (v.south..=v.north).contains(&a.draft.lat)
            })
            .count();
        let shown: u32 = index
            .markers(&assets, &v, 0, &AssetKind::ALL)
            .iter()
            .map(|m| m.count)
            .sum();
        assert_eq!(shown as usize, inside);
    }

    #[test]
    fn sparse_views_keep_their_single_assets() {
        // Zoomed in on Matsu, as the map asks (the visible box at zoom 5, a
        // 32nd of the preset's width, over every such box), most markers are
        // single assets with their own id.
        let assets = registry();
        let index = AssetIndex::new(&assets);
        let v = View::by_id("matsu");
        let (dw, dh) = ((v.east - v.west) / 32.0, (v.north - v.south) / 32.0);
        let (mut single, mut all) = (0, 0);
        for i in 0..32 {
            for j in 0..32 {
                let (w, s) = (v.west + dw * f64::from(i), v.south + dh * f64::from(j));
                let tile = v.within(&[w, s, w + dw, s + dh]);
                let markers = index.markers(&assets, &tile, 5, &AssetKind::ALL);
                single += markers.iter().filter(|m| m.id.is_some()).count();
                all += markers.len();
            }
        }
        assert!(all > 0 && single * 2 > all, "{single} of {all}");
    }

    #[test]
    fn the_layer_markup_is_one_element_per_marker_and_a_count_per_cluster() {
        let assets = registry();
        let index = AssetIndex::new(&assets);
        let v = View::by_id("taiwan");
        let markers = index.markers(&assets, &v, 0, &AssetKind::ALL);
        let svg = v.asset_layer_svg(1.0, &markers);
        let tags = svg.matches('<').count() - svg.matches("</").count();
        assert_eq!(tags, asset_elements(&markers), "one tag per element");
        for (i, m) in markers.iter().enumerate() {
            assert!(svg.contains(&format!("data-i=\"{i}\"")), "marker {i}");
            if let Some(id) = m.id {
                assert!(svg.contains(&format!("data-asset=\"{id}\"")));
            }
        }
        assert!(svg.contains("class=\"count\""), "clusters show their count");
        // Asset names never reach the markup.
        assert!(!markers
            .iter()
            .any(|m| !m.name.is_empty() && svg.contains(&m.name)));
    }
}
