//! Island resilience: one card per island (capacity against peak demand,
//! what carries the traffic, single points of failure, backup assets), the
//! what-if panel (a plain GET form: it works without JavaScript and the
//! address can be shared), the N-1 and N-2 contingency tables, international
//! capacity per landing station, and the figures behind it all, which
//! officers can change (a plain form post: every edit is an event).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::resilience::contingency::Sweep;
use shared::resilience::network::BackupCount;
use shared::resilience::{Basis, Figure, IslandReport, LinkKind, Region, Report, Status, Unit};

use crate::api::{resilience_page, ResilienceData};
use crate::form::EchoData;
use crate::i18n::*;
use crate::util::{asset_kind_label, asset_status_label};

/// The N-2 rows shown (the sweep is worst first).
const N2_SHOWN: usize = 15;

pub fn status_label(i18n: leptos_i18n::I18nContext<Locale>, s: Status) -> &'static str {
    match s {
        Status::Isolated => t_string!(i18n, res_isolated),
        Status::Short => t_string!(i18n, res_short),
        Status::OnBackup => t_string!(i18n, res_on_backup),
        Status::Degraded => t_string!(i18n, res_degraded),
        Status::Normal => t_string!(i18n, res_normal),
        Status::NoFigures => t_string!(i18n, res_no_figures),
    }
}

pub fn region_label(i18n: leptos_i18n::I18nContext<Locale>, r: Region) -> &'static str {
    match i18n.get_locale() {
        Locale::zh_TW => r.name_zh(),
        Locale::en => r.name_en(),
    }
}

pub(crate) fn kind_label(i18n: leptos_i18n::I18nContext<Locale>, k: LinkKind) -> &'static str {
    match k {
        LinkKind::Cable => t_string!(i18n, res_kind_cable),
        LinkKind::Microwave => t_string!(i18n, res_kind_microwave),
        LinkKind::Satellite => t_string!(i18n, res_kind_satellite),
    }
}

pub(crate) fn gbps(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0} Gbps")
    } else if x >= 1.0 {
        format!("{x:.1} Gbps")
    } else {
        format!("{:.0} Mbps", x * 1000.0)
    }
}

/// See [`shared::resilience::coverage_text`].
pub(crate) fn pct(c: Option<f64>) -> String {
    shared::resilience::coverage_text(c)
}

#[component]
pub fn ResiliencePage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let cut = move || {
        query.with(|q| {
            q.get_all("cut")
                .unwrap_or_default()
                .into_iter()
                .filter(|c| !c.trim().is_empty())
                .collect::<Vec<String>>()
        })
    };
    // `?as_of=`: over the faults as they stood then, with no write controls
    // (the what-if, a read, stays, over that moment).
    let as_of = crate::history::use_as_of();
    let data = Resource::new(
        move || (cut(), as_of.get()),
        |(cut, at)| resilience_page(cut, at),
    );
    let echo = crate::form::page_echo();
    view! {
        <section class="resilience">
            <div class="page-head">
                <h1>{t!(i18n, res_title)}</h1>
                <crate::history::AsOfPicker action="/resilience" value=as_of />
            </div>
            <p class="note">{t!(i18n, res_intro)}</p>
            <EchoData echo=echo.clone() />
            {echo.map(|e| view! { <p class="error" id="figure-error" role="alert">{e.error.message.clone()}</p> })}
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Ok(d)) => view! { <ResilienceView d /> }.into_any(),
                        Ok(Err(e)) => view! {
                            <p class="error" id="what-if-error" role="alert">{e.message}</p>
                            <p><a href="/resilience">{t!(i18n, res_clear)}</a></p>
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ResilienceView(d: ResilienceData) -> impl IntoView {
    let i18n = use_i18n();
    let ResilienceData {
        report,
        before,
        n1,
        n2,
        figures,
        can_edit,
        as_of,
    } = d;
    let what_if = !report.cut.is_empty();
    let at_param = as_of
        .as_ref()
        .map(|a| format!("as_of={}", urlencode(a)))
        .unwrap_or_default();
    let cut_text = report.cut.join(", ");
    let ignored = report.ignored_synthetic;
    let clear = if at_param.is_empty() {
        "/resilience".to_string()
    } else {
        format!("/resilience?{at_param}")
    };
    view! {
        {as_of.clone().map(|at| view! {
            <crate::history::HistoryBanner as_of=at back="/resilience" />
            <p class="note">{t!(i18n, hist_assets_note)}</p>
        })}
        {what_if.then(|| view! {
            <p class="what-if-banner" id="what-if-banner" role="status">
                <strong>{t!(i18n, res_what_if)}</strong>" "{cut_text.clone()}" — "{t!(i18n, res_what_if_note)}
                " "<a href=clear.clone()>{t!(i18n, res_clear)}</a>
            </p>
        })}
        <p class="note" id="ignored-synthetic">
            {move || t_string!(i18n, res_ignored).replace("{n}", &ignored.to_string())}
        </p>
        <div class="island-cards" id="islands">
            {report.islands.iter().cloned().map(|i| {
                let was = before.iter().find(|b| b.0 == i.figures.region).map(|b| (b.1, b.2));
                view! { <IslandCard i was=what_if.then_some(was).flatten() /> }
            }).collect_view()}
        </div>
        <WhatIfForm report=report.clone() as_of=as_of.clone() />
        <ContingencyTables n1 n2 at_param=at_param.clone() />
        <InternationalTable report=report.clone() />
        <FiguresTable figures can_edit />
    }
}

#[component]
fn IslandCard(i: IslandReport, was: Option<(Status, f64)>) -> impl IntoView {
    let i18n = use_i18n();
    let f = i.figures.clone();
    let region = f.region;
    let status = f.status;
    let scale = f.capacity_gbps.max(f.demand_gbps.unwrap_or(0.0)).max(1e-9);
    let cable_w = format!("width:{:.1}%", f.cable_gbps / scale * 100.0);
    let backup_w = format!("width:{:.1}%", f.backup_gbps / scale * 100.0);
    let demand_at = f
        .demand_gbps
        .map(|d| format!("left:{:.1}%", d / scale * 100.0));
    let demand_estimate = i.demand_basis == Some(Basis::Estimate);
    let no_figures = status == Status::NoFigures;
    let backups = i.backups.clone();
    view! {
        <article class=format!("island-card status-{}", status.as_str()) id=format!("island-{}", region.id())
            data-region=region.id() data-status=status.as_str()>
            <h2>
                {move || region_label(i18n, region)}" "
                <span class=format!("badge res-{}", status.as_str())>{move || status_label(i18n, status)}</span>
            </h2>
            {was.filter(|w| w.0 != status).map(|(s, c)| view! {
                <p class="was">{t!(i18n, res_was)}" "{move || status_label(i18n, s)}" ("{gbps(c)}")"</p>
            })}
            {if no_figures {
                view! { <p class="quiet no-figures">{t!(i18n, res_no_figures_note)}</p> }.into_any()
            } else {
                let f = f.clone();
                view! {
                    <div class="capacity-bar" role="img"
                        aria-label=format!("{} / {}", gbps(f.capacity_gbps), f.demand_gbps.map(gbps).unwrap_or_default())>
                        <span class="cable" style=cable_w></span>
                        <span class="backup" style=backup_w></span>
                        {demand_at.map(|s| view! { <span class="demand" style=s></span> })}
                    </div>
                    <dl class="figures">
                        <dt>{t!(i18n, res_capacity)}</dt>
                        <dd class="capacity">{gbps(f.capacity_gbps)}
                            " ("{t!(i18n, res_kind_cable)}" "{gbps(f.cable_gbps)}", "{t!(i18n, res_backup)}" "{gbps(f.backup_gbps)}")"
                            {i.capacity_estimated.then(|| view! { " "<span class="estimate">{t!(i18n, res_estimate)}</span> })}
                        </dd>
                        <dt>{t!(i18n, res_demand)}</dt>
                        <dd class="demand">{match f.demand_gbps {
                            Some(d) => view! {
                                {gbps(d)}
                                {demand_estimate.then(|| view! { " "<span class="estimate" title=i.demand_source.clone()>{t!(i18n, res_estimate)}</span> })}
                            }.into_any(),
                            None => view! { <span class="quiet">{t!(i18n, res_no_demand)}</span> }.into_any(),
                        }}</dd>
                        <dt>{t!(i18n, res_coverage)}</dt>
                        <dd class="coverage">{pct(f.coverage)}</dd>
                    </dl>
                    <h3>{t!(i18n, res_carried_by)}</h3>
                    <ul class="carried">
                        {f.carried_by.iter().take(6).map(|c| {
                            let k = c.kind;
                            view! { <li data-link=c.link.clone()>{c.label.clone()}" · "{move || kind_label(i18n, k)}" · "{gbps(c.gbps)}</li> }
                        }).collect_view()}
                    </ul>
                    <h3>{t!(i18n, res_single_points)}</h3>
                    {if f.single_points.is_empty() {
                        view! { <p class="quiet">{t!(i18n, res_none)}</p> }.into_any()
                    } else {
                        view! { <p class="single-points">{f.single_points.join(", ")}</p> }.into_any()
                    }}
                }.into_any()
            }}
            <Backups backups />
        </article>
    }
}

#[component]
fn Backups(backups: Vec<BackupCount>) -> impl IntoView {
    let i18n = use_i18n();
    (!backups.is_empty()).then(|| view! {
        <details class="backups">
            <summary>{t!(i18n, res_backups)}</summary>
            <ul>
                {backups.into_iter().map(|b| {
                    let (k, s) = (b.kind, b.status);
                    view! { <li>
                        {move || asset_kind_label(i18n, k)}" · "{move || asset_status_label(i18n, s)}": "
                        {b.count}
                        {(b.synthetic > 0).then(|| view! {
                            " "<span class="synthetic">{move || t_string!(i18n, res_synthetic_n).replace("{n}", &b.synthetic.to_string())}</span>
                        })}
                    </li> }
                }).collect_view()}
            </ul>
        </details>
    })
}

#[component]
fn WhatIfForm(report: Report, as_of: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let mut links: Vec<(String, String, LinkKind)> = Vec::new();
    for l in &report.links {
        if !links.iter().any(|x| x.0 == l.id) {
            links.push((l.id.clone(), l.label.clone(), l.kind));
        }
    }
    links.sort_by(|a, b| a.2.cmp(&b.2).then(a.1.cmp(&b.1)));
    let cut = report.cut.clone();
    view! {
        <h2 id="what-if">{t!(i18n, res_what_if_title)}</h2>
        <form class="what-if" method="get" action="/resilience" id="what-if-form">
            <fieldset>
                <legend>{t!(i18n, res_what_if_pick)}</legend>
                {links.into_iter().map(|(id, label, k)| {
                    let checked = cut.contains(&id);
                    view! {
                        <label class=format!("link-choice kind-{}", match k { LinkKind::Cable => "cable", LinkKind::Microwave => "microwave", LinkKind::Satellite => "satellite" })>
                            <input type="checkbox" name="cut" value=id.clone() checked=checked />
                            {label}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            {as_of.map(|a| view! { <input type="hidden" name="as_of" value=a /> })}
            <button type="submit">{t!(i18n, res_what_if_run)}</button>
        </form>
    }
}

/// The what-if of `cut`; `at_param` (`as_of=…` or empty) keeps the moment.
fn cut_href(cut: &[String], at_param: &str) -> String {
    let q: Vec<String> = cut
        .iter()
        .map(|c| format!("cut={}", urlencode(c)))
        .chain((!at_param.is_empty()).then(|| at_param.to_string()))
        .collect();
    format!("/resilience?{}#islands", q.join("&"))
}

/// Percent-encodes a query value or path segment.
fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[component]
fn ContingencyTables(n1: Sweep, n2: Sweep, at_param: String) -> impl IntoView {
    let i18n = use_i18n();
    let worst = n2.worst.clone();
    let rows = move |s: &Sweep, limit: usize, id: &'static str| {
        let shown = s.contingencies.len().min(limit);
        let (evaluated, hit) = (s.evaluated, s.contingencies.len());
        view! {
            <p class="quiet">{move || t_string!(i18n, res_sweep_note)
                .replace("{evaluated}", &evaluated.to_string())
                .replace("{hit}", &hit.to_string())
                .replace("{shown}", &shown.to_string())}</p>
            <table class="contingencies" id=id>
                <thead><tr><th>{t!(i18n, res_col_cut)}</th><th>{t!(i18n, res_col_islands)}</th></tr></thead>
                <tbody>
                    {s.contingencies.iter().take(limit).cloned().map(|c| view! {
                        <tr>
                            <td><a href=cut_href(&c.cut, &at_param)>{c.cut.join(" + ")}</a></td>
                            <td>{c.islands.into_iter().map(|o| {
                                let (r, st) = (o.region, o.status);
                                view! { <span class=format!("outcome res-{}", st.as_str())>
                                    {move || region_label(i18n, r)}" "{move || status_label(i18n, st)}" "{pct(o.coverage)}
                                </span> }
                            }).collect_view()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
    };
    let n1_rows = rows(&n1, usize::MAX, "n1");
    let n2_rows = rows(&n2, N2_SHOWN, "n2");
    view! {
        <h2 id="contingencies">{t!(i18n, res_contingencies)}</h2>
        <h3>{t!(i18n, res_worst)}</h3>
        <table class="worst" id="worst">
            <thead><tr><th>{t!(i18n, res_col_island)}</th><th>{t!(i18n, res_col_worst)}</th><th>{t!(i18n, res_col_cut)}</th></tr></thead>
            <tbody>
                {worst.into_iter().map(|w| {
                    let (r, st) = (w.region, w.status);
                    view! { <tr data-region=r.id()>
                        <td>{move || region_label(i18n, r)}</td>
                        <td class=format!("res-{}", st.as_str())>{move || status_label(i18n, st)}" "{pct(w.coverage)}</td>
                        <td>{if w.cut.is_empty() { "—".to_string() } else { w.cut.join(" + ") }}</td>
                    </tr> }
                }).collect_view()}
            </tbody>
        </table>
        <h3>"N-1"</h3>
        {n1_rows}
        <h3>"N-2"</h3>
        {n2_rows}
    }
}

#[component]
fn InternationalTable(report: Report) -> impl IntoView {
    let i18n = use_i18n();
    let intl = report.international;
    view! {
        <h2 id="international">{t!(i18n, res_international)}</h2>
        <p>{gbps(intl.available_gbps)}" / "{gbps(intl.design_gbps)}" "<span class="estimate">{t!(i18n, res_estimate)}</span></p>
        <table id="landings">
            <thead><tr><th>{t!(i18n, res_col_station)}</th><th>{t!(i18n, res_col_available)}</th><th>{t!(i18n, res_col_down)}</th></tr></thead>
            <tbody>
                {intl.landings.into_iter().map(|l| view! {
                    <tr data-station=l.station.clone()>
                        <td>{l.station.clone()}</td>
                        <td>{gbps(l.available_gbps)}" / "{gbps(l.design_gbps)}</td>
                        <td>{l.down.join(", ")}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn FiguresTable(figures: Vec<Figure>, can_edit: bool) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h2 id="figures">{t!(i18n, res_figures)}</h2>
        <p class="note">{t!(i18n, res_figures_note)}</p>
        <table id="figures-table">
            <thead><tr>
                <th>{t!(i18n, res_col_figure)}</th><th>{t!(i18n, res_col_value)}</th>
                <th>{t!(i18n, res_col_basis)}</th><th>{t!(i18n, res_col_source)}</th>
                <th>{t!(i18n, res_col_set_by)}</th>
            </tr></thead>
            <tbody>
                {figures.into_iter().map(|f| view! { <FigureRow f can_edit /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn FigureRow(f: Figure, can_edit: bool) -> impl IntoView {
    let i18n = use_i18n();
    let unit = match f.unit {
        Unit::Mbps => "Mbps",
        Unit::Percent => "%",
    };
    // A post refused comes back with what was typed for this figure.
    let echo = crate::form::form_echo(&format!("figure:{}", f.key), None);
    let typed = |field: &str, default: String| {
        echo.as_ref()
            .and_then(|e| {
                e.values
                    .get(field)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .unwrap_or(default)
    };
    let value = typed("value", f.value.map(|v| v.to_string()).unwrap_or_default());
    let basis = typed("basis", f.basis.as_str().to_string());
    let source = typed("source", f.source.clone());
    let estimate = f.basis == Basis::Estimate;
    let key = f.key.clone();
    view! {
        <tr data-figure=f.key.clone()>
            <td><code>{f.key.clone()}</code></td>
            {if can_edit {
                view! {
                    <td colspan="3">
                        <form class="figure-form" method="post" action=format!("/resilience/figures/{}", urlencode(&key))>
                            <input type="hidden" name="version" value=f.version.to_string() />
                            <input type="text" name="value" value=value size="12" inputmode="decimal"
                                aria-label=move || t_string!(i18n, res_col_value) />
                            " "{unit}" "
                            <select name="basis" aria-label=move || t_string!(i18n, res_col_basis)>
                                <option value="public" selected=basis == "public">{t!(i18n, res_public)}</option>
                                <option value="estimate" selected=basis == "estimate">{t!(i18n, res_estimate)}</option>
                            </select>
                            <input type="text" name="source" value=source class="source"
                                aria-label=move || t_string!(i18n, res_col_source) />
                            <button type="submit">{t!(i18n, save)}</button>
                        </form>
                    </td>
                }.into_any()
            } else {
                view! {
                    <td>{f.value.map(|v| format!("{v} {unit}")).unwrap_or_else(|| "—".into())}</td>
                    <td>{if estimate {
                        view! { <span class="estimate">{t!(i18n, res_estimate)}</span> }.into_any()
                    } else {
                        view! { <span>{t!(i18n, res_public)}</span> }.into_any()
                    }}</td>
                    <td class="text">{f.source.clone()}</td>
                }.into_any()
            }}
            <td>{f.set_by.clone()}</td>
        </tr>
    }
}
