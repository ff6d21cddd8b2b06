//! The map: cables coloured by state, landing stations and fault pins, as an
//! SVG rendered on the server (complete before the wasm loads, and printable)
//! and interactive after hydration: zoom presets, layer switches, a panel for
//! the clicked fault. Routes are schematic and pins approximate; the map says so.

use leptos::prelude::*;
use shared::assets::AssetKind;
use shared::map::{AssetMarker, MapData, View, MAP_WIDTH, VIEWS};

use crate::api::{asset_markers, map_data};
use crate::i18n::*;
use crate::util::{asset_kind_label, asset_status_label, kind_label, view_label};

/// Deepest zoom step (each step doubles the scale of the preset).
const MAX_ZOOM: u8 = 5;

/// The visible part of the map: a preset, a zoom step and a centre in the
/// preset's SVG units. Pan and zoom only change the SVG viewBox, so a step
/// costs one attribute write; the asset layer is fetched again for the new
/// area when the zoom changes or the centre moves far enough.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Camera {
    zoom: u8,
    cx: f64,
    cy: f64,
}

impl Camera {
    fn home(v: &View) -> Self {
        Self {
            zoom: 0,
            cx: MAP_WIDTH / 2.0,
            cy: v.height() / 2.0,
        }
    }

    fn scale(&self) -> f64 {
        f64::from(1u32 << self.zoom)
    }

    /// (x, y, w, h) of the viewBox, kept inside the preset.
    fn view_box(&self, v: &View) -> (f64, f64, f64, f64) {
        let (w, h) = (MAP_WIDTH / self.scale(), v.height() / self.scale());
        let x = (self.cx - w / 2.0).clamp(0.0, MAP_WIDTH - w);
        let y = (self.cy - h / 2.0).clamp(0.0, v.height() - h);
        (x, y, w, h)
    }

    /// The lon/lat box shown, for fetching the asset layer.
    fn bbox(&self, v: &View) -> [f64; 4] {
        let (x, y, w, h) = self.view_box(v);
        let lon = |px: f64| v.west + px / MAP_WIDTH * (v.east - v.west);
        let lat = |py: f64| v.north - py / v.height() * (v.north - v.south);
        [lon(x), lat(y + h), lon(x + w), lat(y)]
    }

    /// The fetch key: the zoom and the centre rounded to a quarter of the
    /// visible width, so small pans do not refetch. Written out as
    /// `zoom/x/y`; the map carries the camera's key and the asset layer the
    /// key it was drawn for (`data-key`), so a test or a benchmark can wait
    /// for the layer to be current.
    fn fetch_key(&self, v: &View) -> String {
        let (_, _, w, h) = self.view_box(v);
        format!(
            "{}/{}/{}",
            self.zoom,
            (self.cx / (w / 4.0)).round() as i64,
            (self.cy / (h / 4.0)).round() as i64,
        )
    }
}

/// The asset layer as fetched for one camera key.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Drawn {
    key: String,
    zoom: u8,
    markers: Vec<AssetMarker>,
}

#[component]
pub fn MapPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = crate::live::use_live();
    // Re-read when a fault, notice or maintenance event arrives.
    // `?as_of=`: the faults and maintenance as they stood then.
    let as_of = crate::history::use_as_of();
    let data = Resource::new(
        move || (as_of.get(), live.faults.get()),
        |(at, _)| map_data(at),
    );
    let show_cables = RwSignal::new(true);
    let show_stations = RwSignal::new(true);
    let show_faults = RwSignal::new(true);
    // `?view=matsu` opens a preset (kiosk links use it); `?assets=0` starts
    // with the asset layer off.
    let query = leptos_router::hooks::use_query_map();
    let start = query.with_untracked(|q| {
        let v = q.get("view").unwrap_or_default();
        VIEWS
            .iter()
            .find(|x| x.id == v)
            .map(|x| x.id)
            .unwrap_or("taiwan")
    });
    let view_id = RwSignal::new(start);
    let show_assets =
        RwSignal::new(query.with_untracked(|q| q.get("assets").as_deref() != Some("0")));
    let kinds = RwSignal::new(AssetKind::ALL.to_vec());
    let selected = RwSignal::new(None::<i64>);
    let selected_asset = RwSignal::new(None::<AssetMarker>);
    let camera = RwSignal::new(Camera::home(&View::by_id(start)));
    // A new preset starts at its whole extent.
    let choose_view = move |id: &'static str| {
        view_id.set(id);
        camera.set(Camera::home(&View::by_id(id)));
    };
    let assets = Resource::new(
        move || {
            let v = View::by_id(view_id.get());
            let cam = camera.get();
            (
                show_assets.get(),
                v.id,
                cam.fetch_key(&v),
                kinds.get(),
                live.assets.get(),
            )
        },
        move |(show, id, key, kinds, _)| {
            let cam = camera.get_untracked();
            let v = View::by_id(id);
            async move {
                if !show || kinds.is_empty() {
                    return Ok(Drawn {
                        key,
                        zoom: cam.zoom,
                        markers: Vec::new(),
                    });
                }
                asset_markers(id.to_string(), cam.zoom, cam.bbox(&v).to_vec(), kinds)
                    .await
                    .map(|markers| Drawn {
                        key,
                        zoom: cam.zoom,
                        markers,
                    })
            }
        },
    );
    let toggle = |label: &'static str, id: &'static str, sig: RwSignal<bool>| {
        view! {
            <label class="layer">
                <input type="checkbox" id=id prop:checked=move || sig.get()
                    on:change=move |ev| sig.set(event_target_checked(&ev)) />
                {label}
            </label>
        }
    };
    view! {
        <section class="map-page">
            <div class="page-head">
                <h1>{t!(i18n, map_title)}</h1>
                <crate::history::AsOfPicker action="/map" value=as_of />
            </div>
            {move || as_of.get().map(|at| view! {
                <crate::history::HistoryBanner as_of=at back="/map" />
                <p class="note">{t!(i18n, hist_assets_note)}</p>
            })}
            <div class="map-controls">
                <span class="presets">
                    {VIEWS.into_iter().map(|v| view! {
                        <button type="button" class="preset" data-view=v.id
                            class:active=move || view_id.get() == v.id
                            on:click=move |_| choose_view(v.id)>{move || view_label(i18n, v.id)}</button>
                    }).collect_view()}
                </span>
                {toggle(t_string!(i18n, map_layer_cables), "layer-cables", show_cables)}
                {toggle(t_string!(i18n, map_layer_stations), "layer-stations", show_stations)}
                {toggle(t_string!(i18n, map_layer_faults), "layer-faults", show_faults)}
                {toggle(t_string!(i18n, map_layer_assets), "layer-assets", show_assets)}
                <span class="zoom">
                    <button type="button" id="zoom-in" title=move || t_string!(i18n, map_zoom_in)
                        on:click=move |_| camera.update(|c| c.zoom = (c.zoom + 1).min(MAX_ZOOM))>"+"</button>
                    <button type="button" id="zoom-out" title=move || t_string!(i18n, map_zoom_out)
                        on:click=move |_| camera.update(|c| c.zoom = c.zoom.saturating_sub(1))>"−"</button>
                    <button type="button" id="zoom-reset" title=move || t_string!(i18n, map_reset)
                        on:click=move |_| camera.set(Camera::home(&View::by_id(view_id.get_untracked())))>"⟲"</button>
                </span>
                <details class="kinds">
                    <summary>{t!(i18n, map_layer_assets)}</summary>
                    {AssetKind::ALL.into_iter().map(|k| view! {
                        <label class="layer">
                            <input type="checkbox" data-kind=k.as_str()
                                prop:checked=move || kinds.with(|ks| ks.contains(&k))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    kinds.update(|ks| {
                                        ks.retain(|x| *x != k);
                                        if on { ks.push(k); ks.sort(); }
                                    });
                                } />
                            <span class=format!("swatch asset {}", k.as_str())></span>
                            {move || asset_kind_label(i18n, k)}
                        </label>
                    }).collect_view()}
                </details>
            </div>
            <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! {
                            <MapSvg data=d.clone() view_id show_cables show_stations show_faults selected
                                camera assets show_assets selected_asset />
                            <AssetPanel selected_asset />
                            <FaultPanel data=d selected />
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <p class="muted">{t!(i18n, map_note)}" "{t!(i18n, map_assets_synthetic)}" "{shared::map::LAND_ATTRIBUTION}</p>
        </section>
    }
}

#[component]
fn MapSvg(
    data: MapData,
    view_id: RwSignal<&'static str>,
    show_cables: RwSignal<bool>,
    show_stations: RwSignal<bool>,
    show_faults: RwSignal<bool>,
    selected: RwSignal<Option<i64>>,
    camera: RwSignal<Camera>,
    assets: Resource<Result<Drawn, ServerFnError>>,
    show_assets: RwSignal<bool>,
    selected_asset: RwSignal<Option<AssetMarker>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let data = StoredValue::new(data);
    let v = move || View::by_id(view_id.get());
    // Symbols keep their size on screen whatever the zoom.
    let k = move || 1.0 / camera.get().scale();
    // Drag to pan: the start point in client pixels and the camera then.
    let drag = StoredValue::new(None::<(f64, f64, Camera)>);
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    // The asset markers drawn now, in `data-i` order.
    let shown = StoredValue::new(Vec::<AssetMarker>::new());
    // The map's width on screen, as the last layout left it (a
    // ResizeObserver reports it): reading `clientWidth` during a drag would
    // force a layout of whatever the last redraw changed.
    let width = StoredValue::new(0.0f64);
    #[cfg(feature = "hydrate")]
    {
        let watch = StoredValue::new_local(None::<WidthWatch>);
        Effect::new(move |_| {
            if let Some(el) = svg_ref.get() {
                watch.set_value(WidthWatch::start(&el, width));
            }
        });
    }
    let units_per_px = move || {
        let w = Some(width.get_value())
            .filter(|w| *w > 0.0)
            .or_else(|| {
                svg_ref
                    .get_untracked()
                    .map(|e| f64::from(e.client_width()))
                    .filter(|w| *w > 0.0)
            })
            .unwrap_or(MAP_WIDTH);
        MAP_WIDTH / camera.get_untracked().scale() / w
    };
    let on_down = move |ev: leptos::ev::PointerEvent| {
        drag.set_value(Some((
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
            camera.get_untracked(),
        )));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        if let Some((x0, y0, c0)) = drag.get_value() {
            let u = units_per_px();
            let (dx, dy) = (f64::from(ev.client_x()) - x0, f64::from(ev.client_y()) - y0);
            if dx.abs() + dy.abs() > 2.0 {
                let vv = v();
                let mut c = c0;
                c.cx = c0.cx - dx * u;
                c.cy = c0.cy - dy * u;
                // Keep the centre where the viewBox can reach.
                let (x, y, w, h) = c.view_box(&vv);
                c.cx = x + w / 2.0;
                c.cy = y + h / 2.0;
                camera.set(c);
            }
        }
    };
    let on_up = move |_| drag.set_value(None);
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        camera.update(|c| {
            c.zoom = if ev.delta_y() < 0.0 {
                (c.zoom + 1).min(MAX_ZOOM)
            } else {
                c.zoom.saturating_sub(1)
            }
        });
    };
    // A round distance about a fifth of the view's width.
    let scale_km = move || match v().east - v().west {
        w if w > 10.0 => 500.0,
        w if w > 2.0 => 100.0,
        _ => 10.0,
    };
    view! {
        <svg id="map" class="map" role="img" node_ref=svg_ref
            data-zoom=move || camera.get().zoom
            data-key=move || camera.get().fetch_key(&v())
            viewBox=move || {
                let (x, y, w, h) = camera.get().view_box(&v());
                format!("{x:.1} {y:.1} {w:.1} {h:.1}")
            }
            on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up on:pointerleave=on_up
            on:wheel=on_wheel>
            <title>{t!(i18n, map_title)}" — "{t!(i18n, map_note)}</title>
            <rect class="sea" x="0" y="0" width=MAP_WIDTH height=move || format!("{:.0}", v().height()) />
            <use id="land" class="land" href=move || v().land_href() />
            <g id="cables" class:hidden=move || !show_cables.get()>
                {move || data.with_value(|d| d.cables.iter().map(|c| {
                    let path = v().path(&c.route);
                    let class = format!("cable {}", c.state.as_str());
                    let abbrev = c.abbrev.clone();
                    // The selected fault's alternate routes are highlighted.
                    let alternate = move || {
                        let a = abbrev.clone();
                        selected.get().is_some_and(|id| data.with_value(|d| {
                            d.faults.iter().any(|f| f.id == id && f.alternates.contains(&a))
                        }))
                    };
                    let carrying = d.carrying.contains(&c.abbrev);
                    view! {
                        <path class=class class:alternate=alternate class:carrying=carrying d=path data-cable=c.abbrev.clone() data-state=c.state.as_str()>
                            <title>{format!("{} {} ({})", c.abbrev, c.name_zh, c.state.as_str())}</title>
                        </path>
                    }
                }).collect_view())}
            </g>
            // Outlying islands' resilience status (from the engine): a badge
            // at each island; the cables carrying their traffic are drawn
            // bolder (`.carrying`).
            <g id="islands">
                {move || data.with_value(|d| d.islands.iter().map(|i| {
                    let (x, y) = v().project(i.lon, i.lat);
                    let (region, status) = (i.region, i.status);
                    let cov = i.coverage.map(|c| format!(" {}", crate::resilience::pct(Some(c)))).unwrap_or_default();
                    // Text only: the map is one image (`role=img`), so nothing
                    // in it is focusable; the island's card is on /resilience.
                    view! {
                        <text class=format!("island-badge res-{}", status.as_str()) x=format!("{x:.1}") y=format!("{y:.1}")
                            font-size=move || format!("{:.1}", 13.0 * k()) data-region=region.id() data-status=status.as_str()>
                            {move || format!("{} · {}{cov}", crate::resilience::region_label(i18n, region), crate::resilience::status_label(i18n, status))}
                        </text>
                    }
                }).collect_view())}
            </g>
            <g id="stations" class:hidden=move || !show_stations.get()>
                {move || data.with_value(|d| d.stations.iter().map(|s| {
                    let (x, y) = v().project(s.lon, s.lat);
                    let class = if s.approximate { "station approximate" } else { "station" };
                    view! {
                        <circle class=class cx=format!("{x:.1}") cy=format!("{y:.1}") r=move || format!("{:.2}", 4.0 * k()) data-station=s.id.clone()>
                            <title>{format!("{} {}", s.name_zh, s.name_en)}</title>
                        </circle>
                    }
                }).collect_view())}
            </g>
            <g id="faults" class:hidden=move || !show_faults.get()>
                {move || data.with_value(|d| d.faults.iter().filter_map(|f| {
                    let (lon, lat) = f.position?;
                    let (x, y) = v().project(lon, lat);
                    let id = f.id;
                    let points = move || {
                        let r = 7.0 * k();
                        format!("{:.2},{:.2} {:.2},{:.2} {:.2},{:.2} {:.2},{:.2}", x, y - r, x + r, y, x, y + r, x - r, y)
                    };
                    Some(view! {
                        <polygon class=format!("pin {}", f.kind.as_str()) points=points data-fault=id data-cable=f.cable.clone()
                            class:selected=move || selected.get() == Some(id)
                            on:click=move |_| selected.set(Some(id))>
                            <title>{format!("{} {}", f.cable, f.description)}</title>
                        </polygon>
                    })
                }).collect_view())}
            </g>
            // The asset layer is one string of markup (`View::asset_layer_svg`)
            // set in one go, and one click handler finds the marker by its
            // `data-i`: a redraw costs no per-marker views or closures.
            <g id="assets" class:hidden=move || !show_assets.get()
                on:click=move |ev| {
                    let Some(m) = marker_index(&ev).and_then(|i| shown.with_value(|ms| ms.get(i).cloned())) else {
                        return;
                    };
                    if m.count > 1 {
                        // A cluster: zoom in on it.
                        let (x, y) = v().project(m.lon, m.lat);
                        camera.update(|c| {
                            c.cx = x;
                            c.cy = y;
                            c.zoom = (c.zoom + 1).min(MAX_ZOOM);
                        });
                    }
                    selected_asset.set(Some(m));
                }>
                <Transition>
                    {move || Suspend::new(async move {
                        let Drawn { key, zoom, markers } = assets.await.unwrap_or_default();
                        let markup = v().asset_layer_svg(1.0 / f64::from(1u32 << zoom), &markers);
                        shown.set_value(markers);
                        view! { <g class="markers" data-key=key inner_html=markup></g> }
                    })}
                </Transition>
            </g>
            // Cable and station names that fit this zoom without overlapping
            // (`View::labels`): faulted cables first, stations in the UI language.
            <g id="labels" class="labels" aria-hidden="true" class:hidden=move || !show_cables.get() && !show_stations.get()>
                {move || {
                    let vv = v();
                    let english = i18n.get_locale() == Locale::en;
                    let kk = k();
                    let labels = data.with_value(|d| vv.labels(d, camera.get().view_box(&vv), kk, english));
                    let font = format!("{:.2}", shared::map::LABEL_FONT * kk);
                    labels.into_iter().map(|l| view! {
                        <text class=format!("label {}", l.class) data-label=l.of
                            x=format!("{:.2}", l.x) y=format!("{:.2}", l.y) font-size=font.clone()>{l.text}</text>
                    }).collect_view()
                }}
            </g>
            <g class="scale">
                {move || {
                    let (x, y, _, h) = camera.get().view_box(&v());
                    let kk = k();
                    let km = scale_km() * kk;
                    let km = if km >= 1.0 { km.round() } else { (km * 10.0).round() / 10.0 };
                    let (x0, y0) = (x + 20.0 * kk, y + h - 20.0 * kk);
                    view! {
                        <line x1=format!("{x0:.2}") x2=format!("{:.2}", x0 + v().km_to_px(km))
                            y1=format!("{y0:.2}") y2=format!("{y0:.2}") />
                        <text x=format!("{x0:.2}") y=format!("{:.2}", y0 - 8.0 * kk) font-size=format!("{:.2}", 14.0 * kk)>{format!("{km} km")}</text>
                    }
                }}
            </g>
        </svg>
        <Legend />
    }
}

/// Keeps `width` at the element's rendered width; stops when dropped.
#[cfg(feature = "hydrate")]
struct WidthWatch {
    observer: web_sys::ResizeObserver,
    _on_resize: wasm_bindgen::closure::Closure<dyn FnMut(js_sys::Array)>,
}

#[cfg(feature = "hydrate")]
impl WidthWatch {
    fn start(el: &web_sys::Element, width: StoredValue<f64>) -> Option<Self> {
        use wasm_bindgen::JsCast;
        let on_resize = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(
            move |entries: js_sys::Array| {
                if let Some(e) = entries.get(0).dyn_ref::<web_sys::ResizeObserverEntry>() {
                    let _ = width.try_set_value(e.content_rect().width());
                }
            },
        );
        let observer = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok()?;
        observer.observe(el);
        Some(Self {
            observer,
            _on_resize: on_resize,
        })
    }
}

#[cfg(feature = "hydrate")]
impl Drop for WidthWatch {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

#[component]
fn Legend() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul class="legend">
            <li><span class="swatch in_service"></span>{t!(i18n, map_state_in_service)}</li>
            <li><span class="swatch degraded"></span>{t!(i18n, map_state_degraded)}</li>
            <li><span class="swatch cut"></span>{t!(i18n, map_state_cut)}</li>
            <li><span class="swatch maintenance"></span>{t!(i18n, map_state_maintenance)}</li>
        </ul>
    }
}

#[component]
fn FaultPanel(data: MapData, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let states: std::collections::HashMap<String, shared::map::CableState> = data
        .cables
        .iter()
        .map(|c| (c.abbrev.clone(), c.state))
        .collect();
    let unresolved: Vec<_> = data
        .faults
        .iter()
        .filter(|f| f.position.is_none())
        .cloned()
        .collect();
    let faults = StoredValue::new(data.faults);
    view! {
        <aside id="map-panel" class="map-panel">
            {move || selected.get().and_then(|id| faults.with_value(|fs| fs.iter().find(|f| f.id == id).cloned())).map(|f| view! {
                <h2>{f.cable.clone()}" · "{move || kind_label(i18n, f.kind)}</h2>
                <p>{f.description.clone()}</p>
                <p>{t!(i18n, col_alternate)}": "
                    <span id="panel-alternates">
                    {f.alternates.iter().map(|a| {
                        let faulted = states.get(a).is_some_and(|s| *s != shared::map::CableState::InService);
                        view! {
                            <span class="alt" class:faulted=faulted data-alternate=a.clone()>
                                {a.clone()}{faulted.then(|| view! { " ⚠ " {t!(i18n, map_alternate_faulted)} })}" "
                            </span>
                        }
                    }).collect_view()}
                    </span>
                </p>
                <p><a href=format!("/faults/{}", f.id)>{t!(i18n, map_open_fault)}</a></p>
                <img class="chart" id="panel-outages" width="960" height="146"
                    src=format!(
                        "/api/v1/charts/outages.svg?cable={}&days=365&lang={}",
                        f.cable,
                        if i18n.get_locale() == Locale::en { "en" } else { "zh-TW" },
                    )
                    alt=move || t_string!(i18n, chart_outages) />
            })}
            {(!unresolved.is_empty()).then(|| view! {
                <h3>{t!(i18n, map_unresolved)}</h3>
                <ul id="unresolved">
                    {unresolved.into_iter().map(|f| view! {
                        <li><a href=format!("/faults/{}", f.id)>{format!("{} · {} {} km", f.cable, f.place, f.km)}</a></li>
                    }).collect_view()}
                </ul>
            })}
        </aside>
    }
}

/// The `data-i` of the clicked marker of the asset layer.
fn marker_index(ev: &leptos::ev::MouseEvent) -> Option<usize> {
    use leptos::wasm_bindgen::JsCast;
    ev.target()?
        .dyn_into::<leptos::web_sys::Element>()
        .ok()?
        .get_attribute("data-i")?
        .parse()
        .ok()
}

/// What the clicked asset (or cluster) is, with a link to its page or list.
#[component]
fn AssetPanel(selected_asset: RwSignal<Option<AssetMarker>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <aside id="asset-panel" class="map-panel">
            {move || selected_asset.get().map(|m| {
                let kind = m.kind;
                match m.id {
                    Some(id) if m.count <= 1 => view! {
                        <h2>{m.name.clone()}
                            {m.synthetic.then(|| view! { " " <span class="badge synthetic">{t!(i18n, synthetic)}</span> })}
                        </h2>
                        <p>{move || asset_kind_label(i18n, kind)}" · "
                            {m.status.map(|s| asset_status_label(i18n, s))}</p>
                        <p><a href=format!("/assets/{id}")>{t!(i18n, map_open_asset)}</a></p>
                    }.into_any(),
                    _ => {
                        let count = m.count;
                        view! {
                            <h2>{move || asset_kind_label(i18n, kind)}</h2>
                            <p>{t!(i18n, map_asset_cluster, count = move || count)}</p>
                            <p><a href=format!("/assets?kind={}", kind.as_str())>{t!(i18n, nav_assets)}</a></p>
                        }.into_any()
                    }
                }
            })}
        </aside>
    }
}

/// The map on the briefing wall screen: the whole of Taiwan and its outlying
/// islands, drawn once on the server (no control, nothing to click): cables
/// by state (those carrying an island's traffic bolder), open faults by
/// kind, each outlying island's status. Large symbols, read from across a
/// room; the same schematic routes as `/map`, and the briefing says so.
#[component]
pub fn WallMap(data: MapData) -> impl IntoView {
    let i18n = use_i18n();
    let v = View::by_id("taiwan");
    let h = v.height();
    let cables = data
        .cables
        .iter()
        .map(|c| {
            let carrying = data.carrying.contains(&c.abbrev);
            view! {
                <path class=format!("cable {}", c.state.as_str()) class:carrying=carrying
                    d=v.path(&c.route) data-cable=c.abbrev.clone() data-state=c.state.as_str() />
            }
        })
        .collect_view();
    let pins = data
        .faults
        .iter()
        .filter_map(|f| {
            let (x, y) = v.project(f.position?.0, f.position?.1);
            let r = 16.0;
            Some(view! {
                <polygon class=format!("pin {}", f.kind.as_str()) data-fault=f.id
                    points=format!("{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}", y - r, x + r, y + r, x - r) />
            })
        })
        .collect_view();
    let islands = data
        .islands
        .iter()
        .map(|i| {
            let (x, y) = v.project(i.lon, i.lat);
            let (region, status) = (i.region, i.status);
            view! {
                <text class=format!("island-badge res-{}", status.as_str()) x=format!("{x:.1}") y=format!("{y:.1}")
                    font-size="44" data-region=region.id() data-status=status.as_str()>
                    {move || format!("{} · {}", crate::resilience::region_label(i18n, region), crate::resilience::status_label(i18n, status))}
                </text>
            }
        })
        .collect_view();
    view! {
        <svg class="map wall-map" id="wall-map" role="img" viewBox=format!("0 0 {MAP_WIDTH:.0} {h:.0}")>
            <title>{t!(i18n, map_title)}" — "{t!(i18n, map_note)}</title>
            <rect class="sea" x="0" y="0" width=MAP_WIDTH height=format!("{h:.0}") />
            <use class="land" href=v.land_href() />
            <g class="cables">{cables}</g>
            <g class="faults">{pins}</g>
            <g class="islands">{islands}</g>
        </svg>
    }
}
