//! The fault form, for logging a new fault and editing one. Everything typed
//! stays in the form on an error; each bad field shows its message beside it;
//! an edit against a stale version shows the conflict and keeps the text.

use leptos::prelude::*;
use shared::api::ApiError;
use shared::fault::{Fault, FaultForm, FaultKind, FaultStatus};

use crate::api::{list_cables, save_fault, CableBrief, SaveFaultRequest};
use crate::i18n::*;
use crate::util::{field_error_text, kind_label, status_label, textarea_text};

#[component]
pub fn NewFaultPage() -> impl IntoView {
    let i18n = use_i18n();
    let cables = cables_resource();
    view! {
        <section class="fault-form-page">
            <h1>{t!(i18n, new_fault_title)}</h1>
            <FaultEditor fault=None cables />
        </section>
    }
}

/// A form posted without JavaScript that the server refused: what was typed
/// and why. The server renders the page again with it (so nothing typed is
/// lost and errors show beside their fields); the page carries it in
/// `#form-echo` so hydration keeps it too.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FormEcho {
    /// Which form: `fault`, `maintenance`, `asset`.
    pub form: String,
    /// The record edited (`None` for a new one).
    pub id: Option<i64>,
    /// The version the edit was made on.
    pub version: Option<i64>,
    /// The fields as typed.
    pub values: serde_json::Value,
    pub error: ApiError,
}

/// The echo of a refused form post, if this page is one (server: the
/// render's context; browser: the page's `#form-echo`).
pub fn form_echo(form: &str, id: Option<i64>) -> Option<FormEcho> {
    echo_source().filter(|e| e.form == form && e.id == id)
}

/// The echo of whichever form post this page answers, if any.
pub fn page_echo() -> Option<FormEcho> {
    echo_source()
}

#[cfg(feature = "ssr")]
fn echo_source() -> Option<FormEcho> {
    use_context::<FormEcho>()
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn echo_source() -> Option<FormEcho> {
    let text = web_sys::window()?
        .document()?
        .get_element_by_id("form-echo")?
        .get_attribute("data-echo")?;
    serde_json::from_str(&text).ok()
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn echo_source() -> Option<FormEcho> {
    None
}

/// The echo itself, in the page for hydration (nothing when there is none).
#[component]
pub fn EchoData(echo: Option<FormEcho>) -> impl IntoView {
    echo.and_then(|e| serde_json::to_string(&e).ok())
        .map(|json| view! { <div id="form-echo" hidden data-echo=json></div> })
}

/// The fault form's cable list. Made by the page itself, before anything
/// waits: a resource made inside a suspended part is numbered in the order
/// the server happened to resolve things, so the browser could hydrate it
/// with another resource's data and leave the form's handlers unattached.
pub type Cables = Resource<Result<Vec<CableBrief>, ServerFnError>>;

pub fn cables_resource() -> Cables {
    Resource::new(|| (), |_| list_cables())
}

/// The form. On a fault's page, `latest` is the fault as the live stream
/// last saw it: when someone else saves a newer version, the form says so
/// (keeping what was typed) and offers to load it.
#[component]
pub fn FaultEditor(
    fault: Option<Fault>,
    cables: Cables,
    #[prop(optional, into)] latest: Option<Signal<Option<Fault>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = fault.as_ref().map(|f| f.id);
    // "true" once the form's handlers are attached (after hydration): a
    // save before then is the plain post, which works too but reloads.
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let echo = form_echo("fault", id);
    let version = RwSignal::new(
        echo.as_ref()
            .and_then(|e| e.version)
            .or(fault.as_ref().map(|f| f.version)),
    );
    // What the server renders into the fields: the fault, or what was typed
    // into a form the server refused.
    let initial = echo
        .as_ref()
        .and_then(|e| serde_json::from_value::<FaultForm>(e.values.clone()).ok())
        .or_else(|| fault.as_ref().map(FaultForm::from_fault))
        .unwrap_or_default();
    let form = RwSignal::new(initial.clone());
    let action = match id {
        Some(id) => format!("/faults/{id}"),
        None => "/faults/new".to_string(),
    };
    let save = Action::new(move |req: &SaveFaultRequest| {
        let req = req.clone();
        async move { save_fault(req).await }
    });
    let result = save.value();
    if let Some(e) = echo.as_ref() {
        result.set(Some(Ok(Err(e.error.clone()))));
    }
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
    // After a successful save, move to the fault's page (or refresh the version).
    Effect::new(move |_| {
        if let Some(Ok(Ok(f))) = result.get() {
            version.set(Some(f.version));
            let target = format!("/faults/{}", f.id);
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&target, Default::default());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveFaultRequest {
            id,
            version: version.get_untracked(),
            form: form.get_untracked(),
        });
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
    let (det_v, det_set) = bind!(detected_on);
    let (kind_v, kind_set) = bind!(kind);
    let (place_v, place_set) = bind!(place);
    let (km_v, km_set) = bind!(km);
    let (alt_v, alt_set) = bind!(alternate_routes);
    let (eta_v, eta_set) = bind!(eta);
    let (status_v, status_set) = bind!(status);
    let (rest_v, rest_set) = bind!(restored_on);
    let (notes_v, notes_set) = bind!(notes);
    let (lost_v, lost_set) = bind!(capacity_lost_pct);
    let newer = move || {
        latest
            .and_then(|l| l.get())
            .filter(|f| version.get().is_some_and(|v| f.version > v))
    };
    let load_newer = move |_| {
        if let Some(f) = newer() {
            form.set(FaultForm::from_fault(&f));
            version.set(Some(f.version));
        }
    };
    view! {
        {move || newer().map(|f| view! {
            <p class="stale" id="stale-version" role="status">
                {t!(i18n, stale_version, version = move || f.version)}" "
                <button type="button" id="load-newer" on:click=load_newer>{t!(i18n, load_newer)}</button>
            </p>
        })}
        <EchoData echo=echo.clone() />
        <form class="fault-form" method="post" action=action on:submit=submit novalidate
            data-live=move || live.get().to_string()>
            <input type="hidden" name="version" value=version.get_untracked().map(|v| v.to_string()).unwrap_or_default()
                prop:value=move || version.get().map(|v| v.to_string()).unwrap_or_default() />
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
            <label>{t!(i18n, field_detected_on)}
                <input type="date" name="detected_on" value=initial.detected_on.clone() prop:value=det_v on:input=det_set />
                <span class="field-error" data-field="detected_on">{err_for("detected_on")}</span>
            </label>
            <label>{t!(i18n, field_kind)}
                <select name="kind" prop:value=kind_v on:change=kind_set>
                    <option value="">{t!(i18n, choose)}</option>
                    {FaultKind::ALL.into_iter().map(|k| {
                        let selected = form.with_untracked(|f| f.kind == k.as_str());
                        view! { <option value=k.as_str() selected=selected>{move || kind_label(i18n, k)}</option> }
                    }).collect_view()}
                </select>
                <span class="field-error" data-field="kind">{err_for("kind")}</span>
            </label>
            <label>{t!(i18n, field_place)}
                <input type="text" name="place" value=initial.place.clone() prop:value=place_v on:input=place_set maxlength="100" />
                <span class="field-error" data-field="place">{err_for("place")}</span>
            </label>
            <label>{t!(i18n, field_km)}
                <input type="text" inputmode="decimal" name="km" value=initial.km.clone() prop:value=km_v on:input=km_set />
                <span class="field-error" data-field="km">{err_for("km")}</span>
            </label>
            <label>{t!(i18n, field_alternate_routes)}
                <textarea name="alternate_routes" prop:value=alt_v on:input=alt_set rows="2">{textarea_text(&initial.alternate_routes)}</textarea>
                <span class="field-error" data-field="alternate_routes">{err_for("alternate_routes")}</span>
            </label>
            <label>{t!(i18n, field_eta)}
                <input type="text" name="eta" value=initial.eta.clone() placeholder="2026-04-30 / 2026-04" prop:value=eta_v on:input=eta_set />
                <span class="field-error" data-field="eta">{err_for("eta")}</span>
            </label>
            <label>{t!(i18n, field_status)}
                <select name="status" prop:value=status_v on:change=status_set>
                    {FaultStatus::ALL.into_iter().map(|s| {
                        let selected = form.with_untracked(|f| f.status == s.as_str() || (f.status.is_empty() && s == FaultStatus::Open));
                        view! { <option value=s.as_str() selected=selected>{move || status_label(i18n, s)}</option> }
                    }).collect_view()}
                </select>
                <span class="field-error" data-field="status">{err_for("status")}</span>
            </label>
            <label>{t!(i18n, field_restored_on)}
                <input type="date" name="restored_on" value=initial.restored_on.clone() prop:value=rest_v on:input=rest_set />
                <span class="field-error" data-field="restored_on">{err_for("restored_on")}</span>
            </label>
            <label>{t!(i18n, field_capacity_lost)}
                <input type="text" name="capacity_lost_pct" inputmode="decimal" value=initial.capacity_lost_pct.clone()
                    placeholder=move || t_string!(i18n, field_capacity_lost_hint) prop:value=lost_v on:input=lost_set />
                <span class="field-error" data-field="capacity_lost_pct">{err_for("capacity_lost_pct")}</span>
            </label>
            <label class="wide">{t!(i18n, field_notes)}
                <textarea name="notes" prop:value=notes_v on:input=notes_set rows="3">{textarea_text(&initial.notes)}</textarea>
                <span class="field-error" data-field="notes">{err_for("notes")}</span>
            </label>
            <div class="actions">
                <button type="submit" id="save-fault" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { t_string!(i18n, saving) } else { t_string!(i18n, save) }}
                </button>
                <span id="form-status" role="status">
                    {move || result.with(|r| crate::form::save_status(i18n, r))}
                </span>
            </div>
        </form>
    }
}

/// What a form's save came to: saved, a conflict (the text stays), invalid
/// fields (shown beside them), or another error.
pub(crate) fn save_status<T>(
    i18n: leptos_i18n::I18nContext<Locale>,
    r: &Option<crate::util::ServerResult<T>>,
) -> Option<AnyView> {
    match r {
        Some(Ok(Err(e))) if e.error == shared::api::ErrorCode::Conflict => Some(
            view! {
                <strong class="conflict">{t!(i18n, conflict_title)}": "{e.message.clone()}</strong>
            }
            .into_any(),
        ),
        Some(Ok(Err(e))) if e.error == shared::api::ErrorCode::Invalid => Some(
            view! {
                <strong class="error">{t!(i18n, form_has_errors)}</strong>
            }
            .into_any(),
        ),
        Some(Ok(Err(e))) => {
            Some(view! { <strong class="error">{e.message.clone()}</strong> }.into_any())
        }
        Some(Err(e)) => Some(view! { <strong class="error">{e.to_string()}</strong> }.into_any()),
        Some(Ok(Ok(_))) => Some(view! { <span>{t!(i18n, saved)}</span> }.into_any()),
        None => None,
    }
}
