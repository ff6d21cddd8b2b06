//! Issue 14's benchmark (release build): `cargo xtask bench-briefing`.
//!
//! 1. `?as_of=`: the state at a moment rebuilt from a log of 100,000 events
//!    (2,000 faults, 50 revisions each), from the stored JSON text as the
//!    database returns it: parse + `state_at`, beside the baseline of
//!    applying every event in order (`State::apply`).
//! 2. The outage Gantt as SVG with plotters, beside a plain SVG of the same
//!    bars written by hand (no chart library).
//! 3. The one-page briefing: composing its SVG (the baseline), then PNG
//!    (resvg) and PDF (svg2pdf, font embedded and subset).
//!
//! Everything here is generated for the benchmark (never stored).

use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use shared::briefing::{Briefing, Change, ChangeKind, EtaLine, Headline, IslandLine};
use shared::event::{kind, Event};
use shared::fault::{Chainage, Fault, FaultKind, FaultStatus};
use shared::history::{state_at, State};
use shared::repair::Stage;
use shared::resilience::{Region, Status};
use shared::roc::Eta;

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

const CABLES: [&str; 8] = [
    "TPKM3", "TPKM2", "TP2", "TP3", "TDM2", "TDM3", "APCN2", "EAC1",
];

fn fault(id: i64, version: i64) -> Fault {
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default() + Duration::days(id % 600);
    Fault {
        id,
        cable: CABLES[id as usize % CABLES.len()].into(),
        detected_on: Some(day),
        kind: if id % 3 == 0 {
            FaultKind::Cut
        } else {
            FaultKind::PartialDamage
        },
        description: format!("距{}登陸站{}公里處", "馬祖南竿", id % 90),
        chainage: Chainage {
            place: "馬祖南竿".into(),
            station: None,
            km: (id % 90) as f64,
        },
        alternate_routes: vec![],
        eta: Eta::default(),
        status: if version % 7 == 0 {
            FaultStatus::Restored
        } else {
            FaultStatus::Open
        },
        restored_on: (version % 7 == 0).then(|| day + Duration::days(40)),
        notes: format!("revision {version}"),
        capacity_lost_pct: None,
        provenance: "bench".into(),
        version,
    }
}

fn main() -> anyhow::Result<()> {
    // 1. The fold.
    let base = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut stored: Vec<(i64, String)> = Vec::with_capacity(100_000);
    for seq in 0..100_000i64 {
        let id = seq % 2_000;
        let version = seq / 2_000 + 1;
        stored.push((seq + 1, serde_json::to_string(&fault(id, version))?));
    }
    let parse = |rows: &[(i64, String)]| -> Vec<Event> {
        rows.iter()
            .map(|(seq, json)| Event {
                seq: *seq,
                at: base + Duration::minutes(*seq),
                actor: "bench".into(),
                kind: if *seq <= 2_000 {
                    kind::FAULT_REPORTED
                } else {
                    kind::FAULT_UPDATED
                }
                .into(),
                entity_type: "fault".into(),
                entity_id: ((seq - 1) % 2_000).to_string(),
                before: None,
                after: serde_json::from_str(json).ok(),
            })
            .collect()
    };
    let events = parse(&stored);
    let mid = base + Duration::minutes(50_000);
    let end = base + Duration::minutes(100_001);
    println!("as_of over 100,000 events (2,000 faults × 50 revisions), median of 5:");
    let p = median_ms(5, || drop(parse(&stored)));
    println!("  parse the stored JSON (as read from the database)   {p:8.1} ms");
    for (label, at) in [("the middle of the log", mid), ("its end", end)] {
        let fold = median_ms(5, || drop(state_at(&events, at)));
        let replay = median_ms(5, || {
            let mut s = State::default();
            for e in events.iter().filter(|e| e.at <= at) {
                let _ = s.apply(e);
            }
        });
        println!(
            "  at {label:22} state_at {fold:7.1} ms   baseline, replay every event {replay:7.1} ms"
        );
    }
    // 1b. The same log in a real SQLite database, end to end: the read of
    // each record's last event (`Log::record_events_until`) and the fold,
    // beside the baseline of reading every event up to the moment.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(end_to_end(&stored, base, mid, end))?;
    // 2. The Gantt.
    let faults: Vec<Fault> = (0..200).map(|i| fault(i, 1)).collect();
    let to = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
    let from = to - Duration::days(730);
    let rows = shared::chart::gantt(&faults, from, to);
    let plain = || {
        let mut s =
            String::from("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"320\">");
        for (i, r) in rows.iter().enumerate() {
            s.push_str(&format!(
                "<text x=\"4\" y=\"{}\">{}</text>",
                40 + i * 28,
                r.cable
            ));
            for b in &r.bars {
                let x = 100 + (b.from - from).num_days();
                let w = (b.to - b.from).num_days().max(1);
                s.push_str(&format!(
                    "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"20\" fill=\"#c62828\"/>",
                    25 + i * 28
                ));
            }
        }
        s.push_str("</svg>");
        s
    };
    let lang = server::charts::Lang::ZhTw;
    let chart = median_ms(21, || drop(server::charts::gantt(&rows, from, to, lang)));
    let hand = median_ms(21, || drop(plain()));
    println!(
        "\noutage Gantt, 200 faults on {} cables over two years, median of 21:",
        rows.len()
    );
    println!(
        "  plotters SVG {chart:7.2} ms   baseline, hand-written SVG of the same bars {hand:7.2} ms"
    );
    // 3. The briefing page.
    let gantt = server::charts::gantt(
        &shared::chart::gantt(&faults, to - Duration::days(90), to),
        to - Duration::days(90),
        to,
        lang,
    )
    .map_err(anyhow::Error::msg)?;
    let b = briefing(to);
    let svg = server::export::briefing_svg(&b, &gantt, lang, false);
    let compose = median_ms(21, || {
        drop(server::export::briefing_svg(&b, &gantt, lang, false))
    });
    let png = median_ms(11, || drop(server::export::png(&svg)));
    let pdf = median_ms(11, || drop(server::export::pdf(&svg)));
    let pdf_bytes = server::export::pdf(&svg).map(|p| p.len()).unwrap_or(0);
    println!("\none-page briefing (A4 landscape), median of 11:");
    println!(
        "  SVG (baseline) {compose:7.2} ms   PNG 2,246 px {png:7.1} ms   PDF {pdf:7.1} ms ({} KB)",
        pdf_bytes / 1024
    );
    Ok(())
}

async fn end_to_end(
    stored: &[(i64, String)],
    base: chrono::DateTime<Utc>,
    mid: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("as-of.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let (pool, engine) = server::db::connect(&format!("sqlite:{}", path.display())).await?;
    let stamp = |seq: i64| {
        (base + Duration::minutes(seq)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    };
    let mut tx = pool.begin().await?;
    for (seq, json) in stored {
        sqlx::query(
            "INSERT INTO events (seq, at, actor, kind, entity_type, entity_id, before_json, after_json) \
             VALUES ($1, $2, 'bench', $3, 'fault', $4, NULL, $5)",
        )
        .bind(*seq)
        .bind(stamp(*seq))
        .bind(if *seq <= 2_000 {
            kind::FAULT_REPORTED
        } else {
            kind::FAULT_UPDATED
        })
        .bind(((seq - 1) % 2_000).to_string())
        .bind(json.as_str())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let log = server::log::Log::new(pool.clone(), engine);
    println!("\nthe same log in SQLite (a file, WAL), read and fold, median of 5:");
    for (label, at) in [("the middle of the log", mid), ("its end", end)] {
        let mut t = Vec::new();
        let mut records = 0;
        for _ in 0..5 {
            let s = Instant::now();
            let events = log
                .record_events_until(at)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let state = state_at(&events, at).map_err(anyhow::Error::msg)?;
            records = state.faults.len();
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        let mut b = Vec::new();
        for _ in 0..5 {
            let s = Instant::now();
            let rows = sqlx::query(
                "SELECT seq, at, actor, kind, entity_type, entity_id, NULL AS before_json, after_json \
                 FROM events WHERE at <= $1 ORDER BY seq",
            )
            .bind(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .fetch_all(&pool)
            .await?;
            let events: Vec<Event> = rows
                .iter()
                .map(|r| {
                    use sqlx::Row;
                    let json: Option<String> = r.try_get("after_json")?;
                    let seq: i64 = r.try_get("seq")?;
                    Ok(Event {
                        seq,
                        at: base + Duration::minutes(seq),
                        actor: r.try_get("actor")?,
                        kind: r.try_get("kind")?,
                        entity_type: r.try_get("entity_type")?,
                        entity_id: r.try_get("entity_id")?,
                        before: None,
                        after: json.and_then(|j| serde_json::from_str(&j).ok()),
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?;
            drop(state_at(&events, at));
            b.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        t.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        println!(
            "  at {label:22} last event per record {:7.1} ms ({records} faults)   baseline, every event {:7.1} ms",
            t[2], b[2]
        );
    }
    pool.close().await;
    Ok(())
}

fn briefing(today: NaiveDate) -> Briefing {
    let at = Utc::now();
    let eta = |c: &str, i: i64| EtaLine {
        fault_id: i,
        cable: c.into(),
        kind: FaultKind::Cut,
        stage: Stage::ShipBooked,
        official: Eta::day(today + Duration::days(10 * i)),
        p50_on: Some(today + Duration::days(12 * i)),
        p90_on: Some(today + Duration::days(30 * i)),
        optimistic: i % 2 == 0,
    };
    Briefing {
        at,
        headline: Headline {
            cables_cut: 3,
            cables_degraded: 4,
            open_faults: 11,
            islands_on_backup: 1,
            islands_short: 1,
            islands_isolated: 0,
            next_repair: Some(eta("TPKM3", 1)),
        },
        islands: Region::ALL
            .iter()
            .map(|r| IslandLine {
                region: *r,
                status: Status::Degraded,
                coverage: Some(0.8),
                capacity_gbps: 40.0,
                demand_gbps: Some(50.0),
                demand_estimated: true,
                carried_by: vec![],
            })
            .collect(),
        etas: CABLES
            .iter()
            .enumerate()
            .map(|(i, c)| eta(c, i as i64 + 1))
            .collect(),
        changes: (0..14)
            .map(|i| Change {
                at: at - Duration::hours(i),
                what: ChangeKind::FaultUpdated,
                subject: format!("{} #{i}", CABLES[i as usize % 8]),
            })
            .collect(),
        changes_total: 20,
    }
}
