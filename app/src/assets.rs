//! The backup-asset registry: the list with filters and counts, the asset
//! page with its history, the form (new and edit), and CSV/GeoJSON import.
//! Synthetic demo records are labelled wherever they are shown.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use shared::api::ApiError;
use shared::assets::{Asset, AssetFilter, AssetForm, AssetKind, AssetStatus, Orbit};
use shared::auth::Capability;

use crate::access::{use_me, IfCan};
use crate::api::{get_asset, import_assets, list_assets, save_asset, SaveAssetRequest};
use crate::form::EchoData;
use crate::i18n::*;
use crate::util::{asset_kind_label, asset_status_label, field_error_text, textarea_text};

#[component]
pub fn AssetListPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = use_me();
    let query = use_query_map();
    let filter = move || {
        query.with(|q| AssetFilter {
            kind: q.get("kind").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            region: q.get("region").unwrap_or_default(),
            q: q.get("q").unwrap_or_default(),
        })
    };
    let live = crate::live::use_live();
    // `?as_of=`: the registry as it stood then, with no write control.
    let as_of = crate::history::use_as_of();
    let data = Resource::new(
        move || (filter(), as_of.get(), live.assets.get()),
        |(f, at, _)| list_assets(f, at),
    );
    let export = move |fmt: &str| {
        let f = filter();
        let qs: Vec<String> = [
            ("kind", f.kind),
            ("status", f.status),
            ("region", f.region),
            ("q", f.q),
            ("as_of", as_of.get().unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(&v)))
        .collect();
        format!(
            "/api/v1/assets.{fmt}{}{}",
            if qs.is_empty() { "" } else { "?" },
            qs.join("&")
        )
    };
    view! {
        <section class="assets">
            <div class="page-head">
                <h1>{t!(i18n, assets_title)}</h1>
                {move || as_of.get().is_none().then(|| view! {
                    <IfCan me cap=Capability::WriteData>
                        <a class="button" href="/assets/new">{t!(i18n, asset_new)}</a>
                        <a class="button" href="/assets/import">{t!(i18n, asset_import)}</a>
                    </IfCan>
                })}
                // The exports are of what is shown: the same filter and moment.
                <a class="button" id="export-csv" href=move || export("csv")>{t!(i18n, asset_export_csv)}</a>
                <a class="button" id="export-geojson" href=move || export("geojson")>{t!(i18n, asset_export_geojson)}</a>
                <crate::history::AsOfPicker action="/assets" value=as_of />
            </div>
            {move || as_of.get().map(|at| view! { <crate::history::HistoryBanner as_of=at back="/assets" /> })}
            // A plain GET form: filtering works without JavaScript too.
            <form class="filters" method="get" action="/assets">
                <label>{t!(i18n, field_kind)}
                    <select name="kind">
                        <option value="">{t!(i18n, all)}</option>
                        {AssetKind::ALL.into_iter().map(|k| view! {
                            <option value=k.as_str() selected=move || filter().kind == k.as_str()>{move || asset_kind_label(i18n, k)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, field_status)}
                    <select name="status">
                        <option value="">{t!(i18n, all)}</option>
                        {AssetStatus::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || filter().status == s.as_str()>{move || asset_status_label(i18n, s)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, asset_region)}
                    <input type="text" name="region" list="regions" prop:value=move || filter().region />
                </label>
                <label>{t!(i18n, asset_search)}
                    <input type="search" name="q" prop:value=move || filter().q />
                </label>
                {move || as_of.get().map(|a| view! { <input type="hidden" name="as_of" value=a /> })}
                <button type="submit" id="apply-filter">{t!(i18n, asset_filter)}</button>
            </form>
            <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Ok(list)) => view! { <AssetTables list as_of=as_of.get_untracked() /> }.into_any(),
                        Ok(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn AssetTables(list: shared::api::AssetList, as_of: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    // A historical view links each asset as it stood at the same moment.
    let at_suffix = as_of
        .map(|a| format!("?as_of={}", urlencode(&a)))
        .unwrap_or_default();
    let c = list.counts.clone();
    let regions: Vec<String> = c.by_region.keys().cloned().collect();
    let shown = list.assets.len();
    let matched = list.matched;
    view! {
        <datalist id="regions">
            {regions.into_iter().map(|r| view! { <option value=r.clone()></option> }).collect_view()}
        </datalist>
        {(c.synthetic > 0).then(|| view! {
            <p class="synthetic-note" id="synthetic-note">
                {t!(i18n, asset_synthetic_note, synthetic = move || c.synthetic, total = move || c.total)}
            </p>
        })}
        <h2>{t!(i18n, asset_counts)}</h2>
        <table class="counts" id="asset-counts">
            <thead><tr>
                <th>{t!(i18n, field_kind)}</th>
                {AssetStatus::ALL.into_iter().map(|s| view! { <th>{move || asset_status_label(i18n, s)}</th> }).collect_view()}
                <th>{t!(i18n, total)}</th>
            </tr></thead>
            <tbody>
                {AssetKind::ALL.into_iter().map(|k| {
                    let row = list.counts.by_kind_status.get(k.as_str()).cloned().unwrap_or_default();
                    let total = list.counts.by_kind.get(k.as_str()).copied().unwrap_or(0);
                    view! {
                        <tr data-kind=k.as_str()>
                            <th><a href=format!("/assets?kind={}", k.as_str())>{move || asset_kind_label(i18n, k)}</a></th>
                            {AssetStatus::ALL.into_iter().map(|s| {
                                let n = row.get(s.as_str()).copied().unwrap_or(0);
                                let attention = s.needs_attention() && n > 0;
                                view! { <td class:attention=attention>{n}</td> }
                            }).collect_view()}
                            <td class="total">{total}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <details class="regions">
            <summary>{t!(i18n, asset_by_region)}</summary>
            <ul>
                {list.counts.by_region.iter().map(|(r, n)| view! {
                    <li><a href=format!("/assets?region={}", urlencode(r))>{r.clone()}</a>" "{*n}</li>
                }).collect_view()}
            </ul>
        </details>
        <p class="summary" id="asset-matched">
            {t!(i18n, asset_matched, matched = move || matched, shown = move || shown)}
        </p>
        <table class="asset-table" id="asset-table">
            <thead><tr>
                <th>{t!(i18n, asset_name)}</th><th>{t!(i18n, field_kind)}</th><th>{t!(i18n, field_status)}</th>
                <th>{t!(i18n, asset_region)}</th><th>{t!(i18n, asset_capacity)}</th><th>{t!(i18n, asset_programme)}</th>
            </tr></thead>
            <tbody>
                {list.assets.into_iter().map(|a| {
                    let d = a.draft.clone();
                    let synthetic = a.is_synthetic();
                    view! {
                        <tr data-asset=a.id class:attention=d.status.needs_attention()>
                            <td><a href=format!("/assets/{}{at_suffix}", a.id)>{d.name.clone()}</a>
                                {synthetic.then(|| view! { " " <span class="badge synthetic">{t!(i18n, synthetic)}</span> })}
                                {(a.source == shared::assets::SOURCE_REFERENCE).then(|| view! { " " <span class="badge reference">{t!(i18n, reference)}</span> })}
                            </td>
                            <td>{move || asset_kind_label(i18n, d.kind)}</td>
                            <td>{move || asset_status_label(i18n, d.status)}</td>
                            <td>{d.region.clone()}</td>
                            <td>{d.capacity_mbps.map(|c| format!("{c} Mbps")).unwrap_or_default()}</td>
                            <td>{d.programme.clone()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn NewAssetPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="fault-form-page">
            <h1>{t!(i18n, asset_new)}</h1>
            <AssetEditor asset=None />
        </section>
    }
}

#[component]
pub fn AssetPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = use_me();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    // `?as_of=`: the asset as it stood then, with no edit form.
    let as_of = crate::history::use_as_of();
    let detail = Resource::new(
        move || (id(), as_of.get()),
        |(id, at)| async move {
            match id {
                Some(id) => get_asset(id, at).await,
                None => Ok(Err(ApiError::not_found("no such asset"))),
            }
        },
    );
    view! {
        <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Ok(d)) => {
                        let a = d.asset.clone();
                        let x = a.draft.clone();
                        let (kind, status) = (x.kind, x.status);
                        let past = as_of.get_untracked();
                        let back = format!("/assets/{}", a.id);
                        view! {
                            <section class="asset-page">
                                {past.clone().map(|at| view! { <crate::history::HistoryBanner as_of=at back=back.clone() /> })}
                                <h1>{x.name.clone()}
                                    {a.is_synthetic().then(|| view! { " " <span class="badge synthetic">{t!(i18n, synthetic)}</span> })}
                                </h1>
                                <dl class="facts">
                                    <dt>{t!(i18n, field_kind)}</dt><dd>{move || asset_kind_label(i18n, kind)}</dd>
                                    <dt>{t!(i18n, field_status)}</dt><dd id="asset-status">{move || asset_status_label(i18n, status)}</dd>
                                    <dt>{t!(i18n, asset_region)}</dt><dd>{x.region.clone()}</dd>
                                    <dt>{t!(i18n, asset_position)}</dt>
                                    <dd>{format!("{:.5}, {:.5}", x.lat, x.lon)}
                                        {x.end.map(|e| format!(" → {:.5}, {:.5}", e.1, e.0))}</dd>
                                    <dt>{t!(i18n, asset_capacity)}</dt><dd>{x.capacity_mbps.map(|c| format!("{c} Mbps")).unwrap_or_default()}</dd>
                                    <dt>{t!(i18n, asset_orbit)}</dt><dd>{x.orbit.map(Orbit::as_str).unwrap_or_default()}</dd>
                                    <dt>{t!(i18n, asset_operator)}</dt><dd>{x.operator.clone()}</dd>
                                    <dt>{t!(i18n, asset_programme)}</dt><dd>{x.programme.clone()}</dd>
                                    <dt>{t!(i18n, provenance)}</dt><dd id="asset-source">{a.source.clone()}</dd>
                                    <dt>{t!(i18n, version)}</dt><dd id="asset-version">{a.version}</dd>
                                    <dt>{t!(i18n, field_notes)}</dt><dd class="notes">{x.notes.clone()}</dd>
                                </dl>
                                {past.is_none().then(|| view! {
                                    <IfCan me cap=Capability::WriteData>
                                        <h2>{t!(i18n, edit)}</h2>
                                        <AssetEditor asset=Some(a.clone()) />
                                    </IfCan>
                                })}
                                <h2>{t!(i18n, history)}</h2>
                                <crate::faults::History events=d.events />
                            </section>
                        }.into_any()
                    }
                    Ok(Err(e)) => view! { <p class="error">{t!(i18n, not_found)}": "{e.message}</p> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The asset form. Everything typed stays on an error; each bad field shows
/// its message; a stale edit shows the conflict and keeps the text.
#[component]
pub fn AssetEditor(asset: Option<Asset>) -> impl IntoView {
    let i18n = use_i18n();
    let id = asset.as_ref().map(|a| a.id);
    // A post refused without JavaScript comes back with what was typed.
    let echo = crate::form::form_echo("asset", id);
    let version = RwSignal::new(
        echo.as_ref()
            .and_then(|e| e.version)
            .or(asset.as_ref().map(|a| a.version)),
    );
    let initial = echo
        .as_ref()
        .and_then(|e| serde_json::from_value::<AssetForm>(e.values.clone()).ok())
        .or_else(|| asset.as_ref().map(|a| AssetForm::from_draft(&a.draft)))
        .unwrap_or_else(|| AssetForm {
            status: "ready".into(),
            ..Default::default()
        });
    let form = RwSignal::new(initial.clone());
    let action = match id {
        Some(id) => format!("/assets/{id}"),
        None => "/assets/new".to_string(),
    };
    let save = Action::new(move |req: &SaveAssetRequest| {
        let req = req.clone();
        async move { save_asset(req).await }
    });
    let result = save.value();
    if let Some(e) = echo.as_ref() {
        result.set(Some(Ok(Err(e.error.clone()))));
    }
    let err_for = move |field: &'static str| {
        move || {
            result.with(|r| match r {
                Some(Ok(Err(ApiError {
                    fields,
                    field: f,
                    message,
                    ..
                }))) => fields
                    .iter()
                    .find(|e| e.field == field)
                    .map(|e| field_error_text(i18n, &e.code, &e.message))
                    .or_else(|| {
                        (f.as_deref() == Some(field) && fields.is_empty()).then(|| message.clone())
                    }),
                _ => None,
            })
        }
    };
    Effect::new(move |_| {
        if let Some(Ok(Ok(a))) = result.get() {
            version.set(Some(a.version));
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&format!("/assets/{}", a.id), Default::default());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveAssetRequest {
            id,
            version: version.get_untracked(),
            form: form.get_untracked(),
        });
    };
    let text = move |field: &'static str,
                     label: String,
                     get: fn(&AssetForm) -> &String,
                     set: fn(&mut AssetForm, String)| {
        view! {
            <label>{label}
                <input type="text" name=field value=form.with_untracked(|f| get(f).clone())
                    prop:value=move || form.with(|f| get(f).clone())
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev))) />
                <span class="field-error" data-field=field>{err_for(field)}</span>
            </label>
        }
    };
    view! {
        <EchoData echo=echo.clone() />
        <form class="fault-form asset-form" method="post" action=action on:submit=submit novalidate>
            <input type="hidden" name="version" value=version.get_untracked().map(|v| v.to_string()).unwrap_or_default()
                prop:value=move || version.get().map(|v| v.to_string()).unwrap_or_default() />
            {text("name", t_string!(i18n, asset_name).to_string(), |f| &f.name, |f, v| f.name = v)}
            <label>{t!(i18n, field_kind)}
                <select name="kind" prop:value=move || form.with(|f| f.kind.clone())
                    on:change=move |ev| form.update(|f| f.kind = event_target_value(&ev))>
                    <option value="">{t!(i18n, choose)}</option>
                    {AssetKind::ALL.into_iter().map(|k| {
                        let selected = form.with_untracked(|f| f.kind == k.as_str());
                        view! { <option value=k.as_str() selected=selected>{move || asset_kind_label(i18n, k)}</option> }
                    }).collect_view()}
                </select>
                <span class="field-error" data-field="kind">{err_for("kind")}</span>
            </label>
            <label>{t!(i18n, field_status)}
                <select name="status" prop:value=move || form.with(|f| f.status.clone())
                    on:change=move |ev| form.update(|f| f.status = event_target_value(&ev))>
                    {AssetStatus::ALL.into_iter().map(|s| {
                        let selected = form.with_untracked(|f| f.status == s.as_str());
                        view! { <option value=s.as_str() selected=selected>{move || asset_status_label(i18n, s)}</option> }
                    }).collect_view()}
                </select>
                <span class="field-error" data-field="status">{err_for("status")}</span>
            </label>
            {text("lat", t_string!(i18n, asset_lat).to_string(), |f| &f.lat, |f, v| f.lat = v)}
            {text("lon", t_string!(i18n, asset_lon).to_string(), |f| &f.lon, |f, v| f.lon = v)}
            {text("end_lat", t_string!(i18n, asset_end_lat).to_string(), |f| &f.end_lat, |f, v| f.end_lat = v)}
            {text("end_lon", t_string!(i18n, asset_end_lon).to_string(), |f| &f.end_lon, |f, v| f.end_lon = v)}
            {text("region", t_string!(i18n, asset_region).to_string(), |f| &f.region, |f, v| f.region = v)}
            {text("capacity_mbps", t_string!(i18n, asset_capacity).to_string(), |f| &f.capacity_mbps, |f, v| f.capacity_mbps = v)}
            {text("orbit", t_string!(i18n, asset_orbit).to_string(), |f| &f.orbit, |f, v| f.orbit = v)}
            {text("operator", t_string!(i18n, asset_operator).to_string(), |f| &f.operator, |f, v| f.operator = v)}
            {text("programme", t_string!(i18n, asset_programme).to_string(), |f| &f.programme, |f, v| f.programme = v)}
            {text("home_port", t_string!(i18n, asset_home_port).to_string(), |f| &f.home_port, |f, v| f.home_port = v)}
            {text("zone", t_string!(i18n, asset_zone).to_string(), |f| &f.zone, |f, v| f.zone = v)}
            <label class="wide">{t!(i18n, field_notes)}
                <textarea name="notes" rows="3" prop:value=move || form.with(|f| f.notes.clone())
                    on:input=move |ev| form.update(|f| f.notes = event_target_value(&ev))>{textarea_text(&initial.notes)}</textarea>
                <span class="field-error" data-field="notes">{err_for("notes")}</span>
            </label>
            <div class="actions">
                <button type="submit" id="save-asset" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { t_string!(i18n, saving) } else { t_string!(i18n, save) }}
                </button>
                <span id="form-status" role="status">
                    {move || result.with(|r| crate::form::save_status(i18n, r))}
                </span>
            </div>
        </form>
    }
}

/// Paste (or load) CSV or GeoJSON, preview what would change, then import.
#[component]
pub fn AssetImportPage() -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(String::new());
    let run = Action::new(move |write: &bool| {
        let (t, w) = (text.get_untracked(), *write);
        async move { import_assets(t, None, w).await }
    });
    let result = run.value();
    view! {
        <section class="import asset-import">
            <h1>{t!(i18n, asset_import)}</h1>
            <label for="asset-import-text" class="muted block">{t!(i18n, asset_import_help)}" "<code>{shared::assets::CSV_COLUMNS.join(",")}</code></label>
            <textarea id="asset-import-text" rows="14" prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="actions">
                <button type="button" id="asset-preview" on:click=move |_| { run.dispatch(false); }>{t!(i18n, preview)}</button>
                <button type="button" id="asset-import" on:click=move |_| { run.dispatch(true); }>{t!(i18n, confirm_import)}</button>
            </div>
            <div id="asset-import-result" role="status">
                {move || result.with(|r| match r {
                    Some(Ok(Ok(rep))) => Some(view! {
                        <p class="ok">
                            {if rep.written { t_string!(i18n, asset_import_done) } else { t_string!(i18n, asset_import_preview) }}
                            " "{format!("+{} · ~{} · ={}", rep.created, rep.updated, rep.unchanged)}
                        </p>
                    }.into_any()),
                    Some(Ok(Err(e))) => Some(view! {
                        <div class="error">
                            <p>{e.message.clone()}</p>
                            <ul id="asset-import-lines">
                                {e.lines.iter().map(|l| view! { <li>{l.to_string()}</li> }).collect_view()}
                            </ul>
                        </div>
                    }.into_any()),
                    Some(Err(e)) => Some(view! { <p class="error">{e.to_string()}</p> }.into_any()),
                    None => None,
                })}
            </div>
        </section>
    }
}
