//! The map: cables coloured by state, landing stations and fault pins, as an
//! SVG rendered on the server (complete before the wasm loads, and printable)
//! and interactive after hydration: zoom presets, layer switches, a panel for
//! the clicked fault. Routes are schematic and pins approximate; the map says so.

use leptos::prelude::*;
use shared::map::{MapData, View, MAP_WIDTH, VIEWS};

use crate::api::map_data;
use crate::i18n::*;
use crate::util::kind_label;

#[component]
pub fn MapPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| map_data());
    let view_id = RwSignal::new("taiwan");
    let show_cables = RwSignal::new(true);
    let show_stations = RwSignal::new(true);
    let show_faults = RwSignal::new(true);
    let selected = RwSignal::new(None::<i64>);
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
            <h1>{t!(i18n, map_title)}</h1>
            <div class="map-controls">
                <span class="presets">
                    {VIEWS.into_iter().map(|v| view! {
                        <button type="button" class="preset" data-view=v.id
                            class:active=move || view_id.get() == v.id
                            on:click=move |_| view_id.set(v.id)>{v.id}</button>
                    }).collect_view()}
                </span>
                {toggle(t_string!(i18n, map_layer_cables), "layer-cables", show_cables)}
                {toggle(t_string!(i18n, map_layer_stations), "layer-stations", show_stations)}
                {toggle(t_string!(i18n, map_layer_faults), "layer-faults", show_faults)}
            </div>
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! {
                            <MapSvg data=d.clone() view_id show_cables show_stations show_faults selected />
                            <FaultPanel data=d selected />
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="muted">{t!(i18n, map_note)}" "{shared::map::LAND_ATTRIBUTION}</p>
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
) -> impl IntoView {
    let data = StoredValue::new(data);
    let v = move || View::by_id(view_id.get());
    // A round distance about a fifth of the view's width.
    let scale_km = move || match v().east - v().west {
        w if w > 10.0 => 500.0,
        w if w > 2.0 => 100.0,
        _ => 10.0,
    };
    view! {
        <svg id="map" class="map" role="img"
            viewBox=move || format!("0 0 {MAP_WIDTH} {:.0}", v().height())>
            <rect class="sea" x="0" y="0" width=MAP_WIDTH height=move || format!("{:.0}", v().height()) />
            <path id="land" class="land" d=move || v().land_path() />
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
                    view! {
                        <path class=class class:alternate=alternate d=path data-cable=c.abbrev.clone() data-state=c.state.as_str()>
                            <title>{format!("{} {} ({})", c.abbrev, c.name_zh, c.state.as_str())}</title>
                        </path>
                    }
                }).collect_view())}
            </g>
            <g id="stations" class:hidden=move || !show_stations.get()>
                {move || data.with_value(|d| d.stations.iter().map(|s| {
                    let (x, y) = v().project(s.lon, s.lat);
                    let class = if s.approximate { "station approximate" } else { "station" };
                    view! {
                        <circle class=class cx=format!("{x:.1}") cy=format!("{y:.1}") r="4" data-station=s.id.clone()>
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
                    let points = format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x, y - 7.0, x + 7.0, y, x, y + 7.0, x - 7.0, y);
                    Some(view! {
                        <polygon class=format!("pin {}", f.kind.as_str()) points=points data-fault=id data-cable=f.cable.clone()
                            class:selected=move || selected.get() == Some(id)
                            on:click=move |_| selected.set(Some(id))>
                            <title>{format!("{} {}", f.cable, f.description)}</title>
                        </polygon>
                    })
                }).collect_view())}
            </g>
            <g class="scale">
                <line x1="20" x2=move || format!("{:.1}", 20.0 + v().km_to_px(scale_km()))
                    y1=move || format!("{:.0}", v().height() - 20.0) y2=move || format!("{:.0}", v().height() - 20.0) />
                <text x="20" y=move || format!("{:.0}", v().height() - 28.0)>{move || format!("{} km", scale_km())}</text>
            </g>
        </svg>
        <Legend />
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
