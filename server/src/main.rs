//! `cablewatch`: serve the web app, import and export the ministry's notice.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

/// mimalloc: per-thread heaps; glibc's arenas cost page renders a quarter of
/// their CPU in malloc and free under concurrent requests (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// An address (one host) or a network in CIDR notation.
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a network like 10.0.0.0/8"))
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
        /// Mark the session cookie Secure: set when users reach the server over HTTPS.
        #[arg(long, env = "CABLEWATCH_SECURE_COOKIES")]
        secure_cookies: bool,
        /// How often to look for repairs with no stage change for 14 days, in minutes.
        #[arg(long, env = "CABLEWATCH_STALL_CHECK_MINUTES", default_value_t = 60)]
        stall_check_minutes: u64,
        /// Let anyone read the alert feeds (/feeds/…: Atom and CAP 1.2) without signing in.
        #[arg(long, env = "CABLEWATCH_PUBLIC_FEEDS")]
        public_feeds: bool,
        /// SMTP relay for e-mail notifications, HOST:PORT (plain SMTP, a relay on the
        /// closed network). Without it messages are written as .eml files to --mail-outbox.
        #[arg(long, env = "CABLEWATCH_SMTP_RELAY")]
        smtp_relay: Option<String>,
        /// Where e-mail notifications are written when no relay is set.
        #[arg(long, env = "CABLEWATCH_MAIL_OUTBOX", default_value = "data/outbox")]
        mail_outbox: PathBuf,
        /// The From: address of e-mail notifications.
        #[arg(
            long,
            env = "CABLEWATCH_MAIL_FROM",
            default_value = "cablewatch@localhost"
        )]
        mail_from: String,
        /// Hosts webhooks may be sent to, comma-separated (none: no webhooks).
        #[arg(long, env = "CABLEWATCH_WEBHOOK_HOSTS", value_delimiter = ',')]
        webhook_hosts: Vec<String>,
        /// Addresses or networks (CIDR) that may scrape /metrics without signing in,
        /// comma-separated, e.g. 127.0.0.1/32,10.20.0.0/16 (admins always may).
        #[arg(long, env = "CABLEWATCH_METRICS_FROM", value_delimiter = ',', value_parser = parse_net)]
        metrics_from: Vec<ipnet::IpNet>,
    },
    /// Checks the database (SQLite integrity check, every row has its events); prints `ok`.
    DbCheck,
    /// Prints the JSON API's OpenAPI 3.1 document (as served at /api/v1/openapi.json
    /// and checked in as docs/openapi.json); needs no database.
    Openapi,
    /// Users: add, list, disable, set-role, set-password.
    #[command(subcommand)]
    User(UserCmd),
    /// Personal API tokens (sent as `Authorization: Bearer`).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Kiosk screens for briefings (read-only, briefing role).
    #[command(subcommand)]
    Kiosk(KioskCmd),
    /// Backup assets: import, export, the demo inventory, generated benchmark data.
    #[command(subcommand)]
    Assets(AssetsCmd),
    /// Import a notice pasted as text (FILE, or - for stdin). All or nothing.
    ImportNotice { file: PathBuf },
    /// Print the notice as it stood at the end of a day in Taipei (default: now), in the ministry's layout.
    ExportNotice {
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

#[derive(Subcommand)]
enum AssetsCmd {
    /// Imports CSV or GeoJSON (FILE, or - for stdin): all or nothing, every
    /// bad line named. A name already present updates that asset.
    Import {
        file: PathBuf,
        /// csv or geojson (default: judged from the text).
        #[arg(long)]
        format: Option<String>,
        /// Say what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Prints every asset as CSV or GeoJSON.
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Loads the synthetic demo inventory and the public asset facts (once).
    Demo,
    /// Adds COUNT synthetic assets (deterministic for a seed), for benchmarks.
    Generate {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Adds a user. The password is read from stdin when it is not a terminal;
    /// otherwise one is generated and printed once.
    Add {
        name: String,
        #[arg(long)]
        role: String,
    },
    /// Lists users with their roles.
    List,
    /// Disables a user: their sessions and tokens stop working at once.
    Disable { name: String },
    /// Changes a user's role.
    SetRole {
        name: String,
        #[arg(long)]
        role: String,
    },
    /// Sets a new password (stdin, or generated and printed once); ends the user's sessions.
    SetPassword { name: String },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Creates an API token for USER, printed once.
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires: Option<i64>,
    },
}

#[derive(Subcommand)]
enum KioskCmd {
    /// Creates a kiosk screen; prints its link once.
    Create {
        name: String,
        /// Days until it expires.
        #[arg(long, default_value_t = server::api::KIOSK_DEFAULT_DAYS)]
        expires: i64,
        /// Make it for this exercise: the screen shows the exercise's layer over reality.
        #[arg(long)]
        exercise: Option<i64>,
    },
}

/// A password from stdin (first line) when piped; else a generated one, printed.
fn password_input() -> anyhow::Result<(String, bool)> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Ok((server::access::generated_password(), true));
    }
    let mut s = String::new();
    std::io::stdin()
        .read_line(&mut s)
        .context("reading the password from stdin")?;
    let p = s.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        Ok((server::access::generated_password(), true))
    } else {
        Ok((p, false))
    }
}

fn role_arg(s: &str) -> anyhow::Result<shared::auth::Role> {
    shared::auth::Role::parse(s)
        .ok_or_else(|| anyhow::anyhow!("unknown role {s:?}: admin, officer, watch or briefing"))
}

fn api(e: shared::api::ApiError) -> anyhow::Error {
    anyhow::anyhow!(e.message)
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
    if let Command::Openapi = cli.command {
        use std::io::Write;
        std::io::stdout().write_all(server::openapi::json().as_bytes())?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let reg = server::open(&cli.database_url).await?;
    match cli.command {
        Command::Serve {
            addr,
            demo,
            site_root,
            secure_cookies,
            stall_check_minutes,
            public_feeds,
            smtp_relay,
            mail_outbox,
            mail_from,
            webhook_hosts,
            metrics_from,
        } => {
            let webhook_hosts: Vec<String> = webhook_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
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
            if demo {
                let added = reg.seed_demo_assets().await.map_err(api)?;
                if added > 0 {
                    tracing::info!(
                        added,
                        "demo data: synthetic asset inventory and public asset facts"
                    );
                }
            }
            let site_root = site_root.unwrap_or_else(server::web::default_site_root);
            if !site_root.join("pkg").join("cablewatch_bg.wasm").exists() {
                tracing::warn!(site_root = %site_root.display(), "no built site here: pages render but do not hydrate (run cargo xtask build)");
            }
            let sessions = server::auth::Sessions::open(&cli.database_url)
                .await
                .context("opening the session store")?;
            {
                use tower_sessions::session_store::ExpiredDeletion;
                let s = sessions.clone();
                tokio::spawn(async move {
                    if let Err(e) = s
                        .continuously_delete_expired(std::time::Duration::from_secs(300))
                        .await
                    {
                        tracing::error!(error = %e, "deleting expired sessions stopped");
                    }
                });
            }
            // Writes and the live pump run on their own thread, so a burst
            // of stream sends cannot queue a write behind it.
            let lane = server::lane::start().context("starting the write lane")?;
            let config = server::web::WebConfig {
                secure_cookies,
                write_lane: Some(lane.clone()),
                public_feeds,
                webhook_hosts: webhook_hosts.clone(),
                metrics_from,
            };
            // Notifications: planned from alerts, sent by e-mail or webhook,
            // at least once (see `deliver`). Its writes take the log's
            // writer lock like every write; its waits are on the network.
            {
                let sender = server::deliver::Sender::new(
                    reg.clone(),
                    server::deliver::Settings {
                        smtp_relay,
                        outbox_dir: mail_outbox,
                        mail_from,
                        webhook_hosts,
                    },
                )
                .map_err(|e| anyhow::anyhow!(e))?;
                tokio::spawn(sender.run());
            }
            // The live stream: on PostgreSQL, every server LISTENs for the
            // others' writes. Started on the lane, so its pump runs there.
            let pg = cli
                .database_url
                .starts_with("postgres")
                .then(|| cli.database_url.clone());
            {
                let reg = reg.clone();
                lane.spawn(async move { reg.live().start(reg.log().clone(), pg).await })
                    .await
                    .context("starting the live stream")?
                    .map_err(api)?;
            }
            // Stalled repairs: checked at start and then periodically, on the
            // lane like every write.
            {
                let reg = reg.clone();
                let every = std::time::Duration::from_secs(stall_check_minutes.max(1) * 60);
                lane.spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        match reg.check_stalled_repairs().await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(
                                alerts = n,
                                "repairs with no stage change for 14 days"
                            ),
                            Err(e) => {
                                tracing::error!(error = %e.message, "checking for stalled repairs")
                            }
                        }
                    }
                });
            }
            // Exercise injects: played at their times (checked every few
            // seconds: one query while no exercise runs), on the lane.
            {
                let reg = reg.clone();
                lane.spawn(async move {
                    let mut tick = tokio::time::interval(shared::exercise::INJECT_CHECK);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        match reg.play_injects().await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(injects = n, "exercise injects played"),
                            Err(e) => {
                                tracing::error!(error = %e.message, "playing exercise injects")
                            }
                        }
                    }
                });
            }
            let live = reg.live().clone();
            let app = server::web::router(reg, sessions, &site_root, &config);
            // No Nagle delay: a live event goes out the moment it is written.
            let listener = axum::serve::ListenerExt::tap_io(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?,
                |tcp| {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY");
                    }
                },
            );
            tracing::info!(database = %server::db::redact(&cli.database_url), "listening on http://{addr}");
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                tracing::info!("shutting down: ending live streams, finishing requests");
                // Open event streams would keep graceful shutdown waiting forever.
                live.shut_down();
            })
            .await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Assets(cmd) => assets_cmd(&reg, cmd).await,
        Command::ImportNotice { file } => {
            let text = read_input(&file)?;
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
                Err(e) => Ok(refused(&e, &file)),
            }
        }
        // Answered above, before a database is opened.
        Command::Openapi => Ok(std::process::ExitCode::SUCCESS),
        Command::DbCheck => {
            let r = reg.integrity_check().await.map_err(api)?;
            println!("{r}");
            Ok(if r == "ok" {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
        Command::User(cmd) => {
            match cmd {
                UserCmd::Add { name, role } => {
                    let role = role_arg(&role)?;
                    let (pw, generated) = password_input()?;
                    let u = reg
                        .add_user(&actor(), &name, role, &pw)
                        .await
                        .map_err(api)?;
                    println!("added {} ({})", u.name, u.role);
                    if generated {
                        println!("password (shown once): {pw}");
                    }
                }
                UserCmd::List => {
                    for u in reg.users().await.map_err(api)? {
                        let state = if u.disabled { "disabled" } else { "active" };
                        println!("{}\t{}\t{}\t{}", u.name, u.role, state, u.created_at);
                    }
                }
                UserCmd::Disable { name } => {
                    reg.disable_user(&actor(), &name).await.map_err(api)?;
                    println!("disabled {name}");
                }
                UserCmd::SetRole { name, role } => {
                    let role = role_arg(&role)?;
                    reg.set_role(&actor(), &name, role).await.map_err(api)?;
                    println!("{name} is now {role}");
                }
                UserCmd::SetPassword { name } => {
                    let (pw, generated) = password_input()?;
                    reg.set_password(&actor(), &name, &pw).await.map_err(api)?;
                    println!("password of {name} changed; their sessions have ended");
                    if generated {
                        println!("password (shown once): {pw}");
                    }
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Token(TokenCmd::Create {
            user,
            label,
            expires,
        }) => {
            let t = reg
                .create_token(&actor(), &user, &label, expires)
                .await
                .map_err(api)?;
            println!("{}", t.secret);
            eprintln!(
                "token {} for {user} (expires: {}); shown once, send it as Authorization: Bearer",
                t.id,
                t.expires_at.as_deref().unwrap_or("never")
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Kiosk(KioskCmd::Create {
            name,
            expires,
            exercise,
        }) => {
            let k = match exercise {
                Some(ex) => {
                    reg.create_exercise_kiosk(&actor(), &name, expires, ex)
                        .await
                }
                None => reg.create_kiosk(&actor(), &name, expires).await,
            }
            .map_err(api)?;
            println!("/kiosk?token={}", k.secret);
            eprintln!(
                "kiosk {} \"{name}\" until {}; open the link above on the screen (shown once)",
                k.id,
                k.expires_at.as_deref().unwrap_or("")
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::ExportNotice { as_of } => {
            // A day stands for its end in Taipei, as `?as_of=` reads it.
            let (day, at) = match as_of {
                None => (shared::history::taipei_day(&chrono::Utc::now()), None),
                Some(d) => (
                    d,
                    Some(shared::history::parse_as_of(&d.to_string()).map_err(anyhow::Error::msg)?),
                ),
            };
            let text = reg
                .export_notice(day, at)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            print!("{text}");
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// An import refused: the reason and every bad line, named after the file; exit code 2.
fn refused(e: &shared::api::ApiError, file: &std::path::Path) -> std::process::ExitCode {
    eprintln!("error: {}", e.message);
    for l in &e.lines {
        eprintln!("  {}: {l}", file.display());
    }
    std::process::ExitCode::from(2)
}

fn read_input(file: &std::path::Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

async fn assets_cmd(
    reg: &server::Registry,
    cmd: AssetsCmd,
) -> anyhow::Result<std::process::ExitCode> {
    use server::assets::ImportFormat;
    match cmd {
        AssetsCmd::Import {
            file,
            format,
            dry_run,
        } => {
            let text = read_input(&file)?;
            let format = ImportFormat::detect(format.as_deref(), &text);
            match reg.import_assets(&actor(), format, &text, !dry_run).await {
                Ok(r) => {
                    println!(
                        "{}: {} new, {} updated, {} unchanged",
                        if r.written {
                            "imported"
                        } else {
                            "dry run (nothing written)"
                        },
                        r.created,
                        r.updated,
                        r.unchanged
                    );
                    Ok(std::process::ExitCode::SUCCESS)
                }
                Err(e) => Ok(refused(&e, &file)),
            }
        }
        AssetsCmd::Export { format } => {
            let assets = reg
                .assets_matching(&Default::default(), None)
                .await
                .map_err(api)?;
            let text = match format.as_str() {
                "csv" => shared::assets::write_csv(assets.iter().map(|a| &a.draft)),
                "geojson" => format!("{}\n", shared::assets::assets_geojson(&assets)),
                other => anyhow::bail!("unknown format {other:?}: csv or geojson"),
            };
            // A closed pipe (`| head`) is the reader's choice, not an error.
            use std::io::Write;
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow::Error::new(e).context("writing to stdout"))
                }
                _ => Ok(std::process::ExitCode::SUCCESS),
            }
        }
        AssetsCmd::Demo => {
            let added = reg.seed_demo_assets().await.map_err(api)?;
            println!("added {added} assets (synthetic demo inventory and public facts)");
            Ok(std::process::ExitCode::SUCCESS)
        }
        AssetsCmd::Generate { count, seed } => {
            let drafts = tokio::task::spawn_blocking(move || {
                let mut d = shared::inventory::synthetic_inventory(seed, count);
                // Distinct names per seed, so generated sets can be stacked.
                for a in &mut d {
                    a.name = format!("{}-s{seed}", a.name);
                }
                d
            })
            .await?;
            let added = reg
                .seed_assets(&actor(), &drafts, shared::assets::SOURCE_SYNTHETIC)
                .await
                .map_err(api)?;
            println!("added {added} synthetic assets (seed {seed})");
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Ctrl-C, or SIGTERM (what service managers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
