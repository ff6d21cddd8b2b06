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
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
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
        verify(&client, port, &token, &acked)
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
                            if resp.into_body().collect().await.is_ok() {
                                if let Ok(mut a) = acked.lock() {
                                    a.insert(metres);
                                }
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
    verify(&client, port, &token, &acked).await?;
    drop(server);
    let check = cli(bin, &db, &["db-check"], None)?;
    ensure!(check.trim() == "ok", "integrity check: {check}");
    report.acknowledged = acked.lock().map(|a| a.len()).unwrap_or(0);
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn verify(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    port: u16,
    token: &str,
    acked: &Mutex<BTreeSet<u64>>,
) -> Result<()> {
    let req = hyper::Request::get(format!("http://127.0.0.1:{port}/api/v1/faults?status=all"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))?;
    let resp = client.request(req).await?;
    ensure!(
        resp.status().is_success(),
        "listing faults: {}",
        resp.status()
    );
    let body = resp.into_body().collect().await?.to_bytes();
    let faults: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
    let stored: BTreeSet<u64> = faults
        .iter()
        .filter_map(|f| f["chainage"]["km"].as_f64())
        .map(|km| (km * 1000.0).round() as u64)
        .collect();
    let acked = match acked.lock() {
        Ok(a) => a.clone(),
        Err(_) => bail!("lock poisoned"),
    };
    let missing: Vec<_> = acked.difference(&stored).take(5).collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged faults are missing after a crash, e.g. {missing:?}",
        acked.difference(&stored).count()
    );
    Ok(())
}
