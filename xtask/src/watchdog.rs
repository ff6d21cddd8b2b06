//! A deadline for a test run: a test that hangs fails the run in bounded
//! time, with the evidence needed to find why (every thread's stack of each
//! test process still running, and what PostgreSQL's sessions wait on),
//! instead of silently using up CI's time.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Runs `cmd` in a process group of its own; past `deadline`, prints what
/// its processes are doing and kills the group.
pub fn run_within(cmd: &mut Command, deadline: Duration, pg_url: Option<&str>) -> Result<()> {
    let started = Instant::now();
    eprintln!("$ {cmd:?}   (deadline {})", shown(deadline));
    let mut child = cmd
        .current_dir(crate::root())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let pgid = child.id();
    loop {
        if let Some(status) = child.try_wait()? {
            eprintln!("   ({:.1} s)", started.elapsed().as_secs_f64());
            if !status.success() {
                bail!("{cmd:?} failed with {status}");
            }
            return Ok(());
        }
        if started.elapsed() > deadline {
            eprintln!(
                "\n==> still running after {}: something hangs. What it is doing:",
                shown(deadline)
            );
            for pid in group_members(pgid) {
                dump_threads(pid);
            }
            if let Some(url) = pg_url {
                dump_postgres(url);
            }
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .status();
            let _ = child.wait();
            bail!(
                "{cmd:?} ran past its deadline of {} and was killed (stacks above)",
                shown(deadline)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn shown(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The processes in group `pgid` that are test binaries (under `deps/`).
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // Field 5 of /proc/PID/stat is the process group; the command
            // name (field 2) may hold spaces, so count after its `)`.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let group = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                .and_then(|g| g.parse::<u32>().ok());
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            group == Some(pgid) && exe.to_string_lossy().contains("/deps/")
        })
        .collect()
}

fn dump_threads(pid: u32) {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    eprintln!("\n==> process {pid}: {}", exe.display());
    if !crate::have("gdb") {
        eprintln!("(gdb is not installed: no stacks)");
        return;
    }
    let out = Command::new("timeout")
        .args(["120", "gdb", "-p", &pid.to_string(), "-batch", "-q"])
        .args(["-ex", "set pagination off", "-ex", "thread apply all bt 40"])
        .output();
    match out {
        Ok(o) => {
            // Only the frames: gdb's symbol-loading chatter is noise.
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                if line.starts_with('#') || line.starts_with("Thread ") {
                    eprintln!("{line}");
                }
            }
        }
        Err(e) => eprintln!("(gdb failed: {e})"),
    }
}

fn dump_postgres(url: &str) {
    eprintln!("\n==> PostgreSQL sessions");
    let _ = Command::new("psql")
        .arg(url)
        .args([
            "-c",
            "SELECT pid, datname, state, wait_event_type, wait_event, \
             now() - xact_start AS in_tx, left(query, 100) AS query \
             FROM pg_stat_activity WHERE datname IS NOT NULL ORDER BY xact_start",
            "-c",
            "SELECT locktype, database, objid, mode, granted, pid FROM pg_locks \
             WHERE locktype = 'advisory'",
        ])
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_deadline_is_killed_and_fails() {
        let started = Instant::now();
        let r = run_within(
            Command::new("sh").args(["-c", "sleep 30"]),
            Duration::from_secs(1),
            None,
        );
        assert!(r.is_err(), "a hung command fails the run");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(run_within(&mut Command::new("true"), Duration::from_secs(5), None).is_ok());
        assert!(run_within(&mut Command::new("false"), Duration::from_secs(5), None).is_err());
    }
}
