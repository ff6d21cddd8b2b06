//! Planned maintenance (計畫性維修): the open list, a form to record new
//! work, and marking work completed (refused if someone changed it first).

use leptos::prelude::*;
use shared::api::ApiError;
use shared::maintenance::{Maintenance, MaintenanceForm};

use shared::auth::Capability;

use crate::access::IfCan;
use crate::api::{complete_maintenance, list_maintenance, record_maintenance};
use crate::form::EchoData;
use crate::i18n::*;
use crate::util::{eta_label, field_error_text, textarea_text, ServerResult};

#[component]
pub fn MaintenancePage() -> impl IntoView {
    let i18n = use_i18n();
    let me = crate::access::me();
    let record = Action::new(move |f: &MaintenanceForm| {
        let f = f.clone();
        async move { record_maintenance(f).await }
    });
    let complete = Action::new(move |(id, version, day): &(i64, i64, String)| {
        let (id, version, day) = (*id, *version, day.clone());
        async move { complete_maintenance(id, version, day).await }
    });
    let cables = crate::form::cables_resource();
    let rows = Resource::new(
        move || (record.version().get(), complete.version().get()),
        |_| list_maintenance(),
    );
    // A completion posted without JavaScript and refused: its error.
    let echo = crate::form::page_echo();
    if let Some(e) = echo.as_ref().filter(|e| e.form == "maintenance-complete") {
        complete.value().set(Some(Ok(Err(e.error.clone()))));
    }
    view! {
        <section class="maintenance">
            <h1>{t!(i18n, maintenance_title)}</h1>
            <EchoData echo=echo />
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    let can_write = me.await.is_some_and(|p| p.can(Capability::WriteData));
                    match rows.await {
                        Ok(list) if list.is_empty() => view! { <p id="no-maintenance">{t!(i18n, no_maintenance)}</p> }.into_any(),
                        Ok(list) => view! { <MaintenanceTable list complete can_write /> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p id="complete-status" role="status">
                {move || complete.value().with(|r| match r {
                    Some(Ok(Err(e))) => Some(view! { <strong class="error">{e.message.clone()}</strong> }),
                    Some(Err(e)) => Some(view! { <strong class="error">{e.to_string()}</strong> }),
                    _ => None,
                })}
            </p>
            <IfCan me cap=Capability::WriteData>
                <h2>{t!(i18n, maintenance_new)}</h2>
                <MaintenanceEditor record cables />
            </IfCan>
        </section>
    }
}

#[component]
fn MaintenanceTable(
    list: Vec<Maintenance>,
    complete: Action<(i64, i64, String), ServerResult<Maintenance>>,
    /// Whether the reader may mark work completed (else no column for it).
    can_write: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table id="maintenance-list">
            <thead><tr>
                <th>{t!(i18n, col_cable)}</th><th>{t!(i18n, col_eta)}</th>
                <th>{t!(i18n, col_work)}</th><th>{t!(i18n, col_alternate)}</th>
                {can_write.then(|| view! { <th>{t!(i18n, maintenance_complete)}</th> })}
            </tr></thead>
            <tbody>
                {list.into_iter().map(|m| {
                    let eta = m.line.eta;
                    let (id, version) = (m.id, m.version);
                    // The date typed into a completion the server refused.
                    let typed = crate::form::form_echo("maintenance-complete", Some(id))
                        .and_then(|e| e.values.get("completed_on").and_then(|v| v.as_str()).map(str::to_string))
                        .unwrap_or_default();
                    let day = RwSignal::new(typed.clone());
                    view! { <tr data-maintenance=m.id>
                        <td>{m.line.cable.clone()}</td><td>{move || eta_label(i18n, &eta)}</td>
                        <td class="text">{m.line.description.clone()}</td>
                        <td>{shared::fault::alternate_routes_text(&m.line.alternate_routes)}</td>
                        {can_write.then(|| view! { <td>
                            // A plain form too: without JavaScript it posts
                            // to the server, which answers with this page.
                            <form class="complete-form" method="post" action=format!("/maintenance/{id}/complete")
                                on:submit=move |ev| {
                                    ev.prevent_default();
                                    complete.dispatch((id, version, day.get_untracked()));
                                }>
                                <input type="hidden" name="version" value=version.to_string() />
                                <input type="date" name="completed_on" value=typed aria-label=move || t_string!(i18n, maintenance_completed_on)
                                    prop:value=move || day.get() on:input=move |ev| day.set(event_target_value(&ev)) />
                                <button type="submit" class="complete">
                                    {t!(i18n, maintenance_complete)}
                                </button>
                            </form>
                        </td> })}
                    </tr> }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn MaintenanceEditor(
    record: Action<MaintenanceForm, ServerResult<Maintenance>>,
    cables: crate::form::Cables,
) -> impl IntoView {
    let i18n = use_i18n();
    // A post refused without JavaScript comes back with what was typed.
    let echo = crate::form::form_echo("maintenance", None);
    let initial = echo
        .as_ref()
        .and_then(|e| serde_json::from_value::<MaintenanceForm>(e.values.clone()).ok())
        .unwrap_or_default();
    let form = RwSignal::new(initial.clone());
    let result = record.value();
    if let Some(e) = echo.as_ref() {
        result.set(Some(Ok(Err(e.error.clone()))));
    }
    // A recorded entry clears the form; an error keeps everything typed.
    Effect::new(move |_| {
        if let Some(Ok(Ok(_))) = result.get() {
            form.set(MaintenanceForm::default());
        }
    });
    let err_for = move |field: &'static str| {
        move || {
            result.with(|r| match r {
                Some(Ok(Err(ApiError { fields, .. }))) => fields
                    .iter()
                    .find(|f| f.field == field)
                    .map(|f| field_error_text(i18n, &f.code, &f.message)),
                _ => None,
            })
        }
    };
    macro_rules! bind {
        ($field:ident) => {
            (
                move || form.with(|f| f.$field.clone()),
                move |ev| form.update(|f| f.$field = event_target_value(&ev)),
            )
        };
    }
    let (cable_v, cable_set) = bind!(cable);
    let (eta_v, eta_set) = bind!(eta);
    let (desc_v, desc_set) = bind!(description);
    let (alt_v, alt_set) = bind!(alternate_routes);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        record.dispatch(form.get_untracked());
    };
    view! {
        <form class="fault-form" id="maintenance-form" method="post" action="/maintenance" on:submit=submit novalidate>
            <label>{t!(i18n, field_cable)}
                <select name="cable" prop:value=cable_v on:change=cable_set>
                    <option value="">{t!(i18n, choose)}</option>
                    <Suspense>
                        {move || Suspend::new(async move {
                            let list = cables.await.unwrap_or_default();
                            list.into_iter().map(|c| {
                                let selected = form.with_untracked(|f| f.cable == c.abbrev);
                                view! { <option value=c.abbrev.clone() selected=selected>{c.notice_name}</option> }
                            }).collect_view()
                        })}
                    </Suspense>
                </select>
                <span class="field-error" data-field="cable">{err_for("cable")}</span>
            </label>
            <label>{t!(i18n, field_eta_maintenance)}
                <input type="text" name="eta" value=initial.eta.clone() placeholder="2026-04-30 / 2026-04" prop:value=eta_v on:input=eta_set />
                <span class="field-error" data-field="eta">{err_for("eta")}</span>
            </label>
            <label class="wide">{t!(i18n, col_work)}
                <textarea name="description" prop:value=desc_v on:input=desc_set rows="2">{textarea_text(&initial.description)}</textarea>
                <span class="field-error" data-field="description">{err_for("description")}</span>
            </label>
            <label class="wide">{t!(i18n, field_alternate_routes)}
                <textarea name="alternate_routes" prop:value=alt_v on:input=alt_set rows="2">{textarea_text(&initial.alternate_routes)}</textarea>
                <span class="field-error" data-field="alternate_routes">{err_for("alternate_routes")}</span>
            </label>
            <div class="actions">
                <button type="submit" id="save-maintenance" disabled=move || record.pending().get()>
                    {move || if record.pending().get() { t_string!(i18n, saving) } else { t_string!(i18n, save) }}
                </button>
                <span id="maintenance-status" role="status">
                    {move || result.with(|r| match r {
                        Some(Ok(Err(e))) if e.error == shared::api::ErrorCode::Invalid => Some(view! {
                            <strong class="error">{t!(i18n, form_has_errors)}</strong>
                        }.into_any()),
                        Some(Ok(Err(e))) => Some(view! { <strong class="error">{e.message.clone()}</strong> }.into_any()),
                        Some(Err(e)) => Some(view! { <strong class="error">{e.to_string()}</strong> }.into_any()),
                        Some(Ok(Ok(_))) => Some(view! { <span>{t!(i18n, saved)}</span> }.into_any()),
                        None => None,
                    })}
                </span>
            </div>
        </form>
    }
}
