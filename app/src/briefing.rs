//! The leadership briefing (`/briefing`): a read-only wall screen for
//! 1920×1080, with no control at all: headline numbers, each island's
//! status and what carries its traffic, every open fault's official date
//! beside the repair model's P50/P90, the map (cables by state, faults,
//! islands), and what changed in the last 24 hours.
//! Live: it is rebuilt on every event. `?as_of=` shows it as it stood at a
//! past moment (rebuilt from the event log, with a banner); `?theme=light`
//! gives the light theme, `?lang=en` English.

use leptos::prelude::*;
use shared::briefing::{Briefing, ChangeKind, EtaLine, IslandLine};

use crate::api::briefing_page;
use crate::history::{AsOfPicker, HistoryBanner};
use crate::i18n::*;
use crate::util::{eta_label, kind_label, taipei};
use shared::auth::{PrincipalKind, Role};

fn change_label(i18n: leptos_i18n::I18nContext<Locale>, k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::NewFault => t_string!(i18n, brief_new_fault),
        ChangeKind::FaultUpdated => t_string!(i18n, brief_fault_updated),
        ChangeKind::Restored => t_string!(i18n, brief_restored),
        ChangeKind::NoticeImported => t_string!(i18n, brief_notice_imported),
        ChangeKind::RepairProgress => t_string!(i18n, brief_repair_progress),
        ChangeKind::RepairStalled => t_string!(i18n, brief_repair_stalled),
        ChangeKind::ShipState => t_string!(i18n, brief_ship_state),
        ChangeKind::Asset => t_string!(i18n, brief_asset),
        ChangeKind::Figure => t_string!(i18n, brief_figure),
        ChangeKind::Maintenance => t_string!(i18n, brief_maintenance),
        ChangeKind::AlertAcknowledged => t_string!(i18n, brief_alert_acknowledged),
    }
}

#[component]
pub fn BriefingPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = crate::live::use_live();
    let as_of = crate::history::use_as_of();
    let me = crate::access::me();
    // `?theme=light` for a bright room (dark by default).
    let query = leptos_router::hooks::use_query_map();
    let light = move || query.read().get("theme").as_deref() == Some("light");
    // The briefing and the wall map, both at the same moment.
    let data = Resource::new(
        move || (as_of.get(), live.any.get()),
        |(a, _)| async move {
            let map = crate::api::map_data(a.clone()).await.ok();
            briefing_page(a).await.map(|b| b.map(|b| (b, map)))
        },
    );
    view! {
        <section class="briefing" id="briefing" class:light=light>
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Ok((b, map))) => view! {
                            {as_of.get_untracked().map(|_| view! {
                                <HistoryBanner as_of=shared::history::as_of_param(&b.at) back="/briefing" />
                            })}
                            <Screen b map />
                        }.into_any(),
                        Ok(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        // Whoever prepares a briefing may look back; the wall screen itself
        // (the briefing role, kiosk links) shows no control at all.
        <Suspense>
            {move || Suspend::new(async move {
                me.await
                    .filter(|p| p.role != Role::Briefing && p.kind != PrincipalKind::Kiosk)
                    .map(|_| {
                        // The one-page export of what is shown (same moment, same language).
                        let href = move |ext: &str| {
                            let lang = if i18n.get_locale() == Locale::en { "en" } else { "zh-TW" };
                            let at = as_of.get().map(|a| format!("&as_of={a}")).unwrap_or_default();
                            format!("/api/v1/briefing.{ext}?lang={lang}{at}")
                        };
                        view! {
                            <div class="brief-picker">
                                <AsOfPicker action="/briefing" value=as_of />
                                <span class="exports">{t!(i18n, brief_export)}" "
                                    <a id="export-pdf" href=move || href("pdf")>"PDF"</a>" · "
                                    <a id="export-png" href=move || href("png")>"PNG"</a>" · "
                                    <a id="export-svg" href=move || href("svg")>"SVG"</a>
                                </span>
                            </div>
                        }
                    })
            })}
        </Suspense>
    }
}

#[component]
fn Screen(b: Briefing, map: Option<shared::map::MapData>) -> impl IntoView {
    let i18n = use_i18n();
    let h = b.headline;
    let at = taipei(&b.at);
    let at = at.get(..16).unwrap_or(&at).to_string();
    let next = h.next_repair.clone();
    let more = b.changes_total.saturating_sub(b.changes.len());
    let changes_total = b.changes_total;
    let changes = b.changes;
    // Built apart and erased (`into_any`): one view type for the whole
    // screen is past the compiler's depth limit.
    let side = view! {
            <div class="brief-side">
            {map.map(|d| view! {
                <div class="panel" id="brief-map">
                    <crate::map::WallMap data=d />
                </div>
            })}
            <div class="panel" id="brief-changes">
                <h2>{t!(i18n, brief_since_yesterday)}</h2>
                <ol>{changes.into_iter().map(|c| {
                    let t = taipei(&c.at);
                    view! {
                        <li data-change=format!("{:?}", c.what)>
                            <time>{t.get(11..16).unwrap_or(&t).to_string()}</time>" "
                            <strong>{move || change_label(i18n, c.what)}</strong>" "{c.subject.clone()}
                        </li>
                    }
                }).collect_view()}</ol>
                {(more > 0).then(|| view! { <p class="more">{format!("+{more}")}</p> })}
                {(changes_total == 0).then(|| view! { <p class="quiet">{t!(i18n, brief_no_changes)}</p> })}
            </div>
            </div>
    }
    .into_any();
    view! {
        <div class="brief-head">
            <h1>{t!(i18n, brief_title)}</h1>
            <p class="as-of" id="brief-as-of">{t!(i18n, brief_as_of)}" "{at}</p>
        </div>
        <div class="brief-numbers" id="brief-numbers">
            <Number id="n-cut" n=h.cables_cut label=move || t_string!(i18n, brief_cables_cut) alarm={h.cables_cut > 0} />
            <Number id="n-degraded" n=h.cables_degraded label=move || t_string!(i18n, brief_cables_degraded) alarm=false />
            <Number id="n-faults" n=h.open_faults label=move || t_string!(i18n, brief_open_faults) alarm=false />
            <Number id="n-isolated" n=h.islands_isolated label=move || t_string!(i18n, res_isolated) alarm={h.islands_isolated > 0} />
            <Number id="n-short" n=h.islands_short label=move || t_string!(i18n, res_short) alarm={h.islands_short > 0} />
            <Number id="n-backup" n=h.islands_on_backup label=move || t_string!(i18n, res_on_backup) alarm={h.islands_on_backup > 0} />
            <div class="number next" id="n-next">
                <span class="label">{t!(i18n, brief_next_repair)}</span>
                <strong>{next.map(|e| {
                    let eta = e.official;
                    view! { {e.cable.clone()}" · "{move || eta_label(i18n, &eta)} }
                })}</strong>
            </div>
        </div>
        <div class="brief-panels">
            <div class="panel" id="brief-islands">
                <h2>{t!(i18n, brief_islands)}</h2>
                <ul>{b.islands.into_iter().map(|l| view! { <Island l /> }).collect_view()}</ul>
            </div>
            <div class="panel" id="brief-etas">
                <h2>{t!(i18n, brief_etas)}" "<span class="estimate">{t!(i18n, res_estimate)}</span></h2>
                <table>
                    <thead><tr>
                        <th>{t!(i18n, col_cable)}</th><th>{t!(i18n, col_eta)}</th><th>"P50"</th><th>"P90"</th>
                    </tr></thead>
                    <tbody>{b.etas.into_iter().map(|e| view! { <Eta e /> }).collect_view()}</tbody>
                </table>
            </div>
            {side}
        </div>
        <p class="brief-note">{t!(i18n, source_note)}" · "{t!(i18n, schematic_note)}" · "{t!(i18n, brief_model_note)}</p>
    }
}

#[component]
fn Number(
    id: &'static str,
    n: usize,
    label: impl Fn() -> &'static str + Send + Sync + 'static,
    alarm: bool,
) -> impl IntoView {
    view! {
        <div class="number" class:alarm=alarm id=id>
            <strong>{n}</strong>
            <span class="label">{label}</span>
        </div>
    }
}

#[component]
fn Island(l: IslandLine) -> impl IntoView {
    let i18n = use_i18n();
    let status = l.status;
    let region = l.region;
    let carried = l
        .carried_by
        .iter()
        .map(|c| format!("{} {}", c.label, crate::resilience::gbps(c.gbps)))
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <li class=format!("island status-{}", status.as_str()) data-island=region.id()>
            <span class="name">{move || crate::resilience::region_label(i18n, region)}</span>
            <span class="status">{move || crate::resilience::status_label(i18n, status)}</span>
            <span class="coverage">{crate::resilience::pct(l.coverage)}
                {l.demand_estimated.then(|| view! { " "<span class="estimate">{t!(i18n, res_estimate)}</span> })}
            </span>
            <span class="carried">{carried}</span>
        </li>
    }
}

#[component]
fn Eta(e: EtaLine) -> impl IntoView {
    let i18n = use_i18n();
    let eta = e.official;
    let kind = e.kind;
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
    view! {
        <tr data-fault=e.fault_id>
            <td>{e.cable.clone()}" "<small>{move || kind_label(i18n, kind)}</small></td>
            <td>{move || eta_label(i18n, &eta)}
                {e.optimistic.then(|| view! { " "<strong class="optimistic">{t!(i18n, repairs_optimistic)}</strong> })}
            </td>
            <td>{day(e.p50_on)}</td>
            <td>{day(e.p90_on)}</td>
        </tr>
    }
}
