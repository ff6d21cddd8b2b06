//! The live stream end to end, on the built binary: a short load run that
//! must lose nothing, and two servers on one PostgreSQL database.

use anyhow::{ensure, Context, Result};
use e2e::load::{self, Config, Target};
use e2e::{add_users, start_server, start_server_on, token};

#[tokio::test]
async fn a_short_load_run_loses_no_event() -> Result<()> {
    let server = start_server("load").await?;
    let officer = token(&server.db, "officer")?;
    let report = load::run(
        Target {
            addr: format!("127.0.0.1:{}", server.port),
            stream_path: "/api/v1/events".into(),
            post_path: "/api/v1/faults".into(),
            token: Some(officer),
            pid: None,
        },
        Config {
            clients: 200,
            events: 20,
            rate: 20.0,
        },
        load::fault_body,
        |m| eprintln!("   {m}"),
    )
    .await?;
    ensure!(
        report.lost == 0,
        "{} events lost; per posted event: {:?}",
        report.lost,
        report.lost_by_event
    );
    ensure!(report.dropped == 0, "{} clients dropped", report.dropped);
    ensure!(
        report.all_ms.len() == 200 * 20,
        "every client got every event"
    );
    Ok(())
}

/// `CABLEWATCH_TEST_PG` with its database name replaced by `db`, created fresh.
fn fresh_pg(db: &str) -> Result<Option<String>> {
    let Ok(pg) = std::env::var("CABLEWATCH_TEST_PG") else {
        return Ok(None);
    };
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        let ok = std::process::Command::new("psql")
            .args([&pg, "-q", "-c", &sql])
            .status()
            .context("psql")?
            .success();
        ensure!(ok, "psql {sql} failed");
    }
    let base = pg
        .rsplit_once('/')
        .map(|(b, _)| b)
        .context("a database in the URL")?;
    Ok(Some(format!("{base}/{db}")))
}

#[tokio::test]
async fn a_fault_posted_to_one_server_reaches_a_client_of_another_within_a_second() -> Result<()> {
    let Some(url) = fresh_pg(&format!("cw_e2e_two_{}", std::process::id()))? else {
        eprintln!(
            "CABLEWATCH_TEST_PG is not set: two servers need PostgreSQL (cargo xtask test sets it)"
        );
        return Ok(());
    };
    add_users(&url)?;
    let dir = std::env::temp_dir();
    let a = start_server_on(&url, dir.clone()).await?;
    let b = start_server_on(&url, dir).await?;
    let officer = token(&url, "officer")?;
    let watch = token(&url, "watch")?;
    // One client on B; the writer posts to A.
    let report = load::run_split(
        Target {
            addr: format!("127.0.0.1:{}", b.port),
            stream_path: "/api/v1/events".into(),
            post_path: "/api/v1/faults".into(),
            token: Some(watch),
            pid: None,
        },
        Target {
            addr: format!("127.0.0.1:{}", a.port),
            stream_path: "/api/v1/events".into(),
            post_path: "/api/v1/faults".into(),
            token: Some(officer),
            pid: None,
        },
        Config {
            clients: 5,
            events: 5,
            rate: 5.0,
        },
        load::fault_body,
        |m| eprintln!("   {m}"),
    )
    .await?;
    ensure!(
        report.lost == 0,
        "{} events lost across servers",
        report.lost
    );
    let worst = report.all_ms.last().copied().unwrap_or(f64::MAX);
    ensure!(
        worst < 1000.0,
        "slowest delivery across servers {worst:.0} ms"
    );
    Ok(())
}
