//! Signing in, who is signed in, the audit trail, one's API tokens and the
//! admin's kiosk screens. What a role may not do is hidden here, and refused
//! by the server whatever the page shows.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::auth::{AuditFilter, Capability, Principal, TokenInfo};

use crate::api::{
    audit_events, create_kiosk, create_token, list_kiosks, my_tokens, revoke_kiosk, revoke_token,
    whoami,
};
use crate::i18n::*;
use crate::util::{taipei, ServerResult};

/// The signed-in principal, loaded once per page for the navigation.
pub fn use_me() -> Resource<Option<Principal>> {
    Resource::new(|| (), |_| async move { whoami().await.ok().flatten() })
}

/// The page's signed-in principal (loaded once by the layout).
pub fn me() -> Resource<Option<Principal>> {
    use_context::<Resource<Option<Principal>>>().unwrap_or_else(use_me)
}

/// Shows `children` only to a principal with `cap`.
#[component]
pub fn IfCan(
    me: Resource<Option<Principal>>,
    cap: Capability,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <Suspense>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    let ok = me.await.is_some_and(|p| p.can(cap));
                    ok.then(|| children())
                })
            }}
        </Suspense>
    }
}

/// The signed-in user and the sign-out button.
#[component]
pub fn UserBox(me: Resource<Option<Principal>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                me.await.map(|p| view! {
                    <span class="user" id="signed-in-as">{p.name.clone()}" ("{p.role.as_str()}")"</span>
                    <form method="post" action="/signout" class="signout">
                        <button type="submit" id="sign-out">{t!(i18n, sign_out)}</button>
                    </form>
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    let q = use_query_map();
    let get = move |k: &str| q.with_untracked(|m| m.get(k).unwrap_or_default());
    let error = get("error");
    let retry = get("retry");
    let next = get("next");
    let user = get("user");
    let message = match error.as_str() {
        "refused" => Some(t_string!(i18n, signin_refused).to_string()),
        "rate_limited" => Some(format!(
            "{} ({retry} s)",
            t_string!(i18n, signin_rate_limited)
        )),
        "internal" => Some(t_string!(i18n, signin_internal).to_string()),
        _ => None,
    };
    view! {
        <section class="signin">
            <h1>{t!(i18n, signin_title)}</h1>
            {message.map(|m| view! { <p class="error" id="signin-error" role="alert">{m}</p> })}
            <form method="post" action="/signin" id="signin-form">
                <input type="hidden" name="next" value=next />
                <label>{t!(i18n, signin_username)}
                    <input type="text" name="username" id="username" autocomplete="username"
                        required maxlength="64" value=user />
                </label>
                <label>{t!(i18n, signin_password)}
                    <input type="password" name="password" id="password"
                        autocomplete="current-password" required maxlength="256" />
                </label>
                <div class="actions">
                    <button type="submit" id="sign-in">{t!(i18n, signin_button)}</button>
                </div>
            </form>
        </section>
    }
}

/// `YYYY-MM-DD` in Taipei → the RFC 3339 bound of that day.
fn day_bound(day: &str, end: bool) -> Option<String> {
    let d = day.trim();
    if d.is_empty() {
        return None;
    }
    Some(if end {
        format!("{d}T23:59:59.999999+08:00")
    } else {
        format!("{d}T00:00:00+08:00")
    })
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let actor = RwSignal::new(String::new());
    let entity = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let filter = RwSignal::new(AuditFilter::default());
    let events = Resource::new(move || filter.get(), audit_events);
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        filter.set(AuditFilter {
            actor: Some(actor.get_untracked()),
            entity_type: Some(entity.get_untracked()),
            entity_id: None,
            from: day_bound(&from.get_untracked(), false),
            to: day_bound(&to.get_untracked(), true),
        });
    };
    let input = |s: RwSignal<String>| move |ev| s.set(event_target_value(&ev));
    view! {
        <section class="audit">
            <h1>{t!(i18n, audit_title)}</h1>
            <form class="filters" id="audit-filter" on:submit=apply>
                <label>{t!(i18n, audit_actor)}<input type="text" name="actor" prop:value=move || actor.get() on:input=input(actor) /></label>
                <label>{t!(i18n, audit_entity)}
                    <select name="entity_type" prop:value=move || entity.get() on:change=input(entity)>
                        <option value="">{t!(i18n, audit_any)}</option>
                        {["fault", "notice", "maintenance", "user", "token", "kiosk", "reference"].into_iter()
                            .map(|e| view! { <option value=e>{e}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, audit_from)}<input type="date" name="from" prop:value=move || from.get() on:input=input(from) /></label>
                <label>{t!(i18n, audit_to)}<input type="date" name="to" prop:value=move || to.get() on:input=input(to) /></label>
                <button type="submit" id="audit-apply">{t!(i18n, audit_apply)}</button>
            </form>
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match events.await {
                        Ok(Ok(list)) => view! {
                            <p class="muted">{t!(i18n, audit_times_note)}</p>
                            <table id="audit-list" class="history">
                                <thead><tr>
                                    <th>"#"</th><th>{t!(i18n, col_when)}</th><th>{t!(i18n, col_who)}</th>
                                    <th>{t!(i18n, col_what)}</th><th>{t!(i18n, audit_entity)}</th>
                                    <th>{t!(i18n, audit_before)}</th><th>{t!(i18n, audit_after)}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| {
                                        let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
                                        view! { <tr>
                                            <td>{e.seq}</td><td>{taipei(&e.at)}</td><td>{e.actor.clone()}</td>
                                            <td>{e.kind.clone()}</td><td>{format!("{} {}", e.entity_type, e.entity_id)}</td>
                                            <td><pre>{json(&e.before)}</pre></td><td><pre>{json(&e.after)}</pre></td>
                                        </tr> }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Ok(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A list of tokens or kiosks with a revoke button each.
#[component]
fn SecretList(
    list: Vec<TokenInfo>,
    revoke: Callback<i64>,
    id_prefix: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="secrets" id=format!("{id_prefix}-list")>
            <thead><tr>
                <th>{t!(i18n, secret_label)}</th><th>{t!(i18n, secret_created)}</th>
                <th>{t!(i18n, secret_expires)}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let id = t.id;
                    view! { <tr>
                        <td>{t.label.clone()}</td><td>{t.created_at.clone()}</td>
                        <td>{t.expires_at.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{match t.revoked_at.clone() {
                            Some(at) => view! { <span class="muted">{t!(i18n, secret_revoked)}" "{at}</span> }.into_any(),
                            None => view! { <button type="button" class="revoke" on:click=move |_| revoke.run(id)>{t!(i18n, secret_revoke)}</button> }.into_any(),
                        }}</td>
                    </tr> }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let i18n = use_i18n();
    let label = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("90"));
    let create = Action::new(move |(l, d): &(String, Option<i64>)| {
        let (l, d) = (l.clone(), *d);
        async move { create_token(l, d).await }
    });
    let revoke = Action::new(move |id: &i64| {
        let id = *id;
        async move { revoke_token(id).await }
    });
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| my_tokens(),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch((
            label.get_untracked(),
            days.get_untracked().trim().parse().ok(),
        ));
    };
    view! {
        <section class="account">
            <h1>{t!(i18n, account_title)}</h1>
            <p class="muted">{t!(i18n, account_tokens_note)}</p>
            <form class="inline" id="token-form" on:submit=submit>
                <label>{t!(i18n, secret_label)}<input type="text" maxlength="100" prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev)) /></label>
                <label>{t!(i18n, secret_days)}<input type="number" min="1" max="365" prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev)) /></label>
                <button type="submit" id="create-token">{t!(i18n, secret_create)}</button>
            </form>
            <ShownOnce result=create.value() prefix="" />
            <Suspense>
                {move || Suspend::new(async move {
                    tokens.await.map(|list| view! {
                        <SecretList list revoke=Callback::new(move |id| { revoke.dispatch(id); }) id_prefix="token" />
                    })
                })}
            </Suspense>
        </section>
    }
}

/// A new secret, shown once, or why it was not made.
#[component]
fn ShownOnce(
    result: MappedSignal<Option<ServerResult<shared::auth::NewSecret>>>,
    prefix: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        result.with(|r| match r {
            Some(Ok(Ok(s))) => Some(
                view! {
                    <p class="secret" role="status">{t!(i18n, secret_shown_once)}" "
                        <code id="new-secret">{format!("{prefix}{}", s.secret)}</code></p>
                }
                .into_any(),
            ),
            Some(Ok(Err(e))) => Some(view! { <p class="error">{e.message.clone()}</p> }.into_any()),
            Some(Err(e)) => Some(view! { <p class="error">{e.to_string()}</p> }.into_any()),
            None => None,
        })
    }
}

#[component]
pub fn KiosksPage() -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("90"));
    let exercise = RwSignal::new(String::new());
    let create = Action::new(move |(n, d, e): &(String, i64, Option<i64>)| {
        let (n, d, e) = (n.clone(), *d, *e);
        async move { create_kiosk(n, d, e).await }
    });
    let revoke = Action::new(move |id: &i64| {
        let id = *id;
        async move { revoke_kiosk(id).await }
    });
    let kiosks = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_kiosks(),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = days.get_untracked().trim().parse().unwrap_or(0);
        let e = exercise.get_untracked().trim().parse().ok();
        create.dispatch((name.get_untracked(), d, e));
    };
    view! {
        <section class="kiosks">
            <h1>{t!(i18n, kiosks_title)}</h1>
            <p class="muted">{t!(i18n, kiosks_note)}</p>
            <form class="inline" id="kiosk-form" on:submit=submit>
                <label>{t!(i18n, kiosk_name)}<input type="text" maxlength="100" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                <label>{t!(i18n, secret_days)}<input type="number" min="1" max="365" prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev)) /></label>
                <label>{t!(i18n, kiosk_exercise)}<input type="number" min="1" name="exercise" prop:value=move || exercise.get() on:input=move |ev| exercise.set(event_target_value(&ev)) /></label>
                <button type="submit" id="create-kiosk">{t!(i18n, secret_create)}</button>
            </form>
            <ShownOnce result=create.value() prefix="/kiosk?token=" />
            <Suspense>
                {move || Suspend::new(async move {
                    kiosks.await.map(|list| view! {
                        <SecretList list revoke=Callback::new(move |id| { revoke.dispatch(id); }) id_prefix="kiosk" />
                    })
                })}
            </Suspense>
        </section>
    }
}
