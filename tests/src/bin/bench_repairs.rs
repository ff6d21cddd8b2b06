//! The repair model's benchmark (issue 13): recompute every open fault's
//! estimate after a write (the repair board: queues, distances, the prior
//! calibrated on restored faults) for 100 open faults, beside a Monte Carlo
//! baseline of the same model (10,000 draws per fault), which also checks
//! how far the closed-form quantiles are from sampled ones.
//!
//! The faults are generated for the benchmark only (never stored).
//!
//! Usage: bench_repairs [open_faults]

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use e2e::time_ms as time;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal as Ln};
use shared::assets::{Asset, AssetKind};
use shared::fault::{Chainage, Fault, FaultKind, FaultStatus};
use shared::repair::{
    assume, board, calibrated, distance_km, own_cases, BoardInputs, LogNormal, Prior, Repair,
    ShipState, Stage,
};
use shared::roc::Eta;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

const CABLES: [&str; 8] = [
    "TPKM3", "TPKM2", "TP2", "TP3", "TDM2", "TDM3", "APCN2", "EAC1",
];

fn international(cable: &str) -> bool {
    matches!(cable, "APCN2" | "EAC1")
}

/// `n` open faults (every third booked on one of three ships) and 40
/// restored ones, detected over the year before `today`.
type Ships = Vec<(Asset, ShipState, i64)>;

fn scenario(n: usize, today: NaiveDate) -> (Vec<Fault>, Vec<Repair>, Ships) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let reference = shared::inventory::reference_assets();
    let ships: Ships = reference
        .into_iter()
        .filter(|a| a.kind == AssetKind::RepairShip)
        .enumerate()
        .map(|(i, draft)| {
            (
                Asset {
                    id: 1 + i as i64,
                    draft,
                    source: shared::assets::SOURCE_REFERENCE.into(),
                    version: 1,
                },
                ShipState::Standby,
                0,
            )
        })
        .collect();
    let mut faults = Vec::new();
    let mut repairs = Vec::new();
    for i in 0..n + 40 {
        let detected = today - chrono::Days::new(rng.gen_range(1..365));
        let restored = i >= n;
        let mut f = Fault {
            id: 1000 + i as i64,
            cable: CABLES[i % CABLES.len()].into(),
            detected_on: Some(detected),
            kind: if i % 2 == 0 {
                FaultKind::Cut
            } else {
                FaultKind::PartialDamage
            },
            description: String::new(),
            chainage: Chainage {
                place: String::new(),
                station: None,
                km: 10.0,
            },
            alternate_routes: Vec::new(),
            eta: Eta::day(detected + chrono::Days::new(30)),
            status: FaultStatus::Open,
            restored_on: None,
            notes: String::new(),
            capacity_lost_pct: None,
            provenance: "benchmark".into(),
            version: 1,
        };
        if restored {
            f.status = FaultStatus::Restored;
            f.restored_on = Some(detected + chrono::Days::new(rng.gen_range(10..150)));
        } else if i % 3 == 0 && !ships.is_empty() {
            let ship = &ships[i % ships.len()].0;
            repairs.push(Repair {
                fault_id: f.id,
                stage: Stage::ShipBooked,
                stage_on: detected + chrono::Days::new(1),
                ship_id: Some(ship.id),
                booked_on: Some(detected + chrono::Days::new(1)),
                version: 1,
            });
        }
        faults.push(f);
    }
    (faults, repairs, ships)
}

/// Where each fault is: spread over the strait.
fn position(f: &Fault) -> Option<(f64, f64)> {
    let k = (f.id % 50) as f64;
    Some((119.5 + k * 0.05, 22.5 + k * 0.06))
}

fn monsoon(month: u32) -> bool {
    matches!(month, 10..=12 | 1..=3)
}

/// The same model by sampling: P10/P50/P90 days from detection.
fn monte_carlo(
    prior: &Prior,
    f: &Fault,
    booking: Option<(u32, f64, f64)>,
    today: NaiveDate,
    rng: &mut impl Rng,
    draws: usize,
) -> Option<(f64, f64, f64)> {
    let detected = f.detected_on?;
    let age = (today - detected).num_days().max(0) as f64;
    let winter = monsoon(today.month());
    let intl = international(&f.cable);
    let permit = LogNormal::from_median(assume::PERMIT.0, assume::PERMIT.1);
    let permit = Ln::new(permit.mu, permit.sigma).ok()?;
    let mut xs: Vec<f64> = Vec::with_capacity(draws);
    match booking {
        None => {
            let mut d = prior.dist;
            if winter {
                d.sigma += assume::MONSOON_SIGMA;
            } else {
                d.mu -= assume::MONSOON.ln();
            }
            let whole = Ln::new(d.mu, d.sigma).ok()?;
            // Durations longer than the age only (rejection, bounded).
            let mut tries = 0;
            while xs.len() < draws && tries < draws * 1000 {
                tries += 1;
                let mut x = whole.sample(rng);
                if intl {
                    x += permit.sample(rng);
                }
                if x > age {
                    xs.push(x);
                }
            }
            if xs.len() < draws {
                return None;
            }
        }
        Some((ahead, distance, mobilisation)) => {
            let (median, spread) = if f.kind == FaultKind::Cut {
                assume::ON_SITE_CUT
            } else {
                assume::ON_SITE_OTHER
            };
            let mut on_site = LogNormal::from_median(median, spread);
            if winter {
                on_site.mu += assume::MONSOON.ln();
                on_site.sigma += assume::MONSOON_SIGMA;
            }
            let on_site = Ln::new(on_site.mu, on_site.sigma).ok()?;
            let fixed = mobilisation + shared::repair::transit_days(distance);
            for _ in 0..draws {
                let mut x = age + fixed;
                for _ in 0..=ahead {
                    x += on_site.sample(rng);
                }
                if intl {
                    x += permit.sample(rng);
                }
                xs.push(x);
            }
        }
    }
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    Some((q(0.1), q(0.5), q(0.9)))
}

fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("open_faults: a number")?
        .unwrap_or(100);
    let mut rows = Vec::new();
    for today in [day("2026-01-15"), day("2026-06-15")] {
        let (faults, repairs, ships) = scenario(n, today);
        let recompute = || {
            let prior = calibrated(&own_cases(&faults, &international));
            board(&BoardInputs {
                faults: &faults,
                repairs: &repairs,
                ships: &ships,
                position: &position,
                international: &international,
                today,
                prior: &prior,
            })
        };
        let b = recompute();
        let (p50, p99) = time(200, recompute);
        let prior = calibrated(&own_cases(&faults, &international));
        let queues = shared::repair::queues(&repairs);
        let booking = |f: &Fault| {
            let r = repairs.iter().find(|r| r.fault_id == f.id)?;
            let ship = ships.iter().find(|(a, _, _)| Some(a.id) == r.ship_id)?;
            let ahead = queues
                .get(&ship.0.id)
                .and_then(|q| q.iter().position(|id| *id == f.id))
                .unwrap_or(0) as u32;
            let d = position(f).map_or(0.0, |p| {
                distance_km((ship.0.draft.lon, ship.0.draft.lat), p)
            });
            Some((ahead, d, 1.0))
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let open: Vec<&Fault> = faults.iter().filter(|f| f.status.is_active()).collect();
        let mut sampled = Vec::new();
        let (mc50, mc99) = time(3, || {
            sampled = open
                .iter()
                .map(|f| monte_carlo(&prior, f, booking(f), today, &mut rng, 10_000))
                .collect::<Vec<_>>();
        });
        // How far the closed form is from the sampled quantiles.
        let mut worst: f64 = 0.0;
        for (row, mc) in b.faults.iter().zip(&sampled) {
            if let (Some(p50), Some(p90), Some((_, m50, m90))) = (row.p50_days, row.p90_days, mc) {
                worst = worst
                    .max(((p50 - m50) / m50).abs())
                    .max(((p90 - m90) / m90).abs());
            }
        }
        rows.push((
            today,
            b.faults.len(),
            prior.own,
            p50,
            p99,
            mc50,
            mc99,
            worst,
        ));
    }
    println!("repair model: recompute every open fault's estimate (release build)");
    println!(
        "| today | open faults | own cases | board p50 ms | board p99 ms | Monte Carlo 10k p50 ms | Monte Carlo p99 ms | speed-up | worst P50/P90 gap vs MC |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (today, open, own, p50, p99, mc50, mc99, worst) in rows {
        println!(
            "| {today} | {open} | {own} | {p50:.3} | {p99:.3} | {mc50:.1} | {mc99:.1} | {:.0}× | {:.1} % |",
            mc50 / p50,
            worst * 100.0
        );
    }
    Ok(())
}
