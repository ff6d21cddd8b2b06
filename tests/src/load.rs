//! The live-stream load run: N server-sent-event clients on one server, a
//! writer posting at a steady rate, and the delivery latency from the start
//! of each POST to each client's receipt of its event. Used by the load tool
//! (`cargo xtask loadtest`) and by the short CI run in `tests/tests/live.rs`.
//!
//! Events are matched by the `entity_id` in their data (the fault id the POST
//! answered with), so nothing depends on `seq` arithmetic. A client that has
//! not received every posted event when the run ends counts them as lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Where the clients connect and what the writer posts.
#[derive(Debug, Clone)]
pub struct Target {
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// The stream's path (`/api/v1/events`).
    pub stream_path: String,
    /// The write's path (`/api/v1/faults`).
    pub post_path: String,
    /// Bearer token for both (none for the bare baseline).
    pub token: Option<String>,
    /// PID of the server, to read its memory.
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub clients: usize,
    pub events: usize,
    /// Posts per second.
    pub rate: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub clients: usize,
    pub events: usize,
    /// Every (client, event) delivery latency, ms, sorted.
    pub all_ms: Vec<f64>,
    /// Per event, the slowest client's latency, ms, sorted.
    pub slowest_ms: Vec<f64>,
    /// Per client, its p99, ms, sorted.
    pub client_p99_ms: Vec<f64>,
    /// POST round trips, ms, sorted.
    pub post_ms: Vec<f64>,
    pub lost: usize,
    /// For each posted event (in order), how many clients missed it.
    pub lost_by_event: Vec<usize>,
    /// Clients whose stream ended before the run did.
    pub dropped: usize,
    /// Server resident memory added per open stream, bytes.
    pub rss_per_conn: Option<f64>,
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Resident memory of a process, bytes (Linux).
pub fn rss(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// What marks an event as one of the run's writes.
const POSTED_KIND: &[u8] = b"\"kind\":\"fault.reported\"";
/// What marks an event as one row of an import burst.
const IMPORTED_KIND: &[u8] = b"\"kind\":\"asset.created\"";

/// Pulls `"entity_id":"N"` out of an event's JSON without parsing all of it.
fn entity_id(data: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"entity_id\":\"";
    let at = find(data, KEY)? + KEY.len();
    let rest = &data[at..];
    std::str::from_utf8(&rest[..rest.iter().position(|&b| b == b'"')?])
        .ok()?
        .parse()
        .ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// One SSE message's `event:` (default `message`) and `data:` fields.
fn fields(msg: &[u8]) -> (&[u8], &[u8]) {
    let mut event: &[u8] = b"message";
    let mut data: &[u8] = b"";
    for line in msg.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"event:") {
            event = v.trim_ascii();
        } else if let Some(v) = line.strip_prefix(b"data:") {
            data = v.trim_ascii();
        }
    }
    (event, data)
}

struct ClientResult {
    /// (entity id, when it arrived)
    got: Vec<(u64, Instant)>,
    dropped: bool,
}

async fn connect(addr: &str) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await.context("connecting")?;
    stream.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// HTTP/1.1 chunked transfer coding, decoded in place as bytes arrive.
#[derive(Debug, Default)]
struct Chunked {
    /// Bytes of the current chunk's data still to come.
    left: usize,
    /// The CRLF after a chunk's data is still to be skipped.
    crlf: bool,
}

impl Chunked {
    /// Moves the data of every whole piece of `raw` to `out`, leaving in
    /// `raw` what cannot be decoded yet. `Ok(true)`: the last chunk came.
    fn decode(&mut self, raw: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<bool> {
        let mut at = 0;
        let done = loop {
            if self.left > 0 {
                let n = self.left.min(raw.len() - at);
                out.extend_from_slice(&raw[at..at + n]);
                at += n;
                self.left -= n;
                if self.left > 0 {
                    break false;
                }
                self.crlf = true;
            }
            if self.crlf {
                if raw.len() - at < 2 {
                    break false;
                }
                at += 2;
                self.crlf = false;
            }
            let Some(eol) = find(&raw[at..], b"\r\n") else {
                break false;
            };
            let line = std::str::from_utf8(&raw[at..at + eol])?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .with_context(|| format!("a chunk size, got {line:?}"))?;
            at += eol + 2;
            if size == 0 {
                break true;
            }
            self.left = size;
        };
        raw.drain(..at);
        Ok(done)
    }
}

/// One SSE client: connects, reports when the server says `ready`, records
/// every event until `stop`. It speaks HTTP/1.1 on the socket itself (one
/// task, one read per arrival, no copies beyond the decode buffer): on one
/// machine it shares the CPU with the server it measures, so its own work
/// per message is kept small, and the same for the baseline and cablewatch.
async fn client(
    target: Arc<Target>,
    ready: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
    stop: watch::Receiver<bool>,
) -> Result<ClientResult> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(&target.addr)
        .await
        .context("connecting")?;
    stream.set_nodelay(true)?;
    let auth = target
        .token
        .as_ref()
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "GET {} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n{auth}\r\n",
        target.stream_path, target.addr
    );
    stream.write_all(head.as_bytes()).await?;
    let mut stop = stop;
    let stopped = stop.wait_for(|s| *s);
    tokio::pin!(stopped);
    let mut raw: Vec<u8> = Vec::with_capacity(4096);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut got = Vec::new();
    let mut is_ready = false;
    let mut headers_done = false;
    let mut chunked = Chunked::default();
    loop {
        let n = tokio::select! {
            biased;
            n = stream.read_buf(&mut raw) => n?,
            _ = &mut stopped => return Ok(ClientResult { got, dropped: false }),
        };
        if n == 0 {
            return Ok(ClientResult { got, dropped: true });
        }
        let now = Instant::now();
        if !headers_done {
            let Some(end) = find(&raw, b"\r\n\r\n") else {
                continue;
            };
            let head = std::str::from_utf8(&raw[..end])?.to_ascii_lowercase();
            ensure!(
                head.starts_with("http/1.1 200"),
                "stream answered {}",
                head.lines().next().unwrap_or_default()
            );
            ensure!(
                head.contains("transfer-encoding: chunked"),
                "the stream is not chunked: {head}"
            );
            raw.drain(..end + 4);
            headers_done = true;
        }
        let last = chunked.decode(&mut raw, &mut buf)?;
        let mut start = 0;
        while let Some(end) = find(&buf[start..], b"\n\n") {
            let (event, payload) = fields(&buf[start..start + end]);
            start += end + 2;
            match event {
                b"ready" if !is_ready => {
                    is_ready = true;
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                // Only the writes of this run count (other events, e.g. a
                // token created meanwhile, are not part of it).
                b"message"
                    if find(payload, POSTED_KIND).is_some()
                        || find(payload, IMPORTED_KIND).is_some() =>
                {
                    if let Some(id) = entity_id(payload) {
                        got.push((id, now));
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
        buf.drain(..start);
        if last {
            return Ok(ClientResult { got, dropped: true });
        }
    }
}

async fn post(
    send: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    target: &Target,
    body: String,
) -> Result<u64> {
    let mut req = hyper::Request::post(&target.post_path)
        .header("host", &target.addr)
        .header("content-type", "application/json");
    if let Some(t) = &target.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    // The connection may still be finishing the previous exchange.
    send.ready().await?;
    let res = send
        .send_request(req.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = res.status();
    let bytes = res.into_body().collect().await?.to_bytes();
    ensure!(
        status.is_success(),
        "POST answered {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    let v: serde_json::Value = serde_json::from_slice(&bytes)?;
    v.get("id")
        .and_then(|id| id.as_u64())
        .context("the POST answer has no id")
}

/// A fault form for write `i` (each one a distinct fault: the chainage
/// differs; callers number writes across runs on one database). Partial damage on TDM3, so the picture stays sane.
pub fn fault_body(i: usize) -> String {
    serde_json::json!({
        "cable": "TDM3",
        "detected_on": "2026-11-01",
        "kind": "partial_damage",
        "place": "桃園草漯",
        "km": format!("{}.{:03}", 1 + i / 1000, i % 1000),
        "alternate_routes": "",
        "eta": "",
        "status": "open",
        "restored_on": "",
        "notes": format!("load run, event {i}"),
    })
    .to_string()
}

/// Runs one load: connects every client, posts `events` at `rate`, waits
/// for delivery (at most 10 s after the last post), and measures.
pub async fn run(
    target: Target,
    cfg: Config,
    body: impl Fn(usize) -> String,
    progress: impl Fn(&str),
) -> Result<Report> {
    run_split(target.clone(), target, cfg, body, progress).await
}

/// [`run`] with the clients on `clients` and the writer on `writer` (two
/// servers sharing one database).
pub async fn run_split(
    clients: Target,
    writer_target: Target,
    cfg: Config,
    body: impl Fn(usize) -> String,
    progress: impl Fn(&str),
) -> Result<Report> {
    let target = Arc::new(clients);
    let rss0 = target.pid.and_then(rss);
    let ready = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::with_capacity(cfg.clients);
    // Open in waves so the listen backlog never overflows.
    for wave in (0..cfg.clients).collect::<Vec<_>>().chunks(250) {
        let before = ready.load(Ordering::Relaxed);
        for _ in wave {
            tasks.push(tokio::spawn(client(
                target.clone(),
                ready.clone(),
                received.clone(),
                stop_rx.clone(),
            )));
        }
        let want = before + wave.len();
        let until = Instant::now() + Duration::from_secs(60);
        while ready.load(Ordering::Relaxed) < want {
            if Instant::now() > until || tasks.iter().any(|t| t.is_finished()) {
                bail!(
                    "only {} of {} clients connected",
                    ready.load(Ordering::Relaxed),
                    want
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        progress(&format!("{want} clients connected"));
    }
    let rss1 = target.pid.and_then(rss);
    let rss_per_conn = match (rss0, rss1) {
        (Some(a), Some(b)) if cfg.clients > 0 => {
            Some((b.saturating_sub(a)) as f64 / cfg.clients as f64)
        }
        _ => None,
    };
    let mut writer = connect(&writer_target.addr).await?;
    let mut posts = Vec::with_capacity(cfg.events);
    let mut post_ms = Vec::with_capacity(cfg.events);
    let interval = Duration::from_secs_f64(1.0 / cfg.rate.max(0.1));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..cfg.events {
        tick.tick().await;
        let t0 = Instant::now();
        let id = post(&mut writer, &writer_target, body(i)).await?;
        post_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        posts.push((id, t0));
    }
    progress(&format!("{} events posted", cfg.events));
    let want = cfg.clients * cfg.events;
    let until = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < want && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut all = Vec::with_capacity(want);
    let mut slowest = vec![0.0f64; posts.len()];
    let mut client_p99 = Vec::with_capacity(cfg.clients);
    let mut lost = 0;
    let mut lost_by_event = vec![0usize; posts.len()];
    let mut dropped = 0;
    let index: std::collections::HashMap<u64, (usize, Instant)> = posts
        .iter()
        .enumerate()
        .map(|(i, (id, t))| (*id, (i, *t)))
        .collect();
    for t in tasks {
        let r = t.await.context("a client task")??;
        if r.dropped {
            dropped += 1;
        }
        let mut mine = Vec::with_capacity(posts.len());
        let mut seen = vec![false; posts.len()];
        for (id, at) in r.got {
            if let Some((i, t0)) = index.get(&id) {
                if !seen[*i] {
                    seen[*i] = true;
                    let ms = at.saturating_duration_since(*t0).as_secs_f64() * 1e3;
                    mine.push(ms);
                    slowest[*i] = slowest[*i].max(ms);
                }
            }
        }
        lost += seen.iter().filter(|s| !**s).count();
        for (i, s) in seen.iter().enumerate() {
            if !s {
                lost_by_event[i] += 1;
            }
        }
        let mine = sorted(mine);
        client_p99.push(percentile(&mine, 0.99));
        all.extend(mine);
    }
    Ok(Report {
        clients: cfg.clients,
        events: cfg.events,
        all_ms: sorted(all),
        slowest_ms: sorted(slowest),
        client_p99_ms: sorted(client_p99),
        post_ms: sorted(post_ms),
        lost,
        lost_by_event,
        dropped,
        rss_per_conn,
    })
}

/// The bare baseline: an axum server with one broadcast channel, no
/// database, no sessions. `POST /post` broadcasts
/// `{"kind":"fault.reported","entity_id":"N"}`; `GET /events` streams them after a `ready` event.
pub async fn serve_baseline(listener: tokio::net::TcpListener) -> Result<()> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::routing::{get, post};
    use futures_util::StreamExt;
    use std::sync::atomic::AtomicU64;

    #[derive(Clone)]
    struct St {
        tx: tokio::sync::broadcast::Sender<Arc<str>>,
        next: Arc<AtomicU64>,
    }
    let (tx, _) = tokio::sync::broadcast::channel(1024);
    let st = St {
        tx,
        next: Arc::new(AtomicU64::new(1)),
    };
    let app = axum::Router::new()
        .route(
            "/events",
            get(
                |axum::extract::State(st): axum::extract::State<St>| async move {
                    let rx = st.tx.subscribe();
                    let ready = futures_util::stream::once(async {
                        Ok::<_, std::convert::Infallible>(Event::default().event("ready").data("0"))
                    });
                    let live = futures_util::stream::unfold(rx, |mut rx| async move {
                        loop {
                            match rx.recv().await {
                                Ok(d) => {
                                    let ev = Event::default().data(&*d);
                                    return Some((Ok::<_, std::convert::Infallible>(ev), rx));
                                }
                                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                    continue
                                }
                                Err(_) => return None,
                            }
                        }
                    });
                    Sse::new(ready.chain(live)).keep_alive(KeepAlive::default())
                },
            ),
        )
        .route(
            "/post",
            post(
                |axum::extract::State(st): axum::extract::State<St>| async move {
                    let n = st.next.fetch_add(1, Ordering::Relaxed);
                    let data: Arc<str> =
                        format!("{{\"kind\":\"fault.reported\",\"entity_id\":\"{n}\"}}").into();
                    let _ = st.tx.send(data);
                    axum::Json(serde_json::json!({ "id": n }))
                },
            ),
        )
        .with_state(st);
    // As `cablewatch serve` does: no Nagle delay on the streams.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_reads_sse_fields_and_the_entity() {
        let (event, data) =
            fields(b"id: 4\ndata: {\"kind\":\"fault.reported\",\"entity_id\":\"42\"}");
        assert_eq!(event, b"message");
        assert!(find(data, POSTED_KIND).is_some());
        assert_eq!(entity_id(data), Some(42));
        let (event, data) = fields(b"event: ready\nretry: 2000\ndata: 9");
        assert_eq!((event, data), (&b"ready"[..], &b"9"[..]));
        assert_eq!(entity_id(b"{\"entity_id\":\"x\"}"), None);
    }

    #[test]
    fn chunked_decoding_gives_the_data_whatever_the_reads_cut() {
        let wire = b"5\r\nid: 1\r\n1a;ext=1\r\n\ndata: {\"entity_id\":\"7\"}\n\n\r\n0\r\n\r\n";
        let want = b"id: 1\ndata: {\"entity_id\":\"7\"}\n\n";
        // Every way of cutting the wire into two reads.
        for cut in 0..=wire.len() {
            let (mut c, mut raw, mut out) = (Chunked::default(), Vec::new(), Vec::new());
            raw.extend_from_slice(&wire[..cut]);
            // The last chunk ("0", CRLF) ends the body: nothing is read after it.
            let early = c.decode(&mut raw, &mut out).expect("first part");
            assert_eq!(early, cut >= wire.len() - 2, "cut at {cut}");
            if !early {
                raw.extend_from_slice(&wire[cut..]);
                assert!(c.decode(&mut raw, &mut out).expect("second part"));
            }
            assert_eq!(out, want, "cut at {cut}");
        }
        let mut raw = b"zz\r\n".to_vec();
        assert!(Chunked::default()
            .decode(&mut raw, &mut Vec::new())
            .is_err());
    }
}

/// What an import burst cost the server.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub clients: usize,
    pub rows: usize,
    pub body_bytes: usize,
    /// Server RSS with the clients connected, before the import, bytes.
    pub rss_connected: u64,
    /// The highest RSS seen from the import until every client had every
    /// row's event (or the deadline), bytes.
    pub rss_peak: u64,
    /// From the POST until the last client had the last row, seconds.
    pub seconds: f64,
    /// Clients that received every row's event.
    pub complete: usize,
}

/// An asset CSV of `rows` distinct rows (about 100 bytes each).
pub fn import_csv(rows: usize) -> String {
    let mut out =
        String::from("name,kind,status,lon,lat,region,capacity_mbps,orbit,operator,notes\n");
    for i in 0..rows {
        out.push_str(&format!(
            "burst terminal {i:06},sat_terminal,ready,{:.5},{:.5},Matsu,50,LEO,OneWeb,import burst row {i}\n",
            119.9 + (i % 100) as f64 * 0.001,
            26.1 + (i / 100 % 100) as f64 * 0.001
        ));
    }
    out
}

/// Connects `clients` streams, posts one CSV import of `rows` assets, and
/// samples the server's RSS every 20 ms until every client has received
/// every row's event (at most `deadline` after the POST).
pub async fn import_burst(
    target: Target,
    clients: usize,
    rows: usize,
    deadline: Duration,
    progress: impl Fn(&str),
) -> Result<ImportReport> {
    let pid = target.pid.context("the server's pid")?;
    let target = Arc::new(target);
    let ready = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::with_capacity(clients);
    for wave in (0..clients).collect::<Vec<_>>().chunks(250) {
        let before = ready.load(Ordering::Relaxed);
        for _ in wave {
            tasks.push(tokio::spawn(client(
                target.clone(),
                ready.clone(),
                received.clone(),
                stop_rx.clone(),
            )));
        }
        let want = before + wave.len();
        let until = Instant::now() + Duration::from_secs(60);
        while ready.load(Ordering::Relaxed) < want {
            if Instant::now() > until || tasks.iter().any(|t| t.is_finished()) {
                bail!(
                    "only {} of {want} clients connected",
                    ready.load(Ordering::Relaxed)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        progress(&format!("{want} clients connected"));
    }
    let rss_connected = rss(pid).context("reading the server's RSS")?;
    let body = import_csv(rows);
    let body_bytes = body.len();
    let mut writer = connect(&target.addr).await?;
    let path = format!("{}?format=csv", target.post_path);
    let t0 = Instant::now();
    let post = {
        let target = target.clone();
        tokio::spawn(async move {
            let mut req = hyper::Request::post(&path)
                .header("host", &target.addr)
                .header("content-type", "text/csv");
            if let Some(t) = &target.token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            writer.ready().await?;
            let res = writer
                .send_request(req.body(Full::new(Bytes::from(body)))?)
                .await?;
            let status = res.status();
            let bytes = res.into_body().collect().await?.to_bytes();
            ensure!(
                status.is_success(),
                "the import answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            anyhow::Ok(())
        })
    };
    let want = clients * rows;
    let mut rss_peak = rss_connected;
    while received.load(Ordering::Relaxed) < want && t0.elapsed() < deadline {
        if let Some(r) = rss(pid) {
            rss_peak = rss_peak.max(r);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = t0.elapsed().as_secs_f64();
    post.await.context("the import task")??;
    progress(&format!(
        "import of {rows} rows delivered or timed out after {seconds:.1} s"
    ));
    let _ = stop_tx.send(true);
    let mut complete = 0;
    for t in tasks {
        let r = t.await.context("a client task")??;
        if r.got.len() >= rows {
            complete += 1;
        }
    }
    Ok(ImportReport {
        clients,
        rows,
        body_bytes,
        rss_connected,
        rss_peak,
        seconds,
        complete,
    })
}
