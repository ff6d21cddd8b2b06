//! Importing the ministry's notice: paste → preview → confirm.

use leptos::prelude::*;
use shared::api::{ApiError, NoticeReport};
use shared::import::ChangeKind;

use crate::api::{import_notice, preview_notice};
use crate::i18n::*;

#[component]
pub fn ImportPage() -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(String::new());
    let preview = Action::new(move |t: &String| {
        let t = t.clone();
        async move { preview_notice(t).await }
    });
    let import = Action::new(move |t: &String| {
        let t = t.clone();
        async move { import_notice(t).await }
    });
    let can_confirm =
        move || matches!(preview.value().get(), Some(Ok(Ok(ref r))) if !r.plan.changes.is_empty());
    view! {
        <section class="import">
            <h1>{t!(i18n, import_title)}</h1>
            <label for="notice-text" class="block">{t!(i18n, import_help)}</label>
            <textarea id="notice-text" rows="14" prop:value=move || text.get()
                on:input=move |ev| { text.set(event_target_value(&ev)); import.value().set(None); }></textarea>
            <div class="actions">
                <button id="preview-notice" on:click=move |_| { import.value().set(None); preview.dispatch(text.get_untracked()); }>
                    {t!(i18n, preview)}
                </button>
                <button id="confirm-import" disabled=move || !can_confirm() || import.pending().get()
                    on:click=move |_| { import.dispatch(text.get_untracked()); }>
                    {t!(i18n, confirm_import)}
                </button>
            </div>
            <div id="import-result">
                {move || import.value().get().map(|r| match r {
                    Ok(Ok(rep)) => {
                        let n = rep.events_written;
                        view! { <p class="done" id="import-done">{t!(i18n, import_done, count = move || n)}</p> }.into_any()
                    }
                    Ok(Err(e)) => error_view(i18n, e).into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </div>
            <div id="import-preview">
                {move || preview.value().get().map(|r| match r {
                    Ok(Ok(rep)) => report_view(i18n, rep).into_any(),
                    Ok(Err(e)) => error_view(i18n, e).into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </div>
        </section>
    }
}

fn error_view(i18n: leptos_i18n::I18nContext<Locale>, e: ApiError) -> impl IntoView {
    view! {
        <div class="error" id="import-errors">
            <p>{if e.lines.is_empty() { e.message.clone() } else { t_string!(i18n, import_errors).to_string() }}</p>
            <ul>
                {e.lines.into_iter().map(|l| {
                    let line = l.line;
                    view! { <li data-line=line>{t!(i18n, line, line = move || line)}": "{l.message}</li> }
                }).collect_view()}
            </ul>
        </div>
    }
}

fn report_view(i18n: leptos_i18n::I18nContext<Locale>, rep: NoticeReport) -> impl IntoView {
    let unchanged = rep.plan.unchanged;
    view! {
        <table class="preview">
            <tbody>
                {rep.plan.changes.into_iter().map(|c| {
                    let label = match c.kind {
                        ChangeKind::New => t_string!(i18n, import_new),
                        ChangeKind::Updated => t_string!(i18n, import_updated),
                        ChangeKind::Restored => t_string!(i18n, import_restored),
                    };
                    let line = c.line;
                    let what = format!(
                        "{} {} {}",
                        c.after.cable,
                        c.after.detected_on.map(|d| d.to_string()).unwrap_or_default(),
                        if c.after.description.is_empty() { format!("{} {} km", c.after.chainage.place, c.after.chainage.km_text()) } else { c.after.description.clone() },
                    );
                    let fields = c.fields.join(", ");
                    view! {
                        <tr class=format!("change change-{label}") data-kind=format!("{:?}", c.kind).to_lowercase()>
                            <td>{t!(i18n, line, line = move || line)}</td>
                            <td><strong>{label}</strong></td>
                            <td>{what}</td>
                            <td>{fields}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p id="preview-unchanged">{t!(i18n, import_unchanged, count = move || unchanged)}</p>
        {(!rep.warnings.is_empty()).then(|| view! {
            <h3>{t!(i18n, warnings)}</h3>
            <ul class="warnings">
                {rep.warnings.into_iter().map(|w| {
                    let line = w.line;
                    view! { <li>{t!(i18n, line, line = move || line)}": "{w.message}</li> }
                }).collect_view()}
            </ul>
        })}
    }
}
