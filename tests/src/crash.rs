//! Crash durability: a client posts faults as fast as it can while the
//! server is killed with SIGKILL; after each restart, every fault that was
//! acknowledged (2xx) must be there and the database must pass its
//! integrity check (`cablewatch db-check`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::{free_port, wait_for, Guard};

/// What a crash run did.
#[derive(Debug, Default, Clone)]
pub struct CrashReport {
    pub cycles: u32,
    /// Faults acknowledged with 2xx before a kill (all found after restart).
    pub acknowledged: usize,
    /// Requests that got no answer because the server died under them.
    pub cut_off: usize,
    pub elapsed: Duration,
}

fn cli(bin: &Path, db: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut child = Command::new(bin)
        .args(args)
        .env("CABLEWATCH_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting cablewatch {args:?}"))?;
    if let (Some(input), Some(mut w)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        writeln!(w, "{input}")?;
    }
    let out = child.wait_with_output()?;
    ensure!(out.status.success(), "cablewatch {args:?} failed");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A small deterministic generator for kill delays (no clock or OS entropy,
/// so a failing cycle can be replayed).
fn delay_ms(cycle: u32) -> u64 {
    let mut x = u64::from(cycle).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 29;
    30 + x % 400
}

/// Runs `cycles` kill/restart cycles against `bin` on a fresh SQLite database in `dir`.
pub async fn run(bin: &Path, dir: &Path, cycles: u32) -> Result<CrashReport> {
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let db = format!("sqlite://{}/crash.db", dir.display());
    cli(
        bin,
        &db,
        &["user", "add", "crash", "--role", "officer"],
        Some("crash test password"),
    )?;
    let token = cli(bin, &db, &["token", "create", "crash"], None)?
        .trim()
        .to_string();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    // Faults acknowledged in the cycle being run: (metres, id). Checked one by
    // one after the next restart, then kept for the full check at the end.
    let acked: Arc<Mutex<Vec<(u64, i64)>>> = Arc::default();
    let mut acked_all: BTreeSet<u64> = BTreeSet::new();
    // A unique distance in metres (km with three decimals, within the 40000 km
    // the form accepts) identifies each fault across all cycles.
    let next_metre = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let mut report = CrashReport::default();
    for cycle in 0..cycles {
        let port = free_port()?;
        let server = Guard(
            Command::new(bin)
                .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
                .env("CABLEWATCH_DATABASE_URL", &db)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting cablewatch serve")?,
        );
        wait_for("the server to listen", Duration::from_secs(30), || async {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await?;
        // Everything acknowledged so far survived the last kill.
        let recent = match acked.lock() {
            Ok(mut a) => std::mem::take(&mut *a),
            Err(_) => bail!("lock poisoned"),
        };
        verify_recent(&client, port, &token, &recent)
            .await
            .with_context(|| format!("after cycle {cycle}"))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for _ in 0..4 {
            let (client, token, acked, stop, next_metre) = (
                client.clone(),
                token.clone(),
                acked.clone(),
                stop.clone(),
                next_metre.clone(),
            );
            writers.push(tokio::spawn(async move {
                let mut cut = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let metres = next_metre.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let body = serde_json::json!({
                        "cable": "TDM3", "detected_on": "2026-02-10", "kind": "cut",
                        "place": "桃園草漯", "km": format!("{}.{:03}", metres / 1000, metres % 1000),
                        "alternate_routes": "", "eta": "", "status": "open",
                        "restored_on": "", "notes": "crash test"
                    });
                    let req = hyper::Request::post(format!("http://127.0.0.1:{port}/api/v1/faults"))
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body.to_string())));
                    let Ok(req) = req else { break };
                    match client.request(req).await {
                        Ok(resp) if resp.status().is_success() => {
                            // Acknowledged only once the whole answer arrived.
                            let id = match resp.into_body().collect().await {
                                Ok(b) => serde_json::from_slice::<serde_json::Value>(&b.to_bytes())
                                    .ok()
                                    .and_then(|v| v["id"].as_i64()),
                                Err(_) => None,
                            };
                            if let (Some(id), Ok(mut a)) = (id, acked.lock()) {
                                a.push((metres, id));
                            }
                        }
                        Ok(resp) => {
                            let s = resp.status();
                            let b = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            return Err(anyhow::anyhow!("unexpected {s}: {}", String::from_utf8_lossy(&b)));
                        }
                        Err(_) => {
                            cut += 1;
                            break;
                        }
                    }
                }
                Ok(cut)
            }));
        }
        tokio::time::sleep(Duration::from_millis(delay_ms(cycle))).await;
        drop(server); // SIGKILL, then reap
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            report.cut_off += w.await??;
        }
        if let Ok(a) = acked.lock() {
            acked_all.extend(a.iter().map(|(m, _)| *m));
        }
        report.cycles += 1;
    }
    // The last restart, then the database's own integrity check.
    let port = free_port()?;
    let server = Guard(
        Command::new(bin)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("CABLEWATCH_DATABASE_URL", &db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_for("the server to listen", Duration::from_secs(30), || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await?;
    let recent = match acked.lock() {
        Ok(mut a) => std::mem::take(&mut *a),
        Err(_) => bail!("lock poisoned"),
    };
    verify_recent(&client, port, &token, &recent).await?;
    verify_all(&client, port, &token, &acked_all).await?;
    drop(server);
    let check = cli(bin, &db, &["db-check"], None)?;
    ensure!(check.trim() == "ok", "integrity check: {check}");
    report.acknowledged = acked_all.len();
    report.elapsed = started.elapsed();
    Ok(report)
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn get_json(
    client: &HttpClient,
    port: u16,
    token: &str,
    path: &str,
) -> Result<serde_json::Value> {
    let req = hyper::Request::get(format!("http://127.0.0.1:{port}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))?;
    let resp = client.request(req).await?;
    ensure!(resp.status().is_success(), "GET {path}: {}", resp.status());
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}

/// Every fault acknowledged in the last cycle is there, at its distance.
async fn verify_recent(
    client: &HttpClient,
    port: u16,
    token: &str,
    recent: &[(u64, i64)],
) -> Result<()> {
    for (metres, id) in recent {
        let d = get_json(client, port, token, &format!("/api/v1/faults/{id}"))
            .await
            .with_context(|| format!("acknowledged fault {id} is missing after a crash"))?;
        let km = d["fault"]["chainage"]["km"].as_f64().unwrap_or(-1.0);
        ensure!(
            (km * 1000.0).round() as u64 == *metres,
            "fault {id} has km {km}, expected {metres} m"
        );
    }
    Ok(())
}

/// At the end: every fault acknowledged in any cycle is still there.
async fn verify_all(
    client: &HttpClient,
    port: u16,
    token: &str,
    acked: &BTreeSet<u64>,
) -> Result<()> {
    let faults = get_json(client, port, token, "/api/v1/faults?status=all").await?;
    let stored: BTreeSet<u64> = faults
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f["chainage"]["km"].as_f64())
        .map(|km| (km * 1000.0).round() as u64)
        .collect();
    let missing: Vec<_> = acked.difference(&stored).take(5).collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged faults are missing, e.g. {missing:?}",
        acked.difference(&stored).count()
    );
    Ok(())
}
