//! The repair board: each repair ship with its state and its queue, and
//! every open fault with its repair stage, days open, the stopwatch (days
//! at the current stage), the official date and the repair-time model's
//! P50/P90 (an official date earlier than the model's P10 is flagged).
//! Officers change stages and ship states by plain form posts (events,
//! conflict-checked); everyone else reads.

use leptos::prelude::*;
use shared::repair::{FaultRow, RepairsBoard, ShipRow, ShipState, Stage};

use crate::api::{repairs_page, RepairsData};
use crate::form::EchoData;
use crate::i18n::*;
use crate::util::eta_label;

pub fn stage_label(i18n: leptos_i18n::I18nContext<Locale>, s: Stage) -> &'static str {
    match s {
        Stage::Reported => t_string!(i18n, stage_reported),
        Stage::ShipRequested => t_string!(i18n, stage_ship_requested),
        Stage::ShipBooked => t_string!(i18n, stage_ship_booked),
        Stage::Permit => t_string!(i18n, stage_permit),
        Stage::InTransit => t_string!(i18n, stage_in_transit),
        Stage::OnSite => t_string!(i18n, stage_on_site),
        Stage::Restored => t_string!(i18n, stage_restored),
    }
}

fn ship_label(i18n: leptos_i18n::I18nContext<Locale>, s: ShipState) -> &'static str {
    match s {
        ShipState::Standby => t_string!(i18n, ship_standby),
        ShipState::Booked => t_string!(i18n, ship_booked),
        ShipState::InTransit => t_string!(i18n, ship_in_transit),
        ShipState::OnSite => t_string!(i18n, ship_on_site),
        ShipState::Sheltering => t_string!(i18n, ship_sheltering),
        ShipState::Released => t_string!(i18n, ship_released),
    }
}

fn days(d: Option<f64>) -> String {
    d.map(|d| format!("{d:.0}")).unwrap_or_else(|| "—".into())
}

#[component]
pub fn RepairsPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = crate::live::use_live();
    let data = Resource::new(move || live.faults.get(), |_| repairs_page());
    let echo = crate::form::page_echo();
    view! {
        <section class="repairs">
            <h1>{t!(i18n, repairs_title)}</h1>
            <EchoData echo=echo.clone() />
            {echo.map(|e| view! { <p class="error" id="repair-error" role="alert">{e.error.message.clone()}</p> })}
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Ok(d)) => view! { <Board d /> }.into_any(),
                        Ok(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Board(d: RepairsData) -> impl IntoView {
    let i18n = use_i18n();
    let RepairsData {
        board:
            RepairsBoard {
                ships,
                faults,
                cases,
                own_cases,
            },
        can_edit,
        today,
    } = d;
    let ship_names: Vec<(i64, String)> = ships.iter().map(|s| (s.id, s.name.clone())).collect();
    view! {
        <h2>{t!(i18n, repairs_ships)}</h2>
        <table id="ships">
            <thead><tr>
                <th>{t!(i18n, repairs_ship)}</th><th>{t!(i18n, repairs_state)}</th>
                <th>{t!(i18n, repairs_home_port)}</th><th>{t!(i18n, repairs_queue)}</th>
                <th>{t!(i18n, repairs_next_start)}" "<span class="estimate">{t!(i18n, res_estimate)}</span></th>
            </tr></thead>
            <tbody>
                {ships.into_iter().map(|s| view! { <ShipRowView s can_edit /> }).collect_view()}
            </tbody>
        </table>
        <h2>{t!(i18n, repairs_faults)}</h2>
        <p class="note">
            {move || t_string!(i18n, repairs_model_note).replace("{n}", &cases.to_string()).replace("{own}", &own_cases.to_string())}
            " "<span class="estimate">{t!(i18n, res_estimate)}</span>
        </p>
        <table id="repair-faults">
            <thead><tr>
                <th>{t!(i18n, col_cable)}</th><th>{t!(i18n, repairs_stage)}</th>
                <th>{t!(i18n, repairs_days_open)}</th><th>{t!(i18n, repairs_stopwatch)}</th>
                <th>{t!(i18n, col_eta)}</th><th>"P50 / P90"</th>
            </tr></thead>
            <tbody>
                {faults.into_iter().map(|f| view! { <FaultRowView f can_edit ships=ship_names.clone() today /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ShipRowView(s: ShipRow, can_edit: bool) -> impl IntoView {
    let i18n = use_i18n();
    let state = s.state;
    let id = s.id;
    view! {
        <tr id=format!("ship-{id}") data-ship=id data-state=state.as_str()>
            <td><a href=format!("/assets/{id}")>{s.name.clone()}</a></td>
            <td>{if can_edit {
                view! {
                    <form class="ship-form" method="post" action=format!("/repairs/ships/{id}")>
                        <input type="hidden" name="version" value=s.version.to_string() />
                        <select name="state" aria-label=move || t_string!(i18n, repairs_state)>
                            {ShipState::ALL.into_iter().map(|x| view! {
                                <option value=x.as_str() selected=x == state>{move || ship_label(i18n, x)}</option>
                            }).collect_view()}
                        </select>
                        " "<button type="submit">{t!(i18n, save)}</button>
                    </form>
                }.into_any()
            } else {
                view! { <span>{move || ship_label(i18n, state)}</span> }.into_any()
            }}</td>
            <td>{s.home_port.clone()}<br/><small class="position">{format!("{:.2}°E {:.2}°N", s.lon, s.lat)}</small></td>
            <td class="queue">{s.queue.iter().map(|f| view! { <a href=format!("#fault-{f}")>{format!("#{f}")}</a>" " }).collect_view()}</td>
            <td class="next-start">{s.next_start.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

#[component]
fn FaultRowView(
    f: FaultRow,
    can_edit: bool,
    ships: Vec<(i64, String)>,
    today: chrono::NaiveDate,
) -> impl IntoView {
    let i18n = use_i18n();
    let stage = f.stage;
    let id = f.id;
    let eta = f.official_eta;
    // A refused post comes back with what was typed for this fault.
    let echo = crate::form::form_echo("repair", Some(id));
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
    let stage_v = typed("stage", stage.as_str().to_string());
    let on_v = typed("stage_on", f.stage_on.unwrap_or(today).to_string());
    let ship_v = typed(
        "ship_id",
        f.ship_id.map(|s| s.to_string()).unwrap_or_default(),
    );
    let reasons = f.reasons.join("; ");
    view! {
        <tr id=format!("fault-{id}") data-fault=id data-stage=stage.as_str() data-optimistic=f.optimistic.to_string()>
            <td><a href=format!("/faults/{id}")>{format!("{} #{id}", f.cable)}</a></td>
            <td>{if can_edit {
                view! {
                    <form class="repair-form" method="post" action=format!("/repairs/faults/{id}")>
                        <input type="hidden" name="version" value=f.repair_version.to_string() />
                        <select name="stage" aria-label=move || t_string!(i18n, repairs_stage)>
                            {Stage::ALL.into_iter().map(|x| view! {
                                <option value=x.as_str() selected=x.as_str() == stage_v>{move || stage_label(i18n, x)}</option>
                            }).collect_view()}
                        </select>
                        <input type="date" name="stage_on" value=on_v aria-label=move || t_string!(i18n, repairs_since) />
                        <select name="ship_id" aria-label=move || t_string!(i18n, repairs_ship)>
                            <option value="" selected=ship_v.is_empty()>"—"</option>
                            {ships.into_iter().map(|(sid, name)| {
                                let selected = ship_v == sid.to_string();
                                view! { <option value=sid.to_string() selected=selected>{name}</option> }
                            }).collect_view()}
                        </select>
                        " "<button type="submit">{t!(i18n, save)}</button>
                    </form>
                }.into_any()
            } else {
                view! { <span>{move || stage_label(i18n, stage)}</span> }.into_any()
            }}</td>
            <td>{f.days_open.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td class="stopwatch" class:stalled=f.stalled>
                {f.days_in_stage.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}
                {f.stalled.then(|| view! { " "<strong class="stalled">{t!(i18n, repairs_stalled)}</strong> })}
            </td>
            <td>{move || eta_label(i18n, &eta)}
                {f.optimistic.then(|| view! { " "<strong class="optimistic" title=reasons.clone()>{t!(i18n, repairs_optimistic)}</strong> })}
            </td>
            <td>{format!("{} / {} d", days(f.p50_days), days(f.p90_days))}</td>
        </tr>
    }
}
