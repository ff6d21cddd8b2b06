//! Notice parsing speed (issue 11.6): a notice at the size limit (1 MiB, at
//! most 2,000 lines: the real one is a few KB) parsed 20 times, beside the
//! floor any parser pays on the same text (splitting it into lines and cells).
//!
//! `cargo run --release -p cablewatch-shared --example bench_notice`

use std::time::Instant;

use shared::notice::{check_notice_size, parse_notice, MAX_NOTICE_BYTES, MAX_NOTICE_LINES};
use shared::reference::{cables, stations};

const FIXTURE: &str = include_str!("../tests/fixtures/2026-02-14-fault-notice.txt");

/// The real notice with TDM2's fault rows repeated (each with a long
/// alternate-route cell) until the notice is just under both limits.
fn big_notice() -> String {
    let row = "\t\t114/10/28\t距淡水沙崙約 162 公里處斷纜\t";
    let alt = "臺馬三號海纜、微波備援、衛星備援、".repeat(10);
    let at = FIXTURE.find("3\t海峽光纜一號").unwrap_or(FIXTURE.len());
    let (head, tail) = FIXTURE.split_at(at);
    let mut rows = String::new();
    let room_lines = MAX_NOTICE_LINES - FIXTURE.lines().count() - 1;
    for _ in 0..room_lines {
        let line = format!("{row}{alt}\t\n");
        if head.len() + rows.len() + line.len() + tail.len() > MAX_NOTICE_BYTES {
            break;
        }
        rows.push_str(&line);
    }
    format!("{head}{rows}{tail}")
}

fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

fn main() -> Result<(), String> {
    let cables = cables().map_err(|e| e.to_string())?;
    let stations = stations().map_err(|e| e.to_string())?;
    let text = big_notice();
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
