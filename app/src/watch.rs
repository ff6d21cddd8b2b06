//! The duty-watch board (`/watch`), built for a 1920×1080 wall screen: cable
//! and fault counts, islands affected, open alerts with their acknowledge
//! button, and the newest events. Live: it re-reads on every event.

use leptos::prelude::*;
use shared::map::CableState;
use shared::watch::{Alert, AlertKind, Board};

use crate::api::{ack_alert, watch_board, WatchData};
use crate::i18n::*;
use crate::live::use_live;
use crate::util::{kind_label, taipei};

/// Alerts shown at once; the rest are counted (the board never scrolls).
const ALERTS_SHOWN: usize = 6;
/// Events in the feed.
const FEED: usize = 10;

pub fn state_label(i18n: leptos_i18n::I18nContext<Locale>, s: CableState) -> &'static str {
    match s {
        CableState::Cut => t_string!(i18n, map_state_cut),
        CableState::Degraded => t_string!(i18n, map_state_degraded),
        CableState::Maintenance => t_string!(i18n, map_state_maintenance),
        CableState::InService => t_string!(i18n, map_state_in_service),
    }
}

fn alert_label(i18n: leptos_i18n::I18nContext<Locale>, k: AlertKind) -> &'static str {
    match k {
        AlertKind::NewFault => t_string!(i18n, alert_new_fault),
        AlertKind::CableCut => t_string!(i18n, alert_cable_cut),
        AlertKind::EtaLater => t_string!(i18n, alert_eta_later),
        AlertKind::Restored => t_string!(i18n, alert_restored),
        AlertKind::IslandOnBackup => t_string!(i18n, alert_island_on_backup),
        AlertKind::IslandShort => t_string!(i18n, alert_island_short),
        AlertKind::IslandIsolated => t_string!(i18n, alert_island_isolated),
        AlertKind::IslandRecovered => t_string!(i18n, alert_island_recovered),
        AlertKind::ShipSheltering => t_string!(i18n, alert_ship_sheltering),
        AlertKind::RepairStalled => t_string!(i18n, alert_repair_stalled),
    }
}

pub fn island_label(i18n: leptos_i18n::I18nContext<Locale>, region: &str) -> String {
    match shared::resilience::Region::ALL
        .into_iter()
        .find(|r| r.id() == region)
    {
        Some(r) => crate::resilience::region_label(i18n, r).to_string(),
        None => region.to_string(),
    }
}

#[component]
pub fn WatchPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = use_live();
    // `?as_of=`: the board as it stood then, with nothing to acknowledge.
    let as_of = crate::history::use_as_of();
    let data = Resource::new(
        move || (as_of.get(), live.any.get()),
        |(at, _)| watch_board(at),
    );
    let sound = RwSignal::new(false);
    // Sound: a short tone when an alert newer than those seen arrives.
    #[cfg(feature = "hydrate")]
    {
        let seen = StoredValue::new(None::<i64>);
        Effect::new(move |_| {
            if let Some(Ok(page)) = data.get() {
                let newest = page.board.alerts.first().map(|a| a.id);
                let before = seen.get_value();
                seen.set_value(newest.or(before));
                if sound.get_untracked() && before.is_some() && newest > before {
                    beep();
                }
            }
        });
    }
    view! {
        <section class="watch-board" id="watch-board">
            <div class="watch-head">
                <h1>{t!(i18n, watch_title)}</h1>
                <label class="sound">
                    <input type="checkbox" id="watch-sound"
                        prop:checked=move || sound.get()
                        on:change=move |ev| sound.set(event_target_checked(&ev)) />
                    {t!(i18n, watch_sound)}
                </label>
                <crate::history::AsOfPicker action="/watch" value=as_of />
            </div>
            <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => view! {
                            {page.as_of.clone().map(|at| view! {
                                <crate::history::HistoryBanner as_of=at back="/watch" />
                                <p class="note">{t!(i18n, hist_assets_note)}</p>
                            })}
                            <BoardView page />
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn BoardView(page: WatchData) -> impl IntoView {
    let i18n = use_i18n();
    let WatchData { board, can_ack, .. } = page;
    let Board {
        cables,
        faults,
        islands,
        alerts,
        events,
        ..
    } = board;
    let more = alerts.len().saturating_sub(ALERTS_SHOWN);
    let open_alerts = alerts.len();
    view! {
        <div class="tiles">
            {cables.into_iter().map(|(s, n)| view! {
                <div class=format!("tile cable-{}", s.as_str()) data-state=s.as_str()>
                    <span class="n">{n}</span>
                    <span class="what">{move || state_label(i18n, s)}</span>
                </div>
            }).collect_view()}
            {faults.into_iter().map(|(k, n)| view! {
                <div class=format!("tile fault-{}", k.as_str()) data-kind=k.as_str()>
                    <span class="n">{n}</span>
                    <span class="what">{move || kind_label(i18n, k)}</span>
                </div>
            }).collect_view()}
        </div>
        <div class="watch-grid">
            <div class="panel alerts">
                <h2>{t!(i18n, watch_alerts)}" "<span class="count" id="alert-count">{open_alerts}</span></h2>
                {(open_alerts == 0).then(|| view! { <p class="quiet">{t!(i18n, watch_no_alerts)}</p> })}
                <ul id="alerts">
                    {alerts.into_iter().take(ALERTS_SHOWN).map(|a| view! { <AlertRow a can_ack /> }).collect_view()}
                </ul>
                {(more > 0).then(|| view! { <p class="more">{format!("+{more}")}</p> })}
            </div>
            <div class="panel islands">
                <h2>{t!(i18n, watch_islands)}</h2>
                {islands.is_empty().then(|| view! { <p class="quiet">{t!(i18n, watch_no_islands)}</p> })}
                <ul id="islands">
                    {islands.into_iter().map(|i| {
                        let region = i.region.clone();
                        let st = i.status;
                        let figures = match (i.demand_gbps, i.coverage) {
                            (Some(d), Some(c)) => format!("{:.1} / {d:.1} Gbps ({})", i.capacity_gbps, crate::resilience::pct(Some(c))),
                            _ => format!("{:.1} Gbps", i.capacity_gbps),
                        };
                        view! {
                            <li class=format!("res-{}", st.as_str()) data-region=i.region.clone() data-status=st.as_str()>
                                <a href=format!("/resilience#island-{}", i.region)><strong>{move || island_label(i18n, &region)}</strong></a>
                                " "<span class=format!("badge res-{}", st.as_str())>{move || crate::resilience::status_label(i18n, st)}</span>
                                " "<span class="capacity">{figures}</span>
                                {(!i.down.is_empty()).then(|| view! { " "<span class="cables">{i.down.join(", ")}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
            <div class="panel feed">
                <h2>{t!(i18n, watch_feed)}</h2>
                <ol id="feed">
                    {events.into_iter().take(FEED).map(|e| view! {
                        <li data-seq=e.seq>
                            <time>{taipei(&e.at)}</time>
                            <span class="kind">{e.kind.clone()}</span>
                            <span class="entity">{format!("{} #{}", e.entity_type, e.entity_id)}</span>
                            <span class="actor">{e.actor.clone()}</span>
                        </li>
                    }).collect_view()}
                </ol>
            </div>
        </div>
    }
}

/// Where an alert leads: its fault, or the island's card.
fn alert_href(a: &Alert) -> String {
    match (a.fault_id, &a.region) {
        (Some(id), _) => format!("/faults/{id}"),
        (None, Some(r)) => format!("/resilience#island-{r}"),
        (None, None) if a.kind == AlertKind::ShipSheltering => "/repairs".into(),
        (None, None) => "/resilience".into(),
    }
}

#[component]
fn AlertRow(a: Alert, can_ack: bool) -> impl IntoView {
    let i18n = use_i18n();
    let ack = Action::new(move |id: &i64| ack_alert(*id));
    let id = a.id;
    let kind = a.kind;
    let failed = move || match ack.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        Some(Ok(Err(e))) => Some(e.message),
        _ => None,
    };
    view! {
        <li class=format!("alert alert-{}", kind.as_str()) data-alert=id>
            <span class="what">{move || alert_label(i18n, kind)}</span>
            <a href=alert_href(&a)>{a.summary.clone()}</a>
            <time>{taipei(&a.raised_at)}</time>
            // A plain form too: without JavaScript the acknowledgement posts
            // to the server, which answers with the board again.
            {can_ack.then(|| view! {
                <form class="ack-form" method="post" action=format!("/alerts/{id}/ack")
                    on:submit=move |ev| { ev.prevent_default(); ack.dispatch(id); }>
                    <button type="submit" class="ack" data-ack=id disabled=move || ack.pending().get()>
                        {t!(i18n, watch_ack)}
                    </button>
                </form>
            })}
            {move || failed().map(|m| view! { <span class="error">{m}</span> })}
        </li>
    }
}

#[cfg(feature = "hydrate")]
fn beep() {
    let Ok(ctx) = web_sys::AudioContext::new() else {
        return;
    };
    let Ok(osc) = ctx.create_oscillator() else {
        return;
    };
    osc.frequency().set_value(880.0);
    if osc.connect_with_audio_node(&ctx.destination()).is_ok() {
        let t = ctx.current_time();
        let _ = osc.start();
        let _ = osc.stop_with_when(t + 0.3);
    }
}
