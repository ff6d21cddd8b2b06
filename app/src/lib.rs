//! cablewatch's web UI: Leptos pages rendered on the server and hydrated in
//! the browser. Rendering only: data comes through the server functions in
//! [`api`], which call the server's registry through the [`backend::Backend`] port.

#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

mod access;
pub mod api;
mod assets;
#[cfg(feature = "ssr")]
pub mod backend;
mod faults;
mod form;
mod history;
mod hydration;
pub use form::FormEcho;
mod briefing;
mod exercise;
mod live;
mod maintenance;
mod map;
mod notice;
mod notify;
mod repairs;
mod resilience;
mod util;
mod watch;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;
use leptos_router::SsrMode;

use crate::access::IfCan;
use crate::i18n::*;
use shared::auth::Capability;

/// The Content-Security-Policy of a page: only this origin, and inline
/// scripts only with this render's nonce (Leptos's hydration loader).
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(resp)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(v) =
            axum::http::HeaderValue::from_str(&content_security_policy(&nonce.to_string()))
        {
            resp.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/pkg/favicon.svg" type="image/svg+xml" />
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
    let me = access::use_me();
    provide_context(me);
    live::provide_live();
    // On the server the title is read once now, while the page renders:
    // leptos_meta reads a title closure after the body has rendered, and by
    // then the request's locale signal could already be disposed (a panic
    // that closed about 1 connection in 170 under load; see the test
    // `pages_rendered_concurrently_all_complete`). In the browser it follows
    // the language switch.
    #[cfg(not(feature = "hydrate"))]
    let title = {
        let t = t_string!(i18n, app_name).to_string();
        move || t.clone()
    };
    #[cfg(feature = "hydrate")]
    let title = move || t_string!(i18n, app_name).to_string();
    view! {
        <Title text=title />
        <Router>
            <exercise::ExerciseBanner />
            <header class="top">
                <a class="brand" href="/">{t!(i18n, app_name)}</a>
                <nav>
                    <IfCan me cap=Capability::Read><A href="/">{t!(i18n, nav_faults)}</A></IfCan>
                    <IfCan me cap=Capability::WriteData>
                        <A href="/faults/new">{t!(i18n, nav_new_fault)}</A>
                        <A href="/import">{t!(i18n, nav_import)}</A>
                    </IfCan>
                    <IfCan me cap=Capability::Read><A href="/watch">{t!(i18n, nav_watch)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/map">{t!(i18n, nav_map)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/resilience">{t!(i18n, nav_resilience)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/repairs">{t!(i18n, nav_repairs)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/briefing">{t!(i18n, nav_briefing)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/assets">{t!(i18n, nav_assets)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/maintenance">{t!(i18n, nav_maintenance)}</A></IfCan>
                    <IfCan me cap=Capability::Read><A href="/exercises">{t!(i18n, nav_exercises)}</A></IfCan>
                    <IfCan me cap=Capability::ReadAudit><A href="/audit">{t!(i18n, nav_audit)}</A></IfCan>
                    <IfCan me cap=Capability::Subscribe><A href="/notifications">{t!(i18n, nav_notifications)}</A></IfCan>
                    <IfCan me cap=Capability::Account><A href="/account">{t!(i18n, nav_account)}</A></IfCan>
                    <IfCan me cap=Capability::ManageAccess><A href="/admin/kiosks">{t!(i18n, nav_kiosks)}</A></IfCan>
                </nav>
                <access::UserBox me />
                <button id="lang-switch" class="lang" on:click=switch>
                    {t!(i18n, switch_language)}
                </button>
                <span id="hydration" class="hydration" data-hydrated=move || hydrated.get().to_string()>
                    {move || if hydrated.get() { "●" } else { "○" }}
                </span>
            </header>
            <live::LiveBanner />
            <main>
                <Routes fallback=|| view! { <p class="error">"404"</p> }>
                    // Every page is rendered whole before sending: without JavaScript
                    // (or before the wasm loads) it is complete, forms included, with
                    // every field's value, and the header names who is signed in.
                    // (Streamed out of order, a resolved part would wait in a
                    // <template> for a script to move it into place.)
                    <Route path=path!("") view=faults::FaultListPage ssr=SsrMode::Async />
                    <Route path=path!("/faults/new") view=form::NewFaultPage ssr=SsrMode::Async />
                    <Route path=path!("/faults/:id") view=faults::FaultPage ssr=SsrMode::Async />
                    <Route path=path!("/import") view=notice::ImportPage ssr=SsrMode::Async />
                    <Route path=path!("/maintenance") view=maintenance::MaintenancePage ssr=SsrMode::Async />
                    <Route path=path!("/map") view=map::MapPage ssr=SsrMode::Async />
                    <Route path=path!("/assets") view=assets::AssetListPage ssr=SsrMode::Async />
                    <Route path=path!("/assets/new") view=assets::NewAssetPage ssr=SsrMode::Async />
                    <Route path=path!("/assets/import") view=assets::AssetImportPage ssr=SsrMode::Async />
                    <Route path=path!("/assets/:id") view=assets::AssetPage ssr=SsrMode::Async />
                    <Route path=path!("/watch") view=watch::WatchPage ssr=SsrMode::Async />
                    <Route path=path!("/resilience") view=resilience::ResiliencePage ssr=SsrMode::Async />
                    <Route path=path!("/repairs") view=repairs::RepairsPage ssr=SsrMode::Async />
                    <Route path=path!("/briefing") view=briefing::BriefingPage ssr=SsrMode::Async />
                    <Route path=path!("/signin") view=access::SignInPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=access::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=access::AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=notify::NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/kiosks") view=access::KiosksPage ssr=SsrMode::Async />
                    <Route path=path!("/exercises") view=exercise::ExercisesPage ssr=SsrMode::Async />
                    <Route path=path!("/exercises/:id") view=exercise::ExerciseReportPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <footer>
                <p>{t!(i18n, source_note)}" · "{t!(i18n, schematic_note)}</p>
            </footer>
        </Router>
    }
}
