//! The map benchmark (`cargo xtask bench-map`): a release server with the
//! demo data plus generated assets up to `--assets` (20,000), then for every
//! zoom preset, side by side with the same page with the asset layer off
//! (`?assets=0`, the baseline): SVG elements, HTML bytes (raw and gzip),
//! server render time (p50/p95 over `--runs` requests after warm-up), and in
//! headless Chromium the script time of a pan or zoom step after hydration
//! (Chrome's own `ScriptDuration` metric, taken before and after each step).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use e2e::{sign_in, start_browser, start_server, wait_for, wait_hydrated};
use fantoccini::Client;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

const VIEWS: [&str; 6] = [
    "region",
    "taiwan",
    "matsu",
    "kinmen",
    "penghu",
    "xiaoliuqiu",
];

fn arg(name: &str, default: usize) -> Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context("a value after the flag")?
            .parse()
            .context("a number"),
        None => Ok(default),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut child = Command::new("gzip")
        .arg("-6c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("gzip")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(bytes)?;
    }
    Ok(child.wait_with_output()?.stdout.len())
}

/// Elements inside `<svg id="map">…</svg>`.
fn svg_elements(html: &str) -> usize {
    let Some(start) = html.find("<svg id=\"map\"") else {
        return 0;
    };
    let end = html[start..]
        .find("</svg>")
        .map_or(html.len(), |e| start + e);
    let svg = &html[start..end];
    svg.match_indices('<')
        .filter(|(i, _)| {
            svg[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
        })
        .count()
}

struct PageFigures {
    elements: usize,
    html: usize,
    gzip: usize,
    p50: f64,
    p95: f64,
}

async fn measure_page(
    http: &HttpClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    base: &str,
    token: &str,
    path: &str,
    runs: usize,
) -> Result<PageFigures> {
    let get = || async {
        let req = hyper::Request::get(format!("{base}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))?;
        let t0 = Instant::now();
        let resp = http.request(req).await?;
        ensure!(resp.status() == 200, "{path}: {}", resp.status());
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((t0.elapsed().as_secs_f64() * 1000.0, body))
    };
    for _ in 0..5 {
        get().await?;
    }
    let mut times = Vec::with_capacity(runs);
    let mut last = Bytes::new();
    for _ in 0..runs {
        let (ms, body) = get().await?;
        times.push(ms);
        last = body;
    }
    times.sort_by(f64::total_cmp);
    let html = String::from_utf8_lossy(&last);
    Ok(PageFigures {
        elements: svg_elements(&html),
        html: last.len(),
        gzip: gzip_len(&last)?,
        p50: percentile(&times, 0.5),
        p95: percentile(&times, 0.95),
    })
}

/// A Chrome DevTools command through chromedriver's CDP endpoint.
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl Cdp {
    fn bare(cmd: &'static str) -> Self {
        Self(cmd, serde_json::json!({}))
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(serde_json::json!({"cmd": self.0, "params": self.1}).to_string()),
        )
    }
}

async fn script_seconds(c: &Client) -> Result<f64> {
    let v = c.issue_cmd(Cdp::bare("Performance.getMetrics")).await?;
    let metrics = v["metrics"].as_array().context("metrics")?;
    metrics
        .iter()
        .find(|m| m["name"] == "ScriptDuration")
        .and_then(|m| m["value"].as_f64())
        .context("ScriptDuration")
}

/// One step in the page: the event, then the page settles: the asset layer
/// is drawn for the camera's new key (`data-key` on the layer equals the
/// map's; a MutationObserver waits for it, no polling, at most 3 s), then two
/// macrotask turns.
const STEP_JS: &str = r#"
const [kind, done] = [arguments[0], arguments[arguments.length - 1]];
const m = document.getElementById('map');
const assets = document.getElementById('assets');
const ch = new MessageChannel();
const turn = () => new Promise(r => { ch.port1.onmessage = () => r(); ch.port2.postMessage(0); });
const drawn = () => assets.querySelector('.markers')?.dataset.key;
const before = drawn();
const current = () => drawn() === m.dataset.key;
if (kind === 'pan') {
  m.dispatchEvent(new PointerEvent('pointerdown', {clientX: 600, clientY: 300, bubbles: true}));
  m.dispatchEvent(new PointerEvent('pointermove', {clientX: 540, clientY: 280, bubbles: true}));
  m.dispatchEvent(new PointerEvent('pointerup', {clientX: 540, clientY: 280, bubbles: true}));
} else if (kind === 'in' || kind === 'out') {
  m.dispatchEvent(new WheelEvent('wheel', {deltaY: kind === 'in' ? -100 : 100, bubbles: true, cancelable: true}));
} else {
  m.dispatchEvent(new Event('nothing', {bubbles: true}));
}
(async () => {
  await turn();
  if (!current()) {
    await new Promise(r => {
      const obs = new MutationObserver(() => { if (current()) { obs.disconnect(); r(); } });
      obs.observe(m, {attributes: true, childList: true, subtree: true});
      setTimeout(() => { obs.disconnect(); r(); }, 3000);
    });
  }
  await turn(); await turn();
  done(drawn() !== before);
})();
"#;

struct StepFigures {
    p50: f64,
    max: f64,
    redraws: usize,
    /// p50 and max per kind of step: zoom in, pan, zoom out.
    by_kind: Vec<(&'static str, f64, f64)>,
}

fn step_stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (percentile(&v, 0.5), v.last().copied().unwrap_or(f64::NAN))
}

async fn measure_steps(
    c: &Client,
    base: &str,
    path: &str,
    rounds: usize,
) -> Result<(StepFigures, StepFigures)> {
    c.goto(&format!("{base}{path}")).await?;
    wait_hydrated(c).await?;
    c.issue_cmd(Cdp::bare("Performance.enable")).await?;
    let mut steps: Vec<(&'static str, f64)> = Vec::new();
    let mut idle = Vec::new();
    let mut redraws = 0;
    for i in 0..rounds {
        for kind in ["in", "pan", "out", "idle"] {
            let s0 = script_seconds(c).await?;
            let changed = c
                .execute_async(STEP_JS, vec![serde_json::json!(kind)])
                .await?
                .as_bool()
                .unwrap_or(false);
            let ms = (script_seconds(c).await? - s0) * 1000.0;
            if kind == "idle" {
                idle.push(ms);
            } else if i > 0 {
                // The first round warms the code paths up.
                steps.push((kind, ms));
                redraws += usize::from(changed);
            }
        }
    }
    let (p50, max) = step_stats(steps.iter().map(|s| s.1).collect());
    let by_kind = ["in", "pan", "out"]
        .into_iter()
        .map(|k| {
            let (p50, max) = step_stats(steps.iter().filter(|s| s.0 == k).map(|s| s.1).collect());
            (k, p50, max)
        })
        .collect();
    let (idle_p50, idle_max) = step_stats(idle);
    Ok((
        StepFigures {
            p50,
            max,
            redraws,
            by_kind,
        },
        StepFigures {
            p50: idle_p50,
            max: idle_max,
            redraws: 0,
            by_kind: Vec::new(),
        },
    ))
}

/// `--profile`: Chrome's sampling profiler over the layer-on steps; prints
/// the functions with the most self time (wasm functions by their names).
async fn profile_steps(c: &Client, base: &str, rounds: usize) -> Result<()> {
    c.goto(&format!("{base}/map?view=taiwan")).await?;
    wait_hydrated(c).await?;
    c.issue_cmd(Cdp::bare("Profiler.enable")).await?;
    c.issue_cmd(Cdp(
        "Profiler.setSamplingInterval",
        serde_json::json!({"interval": 100}),
    ))
    .await?;
    c.issue_cmd(Cdp::bare("Profiler.start")).await?;
    for _ in 0..rounds {
        for kind in ["in", "pan", "out"] {
            c.execute_async(STEP_JS, vec![serde_json::json!(kind)])
                .await?;
        }
    }
    let v = c.issue_cmd(Cdp::bare("Profiler.stop")).await?;
    let nodes = v["profile"]["nodes"].as_array().context("profile nodes")?;
    let mut by_fn: std::collections::HashMap<String, u64> = Default::default();
    let mut total = 0;
    for n in nodes {
        let hits = n["hitCount"].as_u64().unwrap_or(0);
        let name = n["callFrame"]["functionName"].as_str().unwrap_or("");
        if matches!(name, "(idle)" | "(root)") {
            continue;
        }
        total += hits;
        *by_fn.entry(name.chars().take(110).collect()).or_default() += hits;
    }
    let mut top: Vec<_> = by_fn.into_iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    println!("\n## Self time in {} layer-on steps ({total} samples of 0.1 ms, idle excluded, `(program)` is the browser's own work)\n", rounds * 3);
    println!("| function | samples | share |\n|---|---:|---:|");
    for (name, hits) in top.into_iter().take(30) {
        println!(
            "| `{}` | {hits} | {:.1} % |",
            name.replace('|', "/"),
            hits as f64 * 100.0 / total.max(1) as f64
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let total = arg("--assets", 20_000)?;
    let runs = arg("--runs", 50)?;
    let rounds = arg("--rounds", 11)?;
    let bin = std::env::var("CABLEWATCH_BIN")
        .context("CABLEWATCH_BIN (run through cargo xtask bench-map)")?;
    let server = start_server("bench-map").await?;
    let cli = |args: &[&str]| -> Result<String> {
        let out = Command::new(&bin)
            .args(args)
            .env("CABLEWATCH_DATABASE_URL", &server.db)
            .output()?;
        ensure!(
            out.status.success(),
            "cablewatch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // Wait for the demo seed (the server loads it at start), then top up.
    let http: HttpClient<_, Full<Bytes>> = HttpClient::builder(TokioExecutor::new()).build_http();
    let token_out = cli(&["token", "create", "watch"])?;
    let token = token_out
        .split_whitespace()
        .find(|w| w.starts_with("cw_"))
        .context("a token in the CLI output")?
        .to_string();
    let count = || async {
        let req = hyper::Request::get(format!("{}/api/v1/assets?kind=none", server.base))
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))?;
        let body = http
            .request(req)
            .await?
            .into_body()
            .collect()
            .await?
            .to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        Ok::<_, anyhow::Error>(v["counts"]["total"].as_u64().unwrap_or(0) as usize)
    };
    wait_for("the demo inventory", Duration::from_secs(60), || async {
        count().await.map(|n| n > 2000).unwrap_or(false)
    })
    .await?;
    let have = count().await?;
    if total > have {
        let t0 = Instant::now();
        cli(&[
            "assets",
            "generate",
            "--count",
            &(total - have).to_string(),
            "--seed",
            "7",
        ])?;
        eprintln!(
            "generated {} assets in {:.1} s",
            total - have,
            t0.elapsed().as_secs_f64()
        );
    }
    let have = count().await?;
    if have != total {
        bail!("expected {total} assets, the registry has {have}");
    }
    // The first request after a write builds the cluster index: time it alone.
    let t0 = Instant::now();
    measure_page(&http, &server.base, &token, "/map?view=taiwan", 1).await?;
    let index_ms = t0.elapsed().as_secs_f64() * 1000.0;

    println!("## Map benchmark: {have} assets, {runs} requests per page after 5 warm-up, release build\n");
    println!("First request after the asset data changed (builds the cluster index, then 6 requests): {index_ms:.0} ms\n");
    println!("| view | SVG elements | HTML KB | gzip KB | render p50 ms | render p95 ms | baseline (asset layer off): elements / gzip KB / p50 / p95 |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for v in VIEWS {
        let on = measure_page(&http, &server.base, &token, &format!("/map?view={v}"), runs).await?;
        let off = measure_page(
            &http,
            &server.base,
            &token,
            &format!("/map?view={v}&assets=0"),
            runs,
        )
        .await?;
        println!(
            "| {v} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} / {:.1} / {:.1} / {:.1} |",
            on.elements,
            on.html as f64 / 1024.0,
            on.gzip as f64 / 1024.0,
            on.p50,
            on.p95,
            off.elements,
            off.gzip as f64 / 1024.0,
            off.p50,
            off.p95
        );
    }
    let browser = start_browser("bench-map").await?;
    let c = browser.client.clone();
    let result = async {
        sign_in(&c, &server.base, "watch").await?;
        if std::env::args().any(|a| a == "--profile") {
            return profile_steps(&c, &server.base, rounds).await;
        }
        let (on, idle_on) = measure_steps(&c, &server.base, "/map?view=taiwan", rounds).await?;
        let (off, idle_off) = measure_steps(&c, &server.base, "/map?view=taiwan&assets=0", rounds).await?;
        println!("\n## Pan/zoom step after hydration, Taiwan view, {} steps each (zoom in, pan, zoom out), script ms (Chrome ScriptDuration)\n", (rounds - 1) * 3);
        println!("| page | step p50 | step max | zoom in p50 / max | pan p50 / max | zoom out p50 / max | steps that refetched the asset layer | measuring overhead (no-op step) p50 |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (name, f, idle) in [("asset layer on", &on, &idle_on), ("baseline: asset layer off", &off, &idle_off)] {
            let kinds: Vec<String> = f.by_kind.iter().map(|(_, p, m)| format!("{p:.1} / {m:.1}")).collect();
            println!("| {name} | {:.1} | {:.1} | {} | {} | {:.1} |", f.p50, f.max, kinds.join(" | "), f.redraws, idle.p50);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let _ = c.close().await;
    result
}
