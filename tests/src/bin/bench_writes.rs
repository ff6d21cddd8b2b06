//! Write latency while notice previews run (issue 11.6): fault posts timed
//! alone (the baseline), then the same number while clients preview a notice
//! at the size limit (1 MiB, 2,000 lines) in a loop. Previews parse off the
//! write lane, so a write should not wait behind them.
//!
//! `cargo xtask bench-writes` (release builds; CABLEWATCH_BIN is the server).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

const FIXTURE: &str = include_str!("../../../shared/tests/fixtures/2026-02-14-fault-notice.txt");

fn fault(i: usize) -> serde_json::Value {
    serde_json::json!({
        "cable": "TDM3", "detected_on": format!("2025-{:02}-{:02}", i / 28 % 12 + 1, i % 28 + 1),
        "kind": "cut", "place": "桃園草漯", "km": (i / 336 + 1).to_string(),
        "alternate_routes": "微波", "eta": "", "status": "open", "restored_on": "", "notes": "",
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Posts `n` faults one after another and returns each post's time in ms.
async fn writes(base: &str, token: &str, from: usize, n: usize) -> Result<Vec<f64>> {
    let mut ms = Vec::with_capacity(n);
    for i in from..from + n {
        let t = Instant::now();
        let (status, body) =
            e2e::api_json(base, token, "POST", "/api/v1/faults", Some(fault(i))).await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        ensure!(status == 201, "post {i}: {status} {body}");
        // A steady officer, not a flood: 50 writes a second at most.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms)
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let previewers: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2);
    let dir = std::env::temp_dir().join(format!("cablewatch-bench-writes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}/cw.db", dir.display());
    e2e::add_users(&db)?;
    let token = e2e::token(&db, "officer")?;
    let server = e2e::start_plain_server_on(&db, dir.clone()).await?;
    let base = server.base.clone();
    let notice = shared::notice::notice_at_the_limit(FIXTURE);
    shared::notice::check_notice_size(&notice).map_err(anyhow::Error::msg)?;

    // Warm up, then the baseline: writes alone.
    writes(&base, &token, 0, 20).await?;
    let alone = writes(&base, &token, 20, n).await?;

    // The same writes while `previewers` clients preview the notice in a loop.
    let stop = Arc::new(AtomicBool::new(false));
    let previews = Arc::new(AtomicUsize::new(0));
    let preview_ms = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..previewers {
        let (base, token, notice) = (base.clone(), token.clone(), notice.clone());
        let (stop, previews, preview_ms) = (stop.clone(), previews.clone(), preview_ms.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = e2e::api_text(&base, &token, "/api/v1/notices/preview", &notice).await;
                // The repeated rows share one identity, so the plan refuses
                // them (422) after the whole notice was parsed: the work
                // this measures. Anything else is a failure.
                if let Ok((200 | 422, _)) = r {
                    previews.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut v) = preview_ms.lock() {
                        v.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    let busy = writes(&base, &token, 20 + n, n).await?;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.context("a preview client")?;
    }
    let done = previews.load(Ordering::Relaxed);
    let mut pms = preview_ms.lock().map(|v| v.clone()).unwrap_or_default();
    pms.sort_by(f64::total_cmp);
    ensure!(done > 0, "no preview succeeded");
    println!(
        "notice {:.2} MiB, {} lines; {n} fault posts per row, 20 ms apart; {previewers} preview clients",
        notice.len() as f64 / (1024.0 * 1024.0),
        notice.lines().count()
    );
    println!("\n| writes | p50, ms | p99, ms | max, ms |\n|---|---:|---:|---:|");
    for (name, ms) in [("alone (baseline)", &alone), ("while previews loop", &busy)] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            percentile(ms, 0.5),
            percentile(ms, 0.99),
            ms[ms.len() - 1]
        );
    }
    println!(
        "\npreviews meanwhile: {done} in {elapsed:.1} s ({:.1}/s), p50 {:.0} ms",
        done as f64 / elapsed,
        percentile(&pms, 0.5)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
