//! `cablewatch`: serve the web app, import and export the ministry's notice.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

/// The 2026-02-14 notice, as extracted from the ministry's minutes: the demo data.
const DEMO_NOTICE: &str = include_str!("../../shared/tests/fixtures/2026-02-14-fault-notice.txt");

#[derive(Parser)]
#[command(
    name = "cablewatch",
    version,
    about = "Operations system for Taiwan's subsea-cable faults"
)]
struct Cli {
    /// sqlite://PATH (created if missing) or postgres://USER@HOST/DB
    #[arg(
        long,
        env = "CABLEWATCH_DATABASE_URL",
        default_value = "sqlite://data/cablewatch.db",
        global = true
    )]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and the JSON API.
    Serve {
        #[arg(long, env = "CABLEWATCH_ADDR", default_value = "127.0.0.1:3000")]
        addr: std::net::SocketAddr,
        /// Import the 2026-02-14 notice when the registry has no faults yet.
        #[arg(long)]
        demo: bool,
        /// Directory with the built site (pkg/cablewatch.js, cablewatch_bg.wasm, cablewatch.css).
        #[arg(long, env = "CABLEWATCH_SITE_ROOT")]
        site_root: Option<PathBuf>,
    },
    /// Import a notice pasted as text (FILE, or - for stdin). All or nothing.
    ImportNotice { file: PathBuf },
    /// Print the notice as it stood on a day (default: today), in the ministry's layout.
    ExportNotice {
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let reg = server::open(&cli.database_url).await?;
    match cli.command {
        Command::Serve {
            addr,
            demo,
            site_root,
        } => {
            if demo
                && reg
                    .faults(true)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?
                    .is_empty()
            {
                let r = reg
                    .import_notice("system:demo", DEMO_NOTICE)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                tracing::info!(
                    events = r.events_written,
                    "demo data: imported the 2026-02-14 notice"
                );
            }
            let site_root = site_root.unwrap_or_else(server::web::default_site_root);
            if !site_root.join("pkg").join("cablewatch_bg.wasm").exists() {
                tracing::warn!(site_root = %site_root.display(), "no built site here: pages render but do not hydrate (run cargo xtask build)");
            }
            let app = server::web::router(reg, &site_root);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(database = %server::db::redact(&cli.database_url), "listening on http://{addr}");
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::ImportNotice { file } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading stdin")?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            match reg.import_notice(&actor(), &text).await {
                Ok(r) => {
                    for w in &r.warnings {
                        eprintln!("warning: {w}");
                    }
                    use shared::import::ChangeKind::*;
                    println!(
                        "imported: {} new, {} updated, {} restored, {} unchanged; {} events written",
                        r.plan.count(New),
                        r.plan.count(Updated),
                        r.plan.count(Restored),
                        r.plan.unchanged,
                        r.events_written
                    );
                    Ok(std::process::ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {}", e.message);
                    for l in &e.lines {
                        eprintln!("  {}: {l}", file.display());
                    }
                    Ok(std::process::ExitCode::from(2))
                }
            }
        }
        Command::ExportNotice { as_of } => {
            let day = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let text = reg
                .export_notice(day)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            print!("{text}");
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
