//! The fault list, grouped by cable as in the ministry's notice, and the
//! fault page with its full history.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shared::auth::Capability;
use shared::fault::Fault;

use crate::access::IfCan;
use crate::api::{get_fault, list_faults, CableBrief, FaultRow};
use crate::form::FaultEditor;
use crate::history::{AsOfPicker, HistoryBanner};
use crate::i18n::*;
use crate::util::{eta_label, kind_label, kind_label_in, status_label, status_label_in, taipei};

#[component]
pub fn FaultListPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = crate::live::use_live();
    let as_of = crate::history::use_as_of();
    // Re-read (keeping what is shown meanwhile) on every fault event.
    // The rows travel in the page as ASCII JSON (see `hydration`).
    let data = Resource::<_, crate::hydration::AsciiJson>::new_with_options(
        move || (as_of.get(), live.faults.get()),
        |(a, _)| list_faults(a),
        false,
    );
    let show_restored = RwSignal::new(false);
    view! {
        <section class="faults">
            <div class="page-head">
                <h1>{t!(i18n, faults_title)}</h1>
                <AsOfPicker action="/" value=as_of />
                <button id="toggle-restored" class="toggle" aria-pressed=move || show_restored.get().to_string()
                    on:click=move |_| show_restored.update(|v| *v = !*v)>
                    {move || if show_restored.get() { t_string!(i18n, hide_restored) } else { t_string!(i18n, show_restored) }}
                </button>
            </div>
            <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => view! {
                            {page.as_of.clone().map(|at| view! {
                                <HistoryBanner as_of=at back="/" />
                                <p class="note">{t!(i18n, hist_model_note)}</p>
                            })}
                            <FaultTable faults=page.faults cables=page.cables show_restored as_of=page.as_of />
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn FaultTable(
    faults: Vec<FaultRow>,
    cables: Vec<CableBrief>,
    show_restored: RwSignal<bool>,
    // A historical view links each fault as it stood at the same moment.
    as_of: Option<String>,
) -> impl IntoView {
    let at_suffix = as_of.map(|a| format!("?as_of={a}")).unwrap_or_default();
    let i18n = use_i18n();
    let open_count = faults.iter().filter(|f| f.status.is_active()).count();
    let mut order: Vec<String> = Vec::new();
    for f in faults.iter().filter(|f| f.status.is_active()) {
        if !order.contains(&f.cable) {
            order.push(f.cable.clone());
        }
    }
    let open_cables = order.len();
    for f in &faults {
        if !order.contains(&f.cable) {
            order.push(f.cable.clone());
        }
    }
    // Each cable's rows, in the notice's order (moved, not copied).
    let mut by_cable: Vec<Vec<FaultRow>> = vec![Vec::new(); order.len()];
    for f in faults {
        if let Some(i) = order.iter().position(|c| *c == f.cable) {
            by_cable[i].push(f);
        }
    }
    let groups = order
        .into_iter()
        .zip(by_cable)
        .enumerate()
        .map(|(i, (abbrev, fs))| {
            let name = cables
                .iter()
                .find(|c| c.abbrev == abbrev)
                .map(|c| c.notice_name.clone())
                .unwrap_or_else(|| abbrev.clone());
            (i + 1, abbrev, name, fs)
        });
    // Restored faults, and cables with no open fault, are hidden by the
    // table's class (style.css), not by a closure on each of 200 rows.
    view! {
        <p class="summary" id="summary">
            {t!(i18n, summary, cables = move || open_cables, open = move || open_count)}
        </p>
        <table class="fault-table" class:show-restored=move || show_restored.get()>
            <thead>
                <tr>
                    <th>{t!(i18n, col_seq)}</th>
                    <th>{t!(i18n, col_cable)}</th>
                    <th>{t!(i18n, col_detected)}</th>
                    <th>{t!(i18n, col_description)}</th>
                    <th>{t!(i18n, col_alternate)}</th>
                    <th>{t!(i18n, col_eta)}</th>
                    <th>{t!(i18n, col_model)}" "<span class="estimate">{t!(i18n, res_estimate)}</span></th>
                    <th>{t!(i18n, col_status)}</th>
                </tr>
            </thead>
            {groups.map(|(seq, abbrev, name, fs)| {
                let any_active = fs.iter().any(|f| f.status.is_active());
                let at_suffix = at_suffix.clone();
                view! {
                    <tbody class=if any_active { "cable-group" } else { "cable-group all-restored" } data-cable=abbrev
                        inner_html=move || rows_markup(i18n, &fs, seq, &name, &at_suffix)>
                    </tbody>
                }
            }).collect_view()}
        </table>
    }
}

/// One cable's rows as markup, in the language shown (a change of language
/// writes them again).
///
/// The rows are fixed for the life of the list (a fault event reloads it
/// whole), so they are written as text rather than built as 200 reactive
/// views: as views they were two fifths of the server's work on the
/// 200-fault list. Every value is escaped here, text and attributes alike;
/// the browser tests check a `<script>` description shows as text.
fn rows_markup(
    i18n: leptos_i18n::I18nContext<Locale>,
    rows: &[FaultRow],
    seq: usize,
    name: &str,
    at_suffix: &str,
) -> String {
    use html_escape::{
        encode_double_quoted_attribute_to_string as attr, encode_text_to_string as text,
    };
    use std::fmt::Write;
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
    // The language, read (and tracked) once for all the rows.
    let locale = i18n.get_locale();
    let mut out = String::with_capacity(rows.len() * 640);
    for (i, f) in rows.iter().enumerate() {
        out.push_str(if f.status.is_active() {
            r#"<tr class="fault" data-status=""#
        } else {
            r#"<tr class="fault restored" data-status=""#
        });
        out.push_str(f.status.as_str());
        out.push_str(r#""><td>"#);
        // The group's number and name on its first row only.
        if i == 0 {
            let _ = write!(out, "{seq}");
        }
        out.push_str(r#"</td><td class="cable-name">"#);
        if i == 0 {
            text(name, &mut out);
        }
        out.push_str("</td><td>");
        if let Some(d) = f.detected_on {
            let _ = write!(out, "{d}");
        }
        let _ = write!(out, r#"</td><td><a href="/faults/{}"#, f.id);
        attr(at_suffix, &mut out);
        out.push_str(r#"">"#);
        text(&f.description, &mut out);
        out.push_str(r#"</a><span class=""#);
        out.push_str(kind_class(f.kind));
        out.push_str(r#"">"#);
        text(kind_label_in(locale, f.kind), &mut out);
        out.push_str("</span>");
        if f.unresolved {
            out.push_str(r#"<span class="unresolved" title=""#);
            attr(td_string!(locale, unresolved_place), &mut out);
            out.push_str(r#"">⚠</span>"#);
        }
        out.push_str("</td><td>");
        text(&f.alternate, &mut out);
        out.push_str("</td><td>");
        text(
            if f.eta.is_empty() {
                td_string!(locale, eta_unknown)
            } else {
                &f.eta
            },
            &mut out,
        );
        // The officers' ETA is earlier than the model's P10: flagged, the
        // model's reasons as the tooltip.
        if let Some(m) = f.model.as_ref().filter(|m| m.optimistic) {
            out.push_str(r#" <strong class="optimistic" title=""#);
            attr(&m.reasons, &mut out);
            out.push_str(r#"">"#);
            text(td_string!(locale, repairs_optimistic), &mut out);
            out.push_str("</strong>");
        }
        out.push_str(r#"</td><td class="model">"#);
        if let Some(m) = &f.model {
            let _ = write!(out, "{} / {}", day(m.p50_on), day(m.p90_on));
        }
        out.push_str(r#"</td><td class=""#);
        out.push_str(status_class(f.status));
        out.push_str(r#"">"#);
        text(status_label_in(locale, f.status), &mut out);
        out.push_str("</td></tr>");
    }
    out
}

fn kind_class(k: shared::fault::FaultKind) -> &'static str {
    use shared::fault::FaultKind::*;
    match k {
        PartialDamage => "kind kind-partial_damage",
        Cut => "kind kind-cut",
        Other => "kind kind-other",
    }
}

fn status_class(s: shared::fault::FaultStatus) -> &'static str {
    use shared::fault::FaultStatus::*;
    match s {
        Open => "status status-open",
        RepairScheduled => "status status-repair_scheduled",
        Repairing => "status status-repairing",
        Restored => "status status-restored",
        Closed => "status status-closed",
    }
}

#[component]
pub fn FaultPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = crate::live::use_live();
    let me = crate::access::me();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    // `?as_of=`: the fault as it stood then, with no write controls.
    let as_of = crate::history::use_as_of();
    let load = |(id, at): (Option<i64>, Option<String>)| async move {
        match id {
            Some(id) => get_fault(id, at).await,
            None => Ok(Err(shared::api::ApiError::not_found("no such fault"))),
        }
    };
    // The editor starts from the fault as first loaded; facts and history
    // follow the live stream. Until the stream's first fault event they are
    // the same answer: `current` takes `opened`'s instead of asking again
    // (one read of the fault per page render, not two).
    let opened = Resource::new(move || (id(), as_of.get()), load);
    let current = Resource::new(
        move || (id(), as_of.get(), live.faults.get()),
        move |(id, at, tick)| async move {
            if tick == 0 {
                opened.await
            } else {
                load((id, at)).await
            }
        },
    );
    let cables = crate::form::cables_resource();
    let latest = Signal::derive(move || {
        current
            .get()
            .and_then(|r| r.ok())
            .and_then(|r| r.ok())
            .map(|d| d.fault)
    });
    view! {
        <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match opened.await {
                    Ok(Ok(d)) => {
                        let editable = d.fault.clone();
                        let past = as_of.get_untracked();
                        let back = format!("/faults/{}", editable.id);
                        view! {
                        <section class="fault-page">
                            {past.clone().map(|at| view! { <HistoryBanner as_of=at back=back.clone() /> })}
                            <Transition>
                                {move || Suspend::new(async move {
                                    current.await.ok().and_then(|r| r.ok()).map(|d| view! { <FaultFacts f=d.fault /> })
                                })}
                            </Transition>
                            <h2>{t!(i18n, eta_history)}</h2>
                            <Transition>
                                {move || Suspend::new(async move {
                                    current.await.ok().and_then(|r| r.ok()).map(|d| view! { <EtaTimeline history=d.eta_history slip=d.slip_days estimate=d.estimate /> })
                                })}
                            </Transition>
                            // The chart and the editor speak of today: not in a historical view.
                            {past.is_none().then(|| view! {
                                <EtaDriftChart id=editable.id />
                                // Only roles that may write see the form (the server refuses the rest anyway).
                                <IfCan me cap=Capability::WriteData>
                                    <h2>{t!(i18n, edit_fault_title)}</h2>
                                    <FaultEditor fault=Some(editable.clone()) cables latest />
                                </IfCan>
                            })}
                            <h2>{t!(i18n, history)}</h2>
                            <Transition>
                                {move || Suspend::new(async move {
                                    current.await.ok().and_then(|r| r.ok()).map(|d| view! { <History events=d.events /> })
                                })}
                            </Transition>
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

/// The ETA drift chart, drawn by the server (`/api/v1/charts/eta-drift.svg`):
/// an image, so it shows without JavaScript; re-requested on every fault
/// event so it follows edits.
#[component]
fn EtaDriftChart(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let live = crate::live::use_live();
    let src = move || {
        let lang = if i18n.get_locale() == Locale::en {
            "en"
        } else {
            "zh-TW"
        };
        format!(
            "/api/v1/charts/eta-drift.svg?fault={id}&lang={lang}&v={}",
            live.faults.get()
        )
    };
    view! {
        <img class="chart" id="eta-drift-chart" src=src width="720" height="360"
            alt=move || t_string!(i18n, chart_eta_drift) />
    }
}

#[component]
fn FaultFacts(f: Fault) -> impl IntoView {
    let i18n = use_i18n();
    let title = format!("#{} {} — {}", f.id, f.cable, f.description);
    let status = f.status;
    let kind = f.kind;
    let eta = f.eta;
    view! {
        <h1>{title}</h1>
        <dl class="facts">
            <dt>{t!(i18n, field_kind)}</dt><dd>{move || kind_label(i18n, kind)}</dd>
            <dt>{t!(i18n, field_status)}</dt><dd id="fault-status">{move || status_label(i18n, status)}</dd>
            <dt>{t!(i18n, field_place)}</dt>
            <dd>{f.chainage.place.clone()}" · "{f.chainage.km_text()}" km"
                {f.chainage.station.is_none().then(|| view! { <em class="unresolved">" ("{t!(i18n, unresolved_place)}")"</em> })}
            </dd>
            <dt>{t!(i18n, col_eta)}</dt><dd id="fault-eta">{move || eta_label(i18n, &eta)}</dd>
            <dt>{t!(i18n, provenance)}</dt><dd>{f.provenance.clone()}</dd>
            <dt>{t!(i18n, version)}</dt><dd id="fault-version">{f.version}</dd>
            <dt>{t!(i18n, field_capacity_lost)}</dt>
            <dd id="fault-capacity-lost">{match f.capacity_lost_pct {
                Some(p) => format!("{p} %"),
                None => t_string!(i18n, capacity_lost_default).to_string(),
            }}</dd>
            <dt>{t!(i18n, field_notes)}</dt><dd class="notes">{f.notes.clone()}</dd>
        </dl>
    }
}

/// Each estimated repair date the fault carried, oldest first, and how far
/// the date has moved since the first.
#[component]
fn EtaTimeline(
    history: Vec<shared::repair::EtaRevision>,
    slip: Option<i64>,
    estimate: Option<shared::repair::FaultEstimate>,
) -> impl IntoView {
    let i18n = use_i18n();
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let model = estimate.map(|e| {
        let text = move || {
            t_string!(i18n, repair_model)
                .replace("{n}", &e.estimate.cases.to_string())
                .replace("{own}", &e.estimate.own_cases.to_string())
                .replace("{p10}", &date(e.p10_on))
                .replace("{p50}", &date(e.p50_on))
                .replace("{p90}", &date(e.p90_on))
        };
        let reasons = e.estimate.reasons.join("; ");
        view! {
            <p id="repair-estimate" data-optimistic=e.optimistic.to_string()>
                {text}" "<span class="estimate">{t!(i18n, res_estimate)}</span>
                {e.optimistic.then(|| view! {
                    " "<strong class="optimistic">{t!(i18n, repair_optimistic)}</strong>
                })}
                " ("{reasons}")"
            </p>
        }
    });
    view! {
        <ol class="eta-history" id="eta-history">
            {history.into_iter().map(|r| {
                let eta = r.eta;
                view! { <li data-eta=eta.to_iso()>
                    <time>{taipei(&r.at)}</time>" · "<strong>{move || eta_label(i18n, &eta)}</strong>" · "<span class="actor">{r.source.clone()}</span>
                </li> }
            }).collect_view()}
        </ol>
        <p id="slip-days" data-slip=slip.map(|d| d.to_string()).unwrap_or_default()>
            {move || match slip {
                Some(d) if d > 0 => t_string!(i18n, eta_slipped).replace("{n}", &d.to_string()),
                Some(d) if d < 0 => t_string!(i18n, eta_earlier).replace("{n}", &(-d).to_string()),
                Some(_) => t_string!(i18n, eta_unchanged).to_string(),
                None => t_string!(i18n, eta_slip_unknown).to_string(),
            }}
        </p>
        {model}
    }
}

/// The history table of a fault or an asset: every event, newest first.
#[component]
pub(crate) fn History(events: Vec<shared::event::Event>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="history">
            <thead><tr>
                <th>{t!(i18n, ev_seq)}</th><th>{t!(i18n, ev_time)}</th>
                <th>{t!(i18n, ev_actor)}</th><th>{t!(i18n, ev_kind)}</th><th>{t!(i18n, ev_changes)}</th>
            </tr></thead>
            <tbody>
                {events.into_iter().rev().map(|e| {
                    let changes = describe_changes(&e.before, &e.after);
                    view! {
                        <tr>
                            <td>{e.seq}</td><td>{taipei(&e.at)}</td><td>{e.actor.clone()}</td>
                            <td>{e.kind.clone()}</td>
                            <td><ul>{changes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "field: old → new" lines for an event (every field for a creation).
pub(crate) fn describe_changes(
    before: &Option<serde_json::Value>,
    after: &Option<serde_json::Value>,
) -> Vec<String> {
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    match (before, after) {
        (Some(serde_json::Value::Object(b)), Some(serde_json::Value::Object(a))) => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v) && k.as_str() != "version")
            .map(|(k, v)| format!("{k}: {} → {}", show(b.get(k)), show(Some(v))))
            .collect(),
        (None, Some(serde_json::Value::Object(a))) => a
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "version"))
            .map(|(k, v)| format!("{k}: {}", show(Some(v))))
            .collect(),
        (_, Some(v)) => vec![show(Some(v))],
        _ => Vec::new(),
    }
}
