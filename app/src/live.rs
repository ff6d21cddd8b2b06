//! The live picture in the browser: one `EventSource` on `/api/v1/events`
//! per page, shared by every component through [`Live`].
//!
//! Pages re-read their data when an event of their kind arrives (the server
//! answers from the current state, so nothing is merged by hand). The
//! browser reconnects by itself with `Last-Event-ID`; the server replays what
//! was missed and then sends `ready`. A screen that hears nothing for
//! 30 s (heartbeats come every 10 s), or whose stream fails, shows
//! "connection lost — data as of HH:MM:SS" until the next `ready`.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use shared::event::LiveEvent;

use crate::i18n::*;

/// Counters pages read to refetch, and the connection state.
#[derive(Clone, Copy)]
pub struct Live {
    /// Bumped on every fault, notice or maintenance event.
    pub faults: RwSignal<u64>,
    /// Bumped on every asset event.
    pub assets: RwSignal<u64>,
    /// Bumped on every event (the watch board, the map).
    pub any: RwSignal<u64>,
    /// Whether the stream is connected and caught up.
    pub connected: RwSignal<bool>,
    /// Local time (HH:MM:SS) the data was last known current.
    pub as_of: RwSignal<String>,
    /// The stream has been caught up at least once.
    pub started: RwSignal<bool>,
}

impl Live {
    fn new() -> Self {
        Self {
            faults: RwSignal::new(0),
            assets: RwSignal::new(0),
            any: RwSignal::new(0),
            // Until the browser says otherwise: no banner on the server render.
            connected: RwSignal::new(true),
            as_of: RwSignal::new(String::new()),
            started: RwSignal::new(false),
        }
    }

    /// Applies one event from the stream.
    #[cfg(feature = "hydrate")]
    pub fn apply(&self, e: &LiveEvent) {
        match e.entity_type.as_str() {
            "fault" | "notice" | "maintenance" | "reference" => self.faults.update(|n| *n += 1),
            "asset" | "import" => self.assets.update(|n| *n += 1),
            _ => {}
        }
        self.any.update(|n| *n += 1);
    }
}

/// The page's live state (created by the layout).
pub fn use_live() -> Live {
    use_context::<Live>().unwrap_or_else(Live::new)
}

/// Creates the page's [`Live`] and, in the browser, opens the stream after
/// the event the page was rendered at (read with the page, so nothing that
/// happens between the render and the connection is missed). Nobody signed
/// in: no stream.
pub fn provide_live() -> Live {
    let live = Live::new();
    provide_context(live);
    let seq = Resource::new(|| (), |_| crate::api::live_seq());
    provide_context(LiveSeq(seq));
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        match seq.get() {
            Some(Ok(after)) => {
                browser::connect(live, after);
                true
            }
            _ => false,
        }
    });
    live
}

/// The log position the page was rendered at.
#[derive(Clone, Copy)]
struct LiveSeq(Resource<Result<i64, ServerFnError>>);

/// The "connection lost" banner.
#[component]
pub fn LiveBanner() -> impl IntoView {
    let i18n = use_i18n();
    let live = use_live();
    // For tests and monitoring: off (not connected yet), live, lost.
    let state = move || match (live.started.get(), live.connected.get()) {
        (false, _) => "off",
        (true, true) => "live",
        (true, false) => "lost",
    };
    let seq = use_context::<LiveSeq>().map(|s| s.0);
    view! {
        // Read under Suspense so the position travels with the page.
        <Suspense>
            {move || Suspend::new(async move {
                let at = match seq {
                    Some(s) => s.await.ok(),
                    None => None,
                };
                view! { <span id="live-state" hidden data-state=state data-seq=at></span> }
            })}
        </Suspense>
        <Show when=move || !live.connected.get()>
            <div id="live-lost" class="live-lost" role="alert">
                {t!(i18n, live_lost, time = move || live.as_of.get())}
            </div>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::Live;

    /// Silence after which the stream counts as lost (heartbeats come every 10 s).
    const SILENCE_MS: f64 = 30_000.0;
    use leptos::prelude::*;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    fn clock() -> String {
        let d = js_sys::Date::new_0();
        format!(
            "{:02}:{:02}:{:02}",
            d.get_hours(),
            d.get_minutes(),
            d.get_seconds()
        )
    }

    type Listener = Closure<dyn FnMut(web_sys::Event)>;

    struct State {
        source: RefCell<Option<EventSource>>,
        /// The newest seq received, for reopening after a hard failure.
        last_seq: Cell<Option<i64>>,
        heard: Cell<f64>,
        /// Listeners kept alive as long as the page.
        closures: RefCell<Vec<Listener>>,
    }

    pub fn connect(live: Live, after: i64) {
        let st = Rc::new(State {
            source: RefCell::new(None),
            last_seq: Cell::new(Some(after)),
            heard: Cell::new(now_ms()),
            closures: RefCell::new(Vec::new()),
        });
        live.as_of.set(clock());
        open(&st, live);
        // The watchdog: silence, or a stream the browser gave up on.
        let watchdog = {
            let st = st.clone();
            Closure::<dyn FnMut()>::new(move || {
                let closed = st
                    .source
                    .borrow()
                    .as_ref()
                    .is_none_or(|s| s.ready_state() == EventSource::CLOSED);
                if now_ms() - st.heard.get() > SILENCE_MS || closed {
                    live.connected.set(false);
                    if let Some(s) = st.source.borrow_mut().take() {
                        s.close();
                    }
                    // The closed source calls none of its listeners again.
                    st.closures.borrow_mut().clear();
                    st.heard.set(now_ms());
                    open(&st, live);
                }
            })
        };
        if let Some(w) = web_sys::window() {
            let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
                watchdog.as_ref().unchecked_ref(),
                5_000,
            );
        }
        watchdog.forget();
    }

    fn open(st: &Rc<State>, live: Live) {
        // A new EventSource sends no Last-Event-ID: the position goes in the
        // query; the browser's own reconnects send the header.
        let url = match st.last_seq.get() {
            Some(seq) => format!("/api/v1/events?after={seq}"),
            None => "/api/v1/events".to_string(),
        };
        let Ok(source) = EventSource::new(&url) else {
            live.connected.set(false);
            return;
        };
        let on_message = {
            let st = st.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                st.heard.set(now_ms());
                let Some(text) = e
                    .dyn_ref::<MessageEvent>()
                    .and_then(|m| m.data().as_string())
                else {
                    return;
                };
                if let Ok(ev) = serde_json::from_str::<shared::event::LiveEvent>(&text) {
                    st.last_seq.set(Some(ev.seq));
                    if live.connected.get_untracked() {
                        live.as_of.set(clock());
                    }
                    live.apply(&ev);
                }
            })
        };
        let on_ready = {
            let st = st.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                st.heard.set(now_ms());
                let was_lost = !live.connected.get_untracked();
                live.connected.set(true);
                live.started.set(true);
                live.as_of.set(clock());
                if was_lost {
                    // Whatever was replayed is applied; re-read once more in
                    // case the replay was cut short.
                    live.faults.update(|n| *n += 1);
                    live.assets.update(|n| *n += 1);
                    live.any.update(|n| *n += 1);
                }
            })
        };
        let on_heartbeat = {
            let st = st.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                st.heard.set(now_ms());
                if live.connected.get_untracked() {
                    live.as_of.set(clock());
                }
            })
        };
        // The server ended the stream: the reader is no longer signed in
        // (revoked, disabled, expired). Reloading asks the server again, which
        // sends the page to sign-in.
        let on_signed_out = {
            let st = st.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                if let Some(source) = st.source.borrow_mut().take() {
                    source.close();
                }
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            })
        };
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
            // The browser retries by itself; until `ready` the data may be old.
            live.connected.set(false);
        });
        let _ =
            source.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
        let _ = source
            .add_event_listener_with_callback("heartbeat", on_heartbeat.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        let _ = source
            .add_event_listener_with_callback("signed_out", on_signed_out.as_ref().unchecked_ref());
        st.closures.borrow_mut().extend([
            on_message,
            on_ready,
            on_heartbeat,
            on_error,
            on_signed_out,
        ]);
        *st.source.borrow_mut() = Some(source);
    }
}
