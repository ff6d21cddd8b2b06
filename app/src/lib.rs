//! cablewatch's web UI: Leptos pages rendered on the server and hydrated in
//! the browser. Rendering only: data comes through the server functions in
//! [`api`], which call the server's registry through the [`backend::Backend`] port.

#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod faults;
mod form;
mod notice;
mod util;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

use crate::i18n::*;

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="zh-Hant-TW">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="data:," />
                <link rel="stylesheet" href="/pkg/cablewatch.css" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <I18nContextProvider>
            <Layout />
        </I18nContextProvider>
    }
}

#[component]
fn Layout() -> impl IntoView {
    let i18n = use_i18n();
    // Set only in the browser: tests and users can tell the page is interactive.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let switch = move |_| {
        let next = match i18n.get_locale() {
            Locale::zh_TW => Locale::en,
            Locale::en => Locale::zh_TW,
        };
        i18n.set_locale(next);
    };
    view! {
        <Title text=move || t_string!(i18n, app_name).to_string() />
        <Router>
            <header class="top">
                <a class="brand" href="/">{t!(i18n, app_name)}</a>
                <nav>
                    <A href="/">{t!(i18n, nav_faults)}</A>
                    <A href="/faults/new">{t!(i18n, nav_new_fault)}</A>
                    <A href="/import">{t!(i18n, nav_import)}</A>
                    <A href="/maintenance">{t!(i18n, nav_maintenance)}</A>
                </nav>
                <button id="lang-switch" class="lang" on:click=switch>
                    {t!(i18n, switch_language)}
                </button>
                <span id="hydration" class="hydration" data-hydrated=move || hydrated.get().to_string()>
                    {move || if hydrated.get() { "●" } else { "○" }}
                </span>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="error">"404"</p> }>
                    <Route path=path!("") view=faults::FaultListPage />
                    <Route path=path!("/faults/new") view=form::NewFaultPage />
                    <Route path=path!("/faults/:id") view=faults::FaultPage />
                    <Route path=path!("/import") view=notice::ImportPage />
                    <Route path=path!("/maintenance") view=notice::MaintenancePage />
                </Routes>
            </main>
            <footer>
                <p>{t!(i18n, source_note)}" · "{t!(i18n, schematic_note)}</p>
            </footer>
        </Router>
    }
}
