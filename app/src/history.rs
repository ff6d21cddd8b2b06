//! Historical views (`?as_of=`): the banner that says a page shows the past,
//! and the picker that chooses the moment (a plain GET form: it works
//! without JavaScript).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::*;

/// The page's `?as_of=`, if any (empty is none).
pub fn use_as_of() -> Memo<Option<String>> {
    let q = use_query_map();
    Memo::new(move |_| q.read().get("as_of").filter(|s| !s.trim().is_empty()))
}

/// "Historical view, as of …": shown above a page rebuilt from the log,
/// with the way back to the present (`back`: the page without `?as_of=`).
#[component]
pub fn HistoryBanner(as_of: String, #[prop(into)] back: String) -> impl IntoView {
    let i18n = use_i18n();
    // Shown as Taipei time to the minute, however the address wrote it.
    let at = shared::history::parse_as_of(&as_of)
        .map(|t| shared::history::taipei_minute(&t))
        .unwrap_or_else(|_| as_of.replacen('T', " ", 1));
    view! {
        <p class="history-banner" role="status" id="history-banner">
            {t!(i18n, hist_banner, at = move || at.clone())}" "
            <a href=back>{t!(i18n, hist_back)}</a>
        </p>
    }
}

/// Chooses the moment to show: a `datetime-local` input (Taipei time) that
/// reloads the page at `action` with `?as_of=`.
#[component]
pub fn AsOfPicker(
    action: &'static str,
    #[prop(into)] value: Signal<Option<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form method="get" action=action class="as-of-picker">
            <label>{t!(i18n, hist_pick)}" "
                <input type="datetime-local" name="as_of" value=move || value.get().unwrap_or_default() />
            </label>" "
            <button type="submit">{t!(i18n, hist_show)}</button>
        </form>
    }
}
