//! The notifications page: one's subscriptions to alerts, subscribing by
//! e-mail and ending a subscription (plain forms: the same without
//! JavaScript), and the newest messages with what each delivery attempt
//! met. Webhooks, whose signing secret is shown once, are made over the API.

use leptos::prelude::*;
use shared::api::ApiError;
use shared::notify::{Channel, Message, State, Subscription};

use crate::api::my_notifications;
use crate::form::EchoData;
use crate::i18n::*;
use crate::util::{field_error_text, taipei};

fn list_or_all<T>(
    i18n: leptos_i18n::I18nContext<Locale>,
    v: &[T],
    f: impl Fn(&T) -> String,
) -> String {
    if v.is_empty() {
        t_string!(i18n, notify_all).to_string()
    } else {
        v.iter().map(f).collect::<Vec<_>>().join(", ")
    }
}

fn channel_label(i18n: leptos_i18n::I18nContext<Locale>, c: Channel) -> &'static str {
    match c {
        Channel::Email => t_string!(i18n, notify_email),
        Channel::Webhook => t_string!(i18n, notify_webhook),
    }
}

fn state_label(i18n: leptos_i18n::I18nContext<Locale>, s: State) -> &'static str {
    match s {
        State::Pending => t_string!(i18n, notify_pending),
        State::Sent => t_string!(i18n, notify_sent),
        State::Failed => t_string!(i18n, notify_failed),
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| my_notifications());
    let echo = crate::form::page_echo();
    view! {
        <section class="notifications">
            <h1>{t!(i18n, notify_title)}</h1>
            <p class="note">{t!(i18n, notify_intro)}</p>
            <EchoData echo=echo />
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(p) => view! {
                            <Subscriptions list=p.subscriptions />
                            <h2>{t!(i18n, notify_messages)}</h2>
                            <Messages list=p.messages />
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <h2>{t!(i18n, notify_new)}</h2>
            <SubscribeForm />
        </section>
    }
}

#[component]
fn Subscriptions(list: Vec<Subscription>) -> impl IntoView {
    let i18n = use_i18n();
    if list.is_empty() {
        return view! { <p id="no-subscriptions">{t!(i18n, notify_none)}</p> }.into_any();
    }
    view! {
        <table id="subscription-list">
            <thead><tr>
                <th>{t!(i18n, notify_channel)}</th><th>{t!(i18n, notify_target)}</th>
                <th>{t!(i18n, notify_islands)}</th><th>{t!(i18n, notify_cables)}</th>
                <th>{t!(i18n, notify_kinds)}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|s| view! {
                    <tr data-subscription=s.id>
                        <td>{channel_label(i18n, s.channel)}</td>
                        <td>{s.target.clone()}</td>
                        <td>{list_or_all(i18n, &s.islands, |r| r.name_en().to_string())}</td>
                        <td>{list_or_all(i18n, &s.cables, Clone::clone)}</td>
                        <td>{list_or_all(i18n, &s.kinds, |k| k.as_str().to_string())}</td>
                        <td>
                            <form method="post" action=format!("/notifications/{}/remove", s.id) class="inline">
                                <button type="submit" class="revoke">{t!(i18n, notify_remove)}</button>
                            </form>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Messages(list: Vec<Message>) -> impl IntoView {
    let i18n = use_i18n();
    if list.is_empty() {
        return view! { <p id="no-messages">{t!(i18n, notify_no_messages)}</p> }.into_any();
    }
    view! {
        <table id="message-list">
            <thead><tr>
                <th>{t!(i18n, notify_when)}</th><th>{t!(i18n, notify_channel)}</th>
                <th>{t!(i18n, notify_target)}</th><th>{t!(i18n, notify_what)}</th>
                <th>{t!(i18n, notify_state)}</th><th>{t!(i18n, notify_attempts)}</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|m| {
                    let last = m.log.last().map(|a| format!("{} {}", taipei(&a.at), a.detail));
                    view! {
                        <tr data-message=m.message_id.clone() data-state=m.state.as_str()>
                            <td>{taipei(&m.created_at)}</td>
                            <td>{channel_label(i18n, m.channel)}</td>
                            <td>{m.target.clone()}</td>
                            <td>{m.item.title()}</td>
                            <td>{state_label(i18n, m.state)}</td>
                            <td>{m.attempts}{last.map(|l| view! { <br/><span class="muted">{l}</span> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The plain form that subscribes by e-mail; refused, it comes back with
/// what was typed and every error beside its field.
#[component]
fn SubscribeForm() -> impl IntoView {
    let i18n = use_i18n();
    let echo = crate::form::form_echo("subscription", None);
    let typed = |k: &str| {
        echo.as_ref()
            .and_then(|e| e.values.get(k).and_then(|v| v.as_str()).map(str::to_string))
            .unwrap_or_default()
    };
    let (target, islands, cables, kinds) = (
        typed("target"),
        typed("islands"),
        typed("cables"),
        typed("kinds"),
    );
    let error: Option<ApiError> = echo.as_ref().map(|e| e.error.clone());
    let err_for = |field: &str| {
        error.as_ref().map(|e| {
            e.fields
                .iter()
                .filter(|f| f.field == field)
                .map(|f| field_error_text(i18n, &f.code, &f.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
    };
    let status = error.as_ref().map(|e| e.message.clone());
    view! {
        <form class="subscription-form" id="subscription-form" method="post" action="/notifications" novalidate>
            <label>{t!(i18n, notify_target)}
                <input type="email" name="target" value=target maxlength="254" autocomplete="email" />
                <span class="field-error" data-field="target">{err_for("target")}</span>
            </label>
            <label>{t!(i18n, notify_islands)}
                <input type="text" name="islands" value=islands placeholder="matsu, kinmen" />
                <span class="hint">{t!(i18n, notify_islands_hint)}</span>
                <span class="field-error" data-field="islands">{err_for("islands")}</span>
            </label>
            <label>{t!(i18n, notify_cables)}
                <input type="text" name="cables" value=cables placeholder="TDM2, TDM3" />
                <span class="field-error" data-field="cables">{err_for("cables")}</span>
            </label>
            <label>{t!(i18n, notify_kinds)}
                <input type="text" name="kinds" value=kinds placeholder="cable_cut, island_short" />
                <span class="hint">{t!(i18n, notify_kinds_hint)}</span>
                <span class="field-error" data-field="kinds">{err_for("kinds")}</span>
            </label>
            <div class="actions">
                <button type="submit" id="subscribe">{t!(i18n, notify_subscribe)}</button>
                <span id="subscription-status" role="status">
                    {status.map(|m| view! { <strong class="error">{m}</strong> })}
                </span>
            </div>
        </form>
    }
}
