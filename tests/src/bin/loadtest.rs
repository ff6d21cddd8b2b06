//! The live-stream load tool (`cargo xtask loadtest`): N SSE clients, an
//! officer posting faults at a steady rate, the POST→client delivery latency,
//! events lost, dropped clients and server memory per connection; first
//! against a bare axum SSE broadcast (no database, no sessions: the
//! baseline), then against `cablewatch serve` on a fresh database, in the
//! same run, printed side by side as a Markdown table.
//!
//! `--database-url` points the real run at PostgreSQL (an empty database);
//! the default is a fresh SQLite file.

use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use e2e::load::{self, percentile, Config, Report, Target};
use e2e::{free_port, wait_for, Guard};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn num(name: &str, default: f64) -> Result<f64> {
    arg(name).map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("{name} wants a number"))
    })
}

async fn listening(port: u16) -> Result<()> {
    wait_for("the server to listen", Duration::from_secs(60), || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await
}

fn row(name: &str, r: &Report) -> String {
    let p = |v: &[f64], q| format!("{:.1}", percentile(v, q));
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        r.clients,
        r.events,
        p(&r.all_ms, 0.5),
        p(&r.all_ms, 0.99),
        p(&r.all_ms, 1.0),
        p(&r.slowest_ms, 0.99),
        p(&r.client_p99_ms, 1.0),
        r.lost,
        r.dropped,
        r.rss_per_conn
            .map(|b| format!("{:.1}", b / 1024.0))
            .unwrap_or_else(|| "–".into()),
    )
}

/// Starts `cablewatch serve` from `bin` on `db` with an officer's token:
/// the guard that stops it, its port, the token.
async fn start_cablewatch(bin: &str, db: &str) -> Result<(Guard, u16, String)> {
    let mut add = Command::new(bin)
        .args(["user", "add", "loadtest", "--role", "officer"])
        .env("CABLEWATCH_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("adding the officer")?;
    if let Some(mut stdin) = add.stdin.take() {
        use std::io::Write;
        writeln!(stdin, "load test password, not a secret")?;
    }
    ensure!(add.wait()?.success(), "cablewatch user add failed");
    let out = Command::new(bin)
        .args(["token", "create", "loadtest"])
        .env("CABLEWATCH_DATABASE_URL", db)
        .stderr(Stdio::null())
        .output()
        .context("creating a token")?;
    ensure!(out.status.success(), "cablewatch token create failed");
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let port = free_port()?;
    let server = Guard(
        Command::new(bin)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("CABLEWATCH_DATABASE_URL", db)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting cablewatch")?,
    );
    listening(port).await?;
    Ok((server, port, token))
}

/// `--import-rows N`: server memory while one CSV import of N assets
/// reaches every one of `--clients` open streams, for `CABLEWATCH_BIN` and,
/// when set, `CABLEWATCH_BASELINE_BIN` (an earlier build), in the same run.
async fn import_mode(rows: usize, clients: usize) -> Result<()> {
    let mut bins = Vec::new();
    if let Ok(b) = std::env::var("CABLEWATCH_BASELINE_BIN") {
        bins.push(("baseline build".to_string(), b));
    }
    bins.push((
        "this build".to_string(),
        std::env::var("CABLEWATCH_BIN").context("CABLEWATCH_BIN (the cablewatch binary)")?,
    ));
    let mut out = Vec::new();
    for (name, bin) in bins {
        let dir = std::env::temp_dir().join(format!("cablewatch-burst-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let db = format!("sqlite://{}/cw.db", dir.display());
        let (server, port, token) = start_cablewatch(&bin, &db).await?;
        eprintln!("==> {name}: {clients} streams, one import of {rows} assets");
        let r = load::import_burst(
            Target {
                addr: format!("127.0.0.1:{port}"),
                stream_path: "/api/v1/events".into(),
                post_path: "/api/v1/assets/import".into(),
                token: Some(token),
                pid: Some(server.0.id()),
            },
            clients,
            rows,
            Duration::from_secs(300),
            |m| eprintln!("   {m}"),
        )
        .await?;
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
        out.push((name, r));
    }
    println!("\n| server | streams | import | RSS connected, MiB | RSS peak, MiB | growth, MiB | every row to every stream, s | streams complete |");
    println!("|---|---|---|---|---|---|---|---|");
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    for (name, r) in &out {
        println!(
            "| {name} | {} | {} rows, {:.2} MiB | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            r.clients,
            r.rows,
            r.body_bytes as f64 / (1024.0 * 1024.0),
            mib(r.rss_connected),
            mib(r.rss_peak),
            mib(r.rss_peak.saturating_sub(r.rss_connected)),
            r.seconds,
            r.complete
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    // Child mode: the bare baseline server.
    if let Some(addr) = arg("--serve-baseline") {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        return load::serve_baseline(listener).await;
    }
    if let Some(rows) = arg("--import-rows") {
        let rows: usize = rows.parse().context("--import-rows wants a number")?;
        return import_mode(rows, num("--clients", 1000.0)? as usize).await;
    }
    let cfg = Config {
        clients: num("--clients", 1000.0)? as usize,
        events: num("--events", 100.0)? as usize,
        rate: num("--rate", 20.0)?,
    };
    let say = |m: &str| eprintln!("   {m}");

    // 1. The baseline, in its own process like the real server.
    let port = free_port()?;
    let me = std::env::current_exe()?;
    let base = Guard(
        Command::new(&me)
            .args(["--serve-baseline", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .context("starting the baseline server")?,
    );
    listening(port).await?;
    eprintln!("==> baseline: bare axum SSE broadcast");
    let baseline = load::run(
        Target {
            addr: format!("127.0.0.1:{port}"),
            stream_path: "/events".into(),
            post_path: "/post".into(),
            token: None,
            pid: Some(base.0.id()),
        },
        cfg,
        |_| "{}".to_string(),
        say,
    )
    .await?;
    drop(base);

    // 2. cablewatch on a fresh database.
    let bin = std::env::var("CABLEWATCH_BIN").context("CABLEWATCH_BIN (the cablewatch binary)")?;
    let dir = std::env::temp_dir().join(format!("cablewatch-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = arg("--database-url").unwrap_or_else(|| format!("sqlite://{}/cw.db", dir.display()));
    let engine = if db.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let (server, port, token) = start_cablewatch(&bin, &db).await?;
    eprintln!("==> cablewatch serve ({engine})");
    let real = load::run(
        Target {
            addr: format!("127.0.0.1:{port}"),
            stream_path: "/api/v1/events".into(),
            post_path: "/api/v1/faults".into(),
            token: Some(token),
            pid: Some(server.0.id()),
        },
        cfg,
        load::fault_body,
        say,
    )
    .await?;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\n{} clients, {} events at {}/s; latency from the start of the POST to each client's receipt, ms\n",
        cfg.clients, cfg.events, cfg.rate
    );
    println!("| server | clients | events | p50 | p99 | max | slowest client per event, p99 | worst client p99 | lost | dropped | server KB per connection |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!("{}", row("bare axum SSE (baseline)", &baseline));
    println!("{}", row(&format!("cablewatch ({engine})"), &real));
    let ratio = percentile(&real.all_ms, 0.99) / percentile(&baseline.all_ms, 0.99);
    println!(
        "\np99 ratio cablewatch / baseline: {ratio:.2}; POST round trip p50 {:.1} ms, p99 {:.1} ms",
        percentile(&real.post_ms, 0.5),
        percentile(&real.post_ms, 0.99)
    );
    ensure!(real.lost == 0 && baseline.lost == 0, "events were lost");
    Ok(())
}
