//! Notice parsing speed (issue 11.6): a notice at the size limit (1 MiB, at
//! most 2,000 lines: the real one is a few KB) parsed 20 times, beside the
//! floor any parser pays on the same text (splitting it into lines and cells).
//!
//! `cargo run --release -p cablewatch-shared --example bench_notice`

use std::time::Instant;

use shared::notice::{check_notice_size, notice_at_the_limit, parse_notice};
use shared::reference::{cables, stations};

const FIXTURE: &str = include_str!("../tests/fixtures/2026-02-14-fault-notice.txt");

fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

fn main() -> Result<(), String> {
    let cables = cables().map_err(|e| e.to_string())?;
    let stations = stations().map_err(|e| e.to_string())?;
    let text = notice_at_the_limit(FIXTURE);
    check_notice_size(&text)?;
    let lines = text.lines().count();
    let (mut parse_ms, mut floor_ms) = (Vec::new(), Vec::new());
    let mut faults = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let cells: usize = text.lines().map(|l| l.split('\t').count()).sum();
        std::hint::black_box(cells);
        floor_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let p = parse_notice(&text, &cables, &stations);
        parse_ms.push(t.elapsed().as_secs_f64() * 1e3);
        faults = p.notice.faults.len();
        std::hint::black_box(p);
    }
    let (fp50, fmax) = stats(floor_ms);
    let (pp50, pmax) = stats(parse_ms);
    println!(
        "notice: {:.2} MiB, {lines} lines, {faults} fault rows; 20 runs\n",
        text.len() as f64 / (1024.0 * 1024.0)
    );
    println!("| work | p50, ms | max, ms |\n|---|---|---|");
    println!("| split into lines and cells (floor) | {fp50:.2} | {fmax:.2} |");
    println!("| parse_notice | {pp50:.2} | {pmax:.2} |");
    Ok(())
}
