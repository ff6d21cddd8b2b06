//! Crash durability against the real binary: SIGKILL while faults are being
//! posted, restart, every acknowledged fault is there, integrity check passes.
//! 20 cycles here; `cargo xtask crash-test --cycles 1000` for the long run.

use anyhow::{Context, Result};

#[tokio::test]
async fn acknowledged_faults_survive_sigkill() -> Result<()> {
    let bin = std::env::var("CABLEWATCH_BIN")
        .context("CABLEWATCH_BIN is not set: run through `cargo xtask test`")?;
    let cycles = std::env::var("CABLEWATCH_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("cablewatch-crash-{}", std::process::id()));
    let report = e2e::crash::run(std::path::Path::new(&bin), &dir, cycles).await?;
    eprintln!(
        "crash test: {} cycles, {} faults acknowledged and all found after restarts, \
         {} requests cut off by the kill, {:.1} s",
        report.cycles,
        report.acknowledged,
        report.cut_off,
        report.elapsed.as_secs_f64()
    );
    anyhow::ensure!(report.acknowledged > 0, "the client got acknowledgements");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
