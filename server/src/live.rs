//! The live tail of the event log, served as server-sent events.
//!
//! One **pump** task per server reads the log in `seq` order and publishes
//! each event to an in-memory ring (the newest [`RING`] events) and a
//! broadcast channel. It wakes when this server commits a write, when
//! PostgreSQL notifies that another server did (`LISTEN cablewatch_events`,
//! the payload is only the `seq`), and every [`CATCH_UP`] regardless, so a
//! lost notification or a write by another process (the CLI on SQLite) is
//! picked up by the next tick. The pump always reads the table, never trusts
//! a payload, so every server publishes exactly the log.
//!
//! A subscriber first subscribes to the broadcast, then replays what it
//! missed (`Last-Event-ID`) from the ring when the ring still covers it, else
//! from the database; once the pump has read the log after the client
//! connected (so everything committed before is replayed), it sends `ready`
//! and follows the broadcast. If it
//! falls behind the broadcast (lagged), it goes back to replaying. Ids are
//! `seq`s, strictly increasing, so a reconnecting client never sees a gap or a
//! duplicate. Writes are serialised (one writer per process, and on
//! PostgreSQL an advisory transaction lock), so `seq` order is commit order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use shared::api::ApiError;
use shared::event::LiveEvent;
use tokio::sync::{broadcast, watch, Notify};

use shared::auth::ACCESS_ENTITIES;

use crate::log::Log;

/// Events kept in memory for reconnecting and lagging clients: at most this
/// many ...
pub const RING: usize = 65_536;
/// ... and at most this many bytes of their messages (a live message is
/// ~150 bytes, so about 100,000 of them). One ring per server, shared by
/// every stream: a stream that falls behind a burst (a 20,000-row import)
/// catches up from here, a page at a time, instead of from the database.
pub const RING_BYTES: usize = 16 << 20;
/// How often the pump reads the log even without a notification.
pub const CATCH_UP: Duration = Duration::from_secs(1);
/// How often every stream gets a `heartbeat` event (a screen shows "connection
/// lost" when it hears nothing for 30 s).
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// Events read from the database per query when replaying.
const PAGE: i64 = 512;
/// The PostgreSQL channel the `events` insert trigger notifies.
pub const CHANNEL: &str = "cablewatch_events";

/// One event as sent: its `seq` and its whole SSE message (`id: SEQ`, then
/// the JSON of [`LiveEvent`] as `data:`), encoded once and shared by every
/// stream, so sending it to a client is a reference-count increment.
#[derive(Debug)]
pub struct Item {
    pub seq: i64,
    pub access: bool,
    /// The event may end someone's access (a revocation, a disabled user, a
    /// changed role or password, a sign-out): open streams check their reader again.
    pub revokes: bool,
    pub frame: Bytes,
}

impl Item {
    fn new(e: &LiveEvent) -> Result<Self, ApiError> {
        let json = serde_json::to_string(e).map_err(|err| {
            tracing::error!(error = %err, "encoding an event");
            ApiError::internal()
        })?;
        Ok(Self {
            seq: e.seq,
            access: ACCESS_ENTITIES.contains(&e.entity_type.as_str()),
            revokes: shared::auth::REVOKING_KINDS.contains(&e.kind.as_str()),
            frame: frame(None, Some(e.seq), None, &json),
        })
    }
}

/// The last message of a stream whose reader is no longer signed in.
pub fn signed_out_frame() -> Bytes {
    frame(Some("signed_out"), None, None, "")
}

/// One SSE message: optional `event:`, `id:` and `retry:` fields, then the
/// data, one `data:` line per line of it, then the blank line that ends it.
fn frame(event: Option<&str>, id: Option<i64>, retry: Option<Duration>, data: &str) -> Bytes {
    use std::fmt::Write;
    let mut out = String::with_capacity(data.len() + 48);
    // Writing to a String cannot fail.
    if let Some(event) = event {
        let _ = writeln!(out, "event: {event}");
    }
    if let Some(id) = id {
        let _ = writeln!(out, "id: {id}");
    }
    if let Some(retry) = retry {
        let _ = writeln!(out, "retry: {}", retry.as_millis());
    }
    for line in data.split('\n') {
        let _ = writeln!(out, "data: {line}");
    }
    out.push('\n');
    Bytes::from(out)
}

#[derive(Debug, Clone)]
enum Msg {
    Event(Arc<Item>),
    Heartbeat,
}

struct Ring {
    items: VecDeque<Arc<Item>>,
    /// The bytes of the messages in `items`.
    bytes: usize,
    /// Every event with `seq > floor` that the pump has published is in `items`.
    floor: i64,
}

impl Ring {
    /// Appends `item`, dropping the oldest while more than `count` events or
    /// more than `bytes` bytes are kept (the newest is always kept).
    fn push(&mut self, item: Arc<Item>, count: usize, bytes: usize) {
        self.bytes += item.frame.len();
        self.items.push_back(item);
        while self.items.len() > count || (self.bytes > bytes && self.items.len() > 1) {
            if let Some(old) = self.items.pop_front() {
                self.bytes -= old.frame.len();
                self.floor = old.seq;
            }
        }
    }
}

struct Inner {
    ring: RwLock<Ring>,
    tx: broadcast::Sender<Msg>,
    /// The log's commit signal: a local commit, a NOTIFY from another
    /// server, or a stream that needs the pump to run.
    poke: Arc<Notify>,
    /// The newest `seq` published.
    head: AtomicI64,
    /// The pump runs (`start` was called).
    pumping: AtomicBool,
    /// Pump cycles (reads of the log) started, and finished.
    cycles_started: AtomicU64,
    cycles_finished: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    /// Counts published events that may end someone's access.
    revocations: watch::Sender<u64>,
}

/// The live hub of one server. Cheap to clone.
#[derive(Clone)]
pub struct Live(Arc<Inner>);

impl Live {
    /// The live hub of `log`: its pump wakes on the log's commits.
    pub fn new(log: &Log) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let (shutdown, _) = watch::channel(false);
        Self(Arc::new(Inner {
            ring: RwLock::new(Ring {
                items: VecDeque::new(),
                bytes: 0,
                floor: i64::MAX,
            }),
            tx,
            poke: log.committed(),
            head: AtomicI64::new(0),
            pumping: AtomicBool::new(false),
            cycles_started: AtomicU64::new(0),
            cycles_finished: watch::channel(0).0,
            shutdown,
            revocations: watch::channel(0).0,
        }))
    }
}

impl Live {
    /// Wakes the pump: a write was committed.
    pub fn poke(&self) {
        self.0.poke.notify_one();
    }

    /// Changes whenever an event that may end someone's access is published.
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.0.revocations.subscribe()
    }

    /// The newest `seq` this server has published.
    pub fn head(&self) -> i64 {
        self.0.head.load(Ordering::Acquire)
    }

    /// Whether the pump runs (`start` was called).
    pub fn pumping(&self) -> bool {
        self.0.pumping.load(Ordering::Acquire)
    }

    /// How many event streams are open on this server.
    pub fn streams(&self) -> usize {
        self.0.tx.receiver_count()
    }

    /// Ends every stream (graceful shutdown would otherwise wait for them).
    pub fn shut_down(&self) {
        let _ = self.0.shutdown.send(true);
    }

    /// Starts the pump (and, on PostgreSQL, the listener). Publishing starts
    /// after the newest event in the log at this moment.
    pub async fn start(&self, log: Log, pg_url: Option<String>) -> Result<(), ApiError> {
        let head = log.last_seq().await?;
        self.0.head.store(head, Ordering::Release);
        if let Ok(mut r) = self.0.ring.write() {
            r.floor = head;
        }
        if let Some(url) = pg_url {
            let live = self.clone();
            tokio::spawn(async move { live.listen(url).await });
        }
        let live = self.clone();
        self.0.pumping.store(true, Ordering::Release);
        tokio::spawn(async move { live.pump(log).await });
        let live = self.clone();
        tokio::spawn(async move {
            let mut shutdown = live.0.shutdown.subscribe();
            let mut tick = tokio::time::interval(HEARTBEAT);
            loop {
                tokio::select! {
                    _ = tick.tick() => { let _ = live.0.tx.send(Msg::Heartbeat); }
                    _ = shutdown.changed() => break,
                }
            }
        });
        Ok(())
    }

    async fn pump(&self, log: Log) {
        let mut shutdown = self.0.shutdown.subscribe();
        loop {
            let n = self.0.cycles_started.fetch_add(1, Ordering::AcqRel) + 1;
            if let Err(e) = self.publish_new(&log).await {
                tracing::warn!(error = %e.message, "reading the event log for the live stream; retrying");
            }
            self.0.cycles_finished.send_replace(n);
            tokio::select! {
                _ = self.0.poke.notified() => {}
                _ = tokio::time::sleep(CATCH_UP) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Publishes every event after `head`, in order.
    async fn publish_new(&self, log: &Log) -> Result<(), ApiError> {
        loop {
            let head = self.head();
            let events = log.live_events_after(head, PAGE).await?;
            let n = events.len();
            for e in events {
                let item = Arc::new(Item::new(&e)?);
                if let Ok(mut r) = self.0.ring.write() {
                    r.push(item.clone(), RING, RING_BYTES);
                }
                self.0.head.store(item.seq, Ordering::Release);
                if item.revokes {
                    self.0.revocations.send_modify(|n| *n += 1);
                }
                // No receivers is not an error.
                let _ = self.0.tx.send(Msg::Event(item));
            }
            if (n as i64) < PAGE {
                return Ok(());
            }
        }
    }

    async fn listen(&self, url: String) {
        use sqlx::postgres::PgListener;
        let mut shutdown = self.0.shutdown.subscribe();
        loop {
            let mut listener = match PgListener::connect(&url).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection failed; the pump catches up every second meanwhile");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %e, "LISTEN failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            loop {
                tokio::select! {
                    n = listener.recv() => match n {
                        Ok(_) => self.poke(),
                        Err(e) => {
                            tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                            break;
                        }
                    },
                    _ = shutdown.changed() => return,
                }
            }
            // Whatever was notified while reconnecting is read by the pump.
            self.poke();
        }
    }

    /// Returns once the pump has read the log at least once after this call
    /// began, so everything committed before it is published (or the server
    /// is shutting down).
    async fn sync(&self) {
        if !self.0.pumping.load(Ordering::Acquire) {
            return;
        }
        let mut finished = self.0.cycles_finished.subscribe();
        let mut shutdown = self.0.shutdown.subscribe();
        let before = self.0.cycles_started.load(Ordering::Acquire);
        self.poke();
        tokio::select! {
            _ = finished.wait_for(|f| *f > before) => {}
            _ = shutdown.changed() => {}
        }
    }

    /// What a subscriber that has seen `after` missed, up to the newest
    /// published event: from the ring if it still covers `after`, else one
    /// page from the database.
    async fn replay(&self, log: &Log, after: i64) -> Result<Vec<Arc<Item>>, ApiError> {
        if let Ok(r) = self.0.ring.read() {
            if after >= r.floor {
                let start = r.items.partition_point(|i| i.seq <= after);
                // A page at a time: a stream holds at most PAGE references.
                return Ok(r
                    .items
                    .range(start..)
                    .take(PAGE as usize)
                    .cloned()
                    .collect());
            }
        }
        log.live_events_after(after, PAGE)
            .await?
            .iter()
            .map(|e| Item::new(e).map(Arc::new))
            .collect()
    }

    /// The stream a client receives: the events after `after` (`None`: only
    /// new ones), then `ready`, then live events and heartbeats.
    pub fn stream(
        &self,
        log: Log,
        after: Option<i64>,
        audit: bool,
    ) -> impl futures_util::Stream<Item = Out> + Send + 'static {
        use futures_util::StreamExt;
        let sub = Sub {
            rx: self.0.tx.subscribe(),
            last: after.unwrap_or_else(|| self.head()),
            pending: VecDeque::new(),
            caught_up: false,
            synced: false,
            audit,
            live: self.clone(),
            log,
        };
        // Shutdown ends the stream from outside: one waiter per stream, not
        // one per message.
        let mut shutdown = self.0.shutdown.subscribe();
        let stop = async move {
            let _ = shutdown.wait_for(|down| *down).await;
        };
        futures_util::stream::unfold(sub, |mut s| async move {
            let out = s.next().await?;
            Some((out, s))
        })
        .take_until(stop)
    }
}

struct Sub {
    live: Live,
    log: Log,
    rx: broadcast::Receiver<Msg>,
    /// The newest `seq` this client has (been sent or skipped).
    last: i64,
    pending: VecDeque<Arc<Item>>,
    caught_up: bool,
    /// The pump has read the log since this client connected: what was
    /// committed before it connected is in the ring.
    synced: bool,
    audit: bool,
}

/// What a stream yields.
#[derive(Debug, Clone)]
pub enum Out {
    /// An event of the log, sent with its `seq` as the SSE id.
    Event(Arc<Item>),
    /// Caught up: everything up to this `seq` was sent.
    Ready(i64),
    Heartbeat(i64),
}

impl Out {
    /// The message on the wire. `ready` also tells the browser to retry
    /// after 2 s when the connection drops.
    pub fn frame(&self) -> Bytes {
        match self {
            Out::Event(item) => item.frame.clone(),
            Out::Ready(seq) => frame(
                Some("ready"),
                None,
                Some(Duration::from_secs(2)),
                &seq.to_string(),
            ),
            Out::Heartbeat(seq) => frame(Some("heartbeat"), None, None, &seq.to_string()),
        }
    }
}

impl Sub {
    /// Takes `item` if it is new to this client; `Some` if it may see it.
    fn take(&mut self, item: &Arc<Item>) -> Option<Out> {
        if item.seq <= self.last {
            return None;
        }
        self.last = item.seq;
        (self.audit || !item.access).then(|| Out::Event(item.clone()))
    }

    async fn next(&mut self) -> Option<Out> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                if let Some(ev) = self.take(&item) {
                    return Some(ev);
                }
                continue;
            }
            if !self.caught_up {
                match self.live.replay(&self.log, self.last).await {
                    Ok(items) if items.is_empty() && !self.synced => {
                        // The pump may not have published the newest commits
                        // yet: they belong to the replay, before `ready`.
                        self.live.sync().await;
                        self.synced = true;
                        continue;
                    }
                    Ok(items) if items.is_empty() => {
                        self.caught_up = true;
                        return Some(Out::Ready(self.last));
                    }
                    Ok(items) => {
                        self.pending = items.into();
                        continue;
                    }
                    Err(e) => {
                        // The client reconnects with its Last-Event-ID.
                        tracing::warn!(error = %e.message, "replaying events to a client failed; closing its stream");
                        return None;
                    }
                }
            }
            match self.rx.recv().await {
                Ok(Msg::Event(item)) => {
                    if let Some(ev) = self.take(&item) {
                        return Some(ev);
                    }
                }
                Ok(Msg::Heartbeat) => {
                    return Some(Out::Heartbeat(self.last));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.caught_up = false,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: i64, size: usize) -> Arc<Item> {
        Arc::new(Item {
            seq,
            access: false,
            revokes: false,
            frame: Bytes::from(vec![b'x'; size]),
        })
    }

    /// Issue 11.3: the ring is bounded by bytes as well as by count, and its
    /// floor says exactly which events it still holds.
    #[test]
    fn the_ring_is_bounded_by_count_and_by_bytes() {
        let mut r = Ring {
            items: VecDeque::new(),
            bytes: 0,
            floor: 0,
        };
        for seq in 1..=10 {
            r.push(item(seq, 100), 4, 10_000);
        }
        assert_eq!(r.items.len(), 4);
        assert_eq!((r.floor, r.bytes), (6, 400));
        for seq in 11..=20 {
            r.push(item(seq, 3_000), 4, 10_000);
        }
        assert_eq!(r.items.len(), 3, "3 × 3,000 bytes fit in 10,000");
        assert_eq!((r.floor, r.bytes), (17, 9_000));
        r.push(item(21, 50_000), 4, 10_000);
        assert_eq!(
            r.items.len(),
            1,
            "the newest is kept even when alone too big"
        );
        assert_eq!((r.floor, r.bytes), (20, 50_000));
        assert!(r.items.iter().all(|i| i.seq > r.floor));
    }

    #[test]
    fn messages_follow_the_sse_format() {
        assert_eq!(
            &frame(None, Some(7), None, "{\"a\":1}")[..],
            b"id: 7\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(
            &Out::Ready(12).frame()[..],
            b"event: ready\nretry: 2000\ndata: 12\n\n"
        );
        assert_eq!(
            &Out::Heartbeat(3).frame()[..],
            b"event: heartbeat\ndata: 3\n\n"
        );
        // A line break in the data would end the field: each line gets its own.
        assert_eq!(
            &frame(None, None, None, "a\nb")[..],
            b"data: a\ndata: b\n\n"
        );
    }
}
