//! Project automation, so a fresh machine needs only cargo:
//!
//! - `cargo xtask setup`: installs what is missing (wasm target, Chromium and
//!   chromedriver from Debian), idempotently, showing progress.
//! - `cargo xtask build [--release]`: builds the site (wasm + bindings + CSS)
//!   into `target/site` and the `cablewatch` binary. wasm-bindgen runs as a
//!   library pinned to the `wasm-bindgen` version in Cargo.lock; no cargo-leptos.
//! - `cargo xtask run`: build, then serve on 127.0.0.1:3000 with SQLite and demo data.
//! - `cargo xtask test`: everything CI runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

mod fonts;
mod watchdog;

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install missing tools (wasm target, Chromium, chromedriver).
    Setup,
    /// Build the site and the server binary.
    Build {
        #[arg(long)]
        release: bool,
    },
    /// Build the site alone (wasm, bindings, CSS; with --release also
    /// wasm-opt and the precompressed copies), not the server.
    BuildSite {
        #[arg(long)]
        release: bool,
    },
    /// Build (debug) and serve with SQLite and the demo data.
    Run {
        #[arg(long)]
        release: bool,
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: String,
    },
    /// fmt, clippy (native and wasm), cargo deny (offline), unit and
    /// integration tests (SQLite and PostgreSQL), browser and crash tests.
    Test,
    /// Supply-chain check alone: advisories (offline snapshot), licences, bans, sources.
    Deny,
    /// Rebuilds the bundled font `assets/fonts/` (a subset of Noto Sans CJK
    /// TC, SIL OFL 1.1, from Debian's fonts-noto-cjk) from the characters the
    /// project writes.
    Fonts,
    /// Rebuilds `assets/land.json` (the offline basemap) from the npm package
    /// `@geo-maps/countries-land-1km@0.6.0` (OpenStreetMap data, ODbL).
    Basemap,
    /// The map benchmark (release build): SVG elements, payload, render time
    /// per zoom preset and pan/zoom script time, each beside the same page
    /// with the asset layer off. Results go in BENCHMARKS.md.
    BenchMap {
        #[arg(long, default_value_t = 20_000)]
        assets: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Instead of timing pan/zoom steps, sample them with Chrome's
        /// profiler and print the functions with the most self time.
        #[arg(long)]
        profile: bool,
    },
    /// Retakes the README's screenshots (`docs/*.png`) in headless Chromium
    /// against the demo data.
    Screenshots,
    /// Writes `docs/openapi.json` (the JSON API's OpenAPI 3.1 document, as the
    /// code generates it) and validates it with openapi-spec-validator.
    Openapi,
    /// The live-stream load run: N SSE clients, faults posted at a steady
    /// rate, delivery latency against a bare axum SSE baseline in the same run.
    Loadtest {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Posts per second.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Run cablewatch on PostgreSQL (a fresh database) instead of SQLite.
        #[arg(long)]
        pg: bool,
        /// Instead: server memory while one CSV import of this many assets
        /// reaches every stream (beside `CABLEWATCH_BASELINE_BIN` when set).
        #[arg(long)]
        import_rows: Option<usize>,
    },
    /// Static-file throughput with `wrk -c16` (installed from Debian when
    /// missing): a signed-in request beside an anonymous one, same server.
    BenchHttp {
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Server-rendered page throughput with `wrk --latency -t1 -c4` (release
    /// server, kiosk cookie): the fault list at the demo's 11 faults and at
    /// FAULTS, a fault page, the map and the watch board, each beside a bare
    /// axum server answering the same bytes (the baseline). BENCHMARKS.md.
    BenchSsr {
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 200)]
        faults: usize,
    },
    /// Fault-post latency alone and while clients preview a notice at the
    /// size limit in a loop (release builds). Results go in BENCHMARKS.md.
    BenchWrites {
        #[arg(long, default_value_t = 300)]
        writes: usize,
        #[arg(long, default_value_t = 2)]
        previewers: usize,
    },
    /// The resilience engine (release build): recompute, what-if, N-1 and
    /// N-2 on the real graph and one with ten times the links, beside
    /// networkx (installed in a venv under target/) on the same graphs, with
    /// every maximum flow compared. Results go in BENCHMARKS.md.
    BenchResilience,
    /// The repair model (release build): every open fault's estimate
    /// recomputed for 100 open faults, beside a Monte Carlo baseline of the
    /// same model. Results go in BENCHMARKS.md.
    BenchRepairs,
    /// Issue 14's benchmark (release): `?as_of=` over 100,000 events beside
    /// replaying every event, the Gantt SVG beside a hand-written SVG, and the
    /// briefing's PNG and PDF beside composing its SVG.
    BenchBriefing,
    /// The crash-durability test for as many SIGKILL cycles as asked.
    CrashTest {
        #[arg(long, default_value_t = 1000)]
        cycles: u32,
    },
}

/// The cargo-deny release installed when missing (`--locked` first, as recorded
/// in README "Toolchain").
const CARGO_DENY_VERSION: &str = "0.20.2";

/// Installs cargo-deny if it is missing.
fn ensure_cargo_deny() -> Result<()> {
    step("setup: cargo-deny");
    let have_it = cargo()
        .args(["deny", "--version"])
        .output()
        .map(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_DENY_VERSION)
        })
        .unwrap_or(false);
    if have_it {
        eprintln!("   cargo-deny {CARGO_DENY_VERSION} already installed");
        return Ok(());
    }
    let locked = run(cargo().args([
        "install",
        "cargo-deny",
        "--version",
        CARGO_DENY_VERSION,
        "--locked",
    ]));
    if locked.is_err() {
        eprintln!("   --locked install failed; trying the same version unlocked");
        run(cargo().args(["install", "cargo-deny", "--version", CARGO_DENY_VERSION]))?;
    }
    Ok(())
}

/// The basemap's extent: the western Pacific around Taiwan (lon/lat).
const BASEMAP_BOX: (f64, f64, f64, f64) = (108.0, 10.0, 136.0, 36.0);

/// Converts the land polygons once into a compact file under assets/: only
/// polygons touching [`BASEMAP_BOX`], simplified to about 100 m, coordinates
/// rounded to 4 decimals. Repeatable; nothing is fetched at run time.
fn basemap() -> Result<()> {
    use geo::{BoundingRect, Intersects, Simplify};
    step("basemap: npm @geo-maps/countries-land-1km@0.6.0");
    let dir = root().join("target/basemap");
    std::fs::create_dir_all(&dir)?;
    let src = dir.join("node_modules/@geo-maps/countries-land-1km/map.geo.json");
    if !src.exists() {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("@geo-maps/countries-land-1km@0.6.0"))?;
    }
    let text = std::fs::read_to_string(&src).context("reading the land GeoJSON")?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let (w, s, e, n) = BASEMAP_BOX;
    let area = geo::Rect::new(geo::coord! { x: w, y: s }, geo::coord! { x: e, y: n });
    let mut rings: Vec<Vec<[f64; 2]>> = Vec::new();
    let empty = Vec::new();
    for f in v["features"].as_array().unwrap_or(&empty) {
        let g = &f["geometry"];
        let polys: Vec<&serde_json::Value> = match g["type"].as_str() {
            Some("Polygon") => vec![&g["coordinates"]],
            Some("MultiPolygon") => g["coordinates"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            _ => continue,
        };
        for poly in polys {
            // Outer rings only: lakes do not matter at this scale.
            let Some(outer) = poly.get(0).and_then(|r| r.as_array()) else {
                continue;
            };
            let coords: Vec<geo::Coord> = outer
                .iter()
                .filter_map(|p| {
                    Some(geo::coord! { x: p.get(0)?.as_f64()?, y: p.get(1)?.as_f64()? })
                })
                .collect();
            let line = geo::LineString::new(coords);
            let Some(bb) = line.bounding_rect() else {
                continue;
            };
            if !bb.intersects(&area) {
                continue;
            }
            let simple = line.simplify(0.001);
            if simple.0.len() < 4 {
                continue;
            }
            let r = |x: f64| (x * 10_000.0).round() / 10_000.0;
            rings.push(simple.0.iter().map(|c| [r(c.x), r(c.y)]).collect());
        }
    }
    let out = serde_json::json!({
        "source": "OpenStreetMap contributors, via npm @geo-maps/countries-land-1km@0.6.0",
        "licence": "ODbL 1.0 (attribution required)",
        "bbox": [w, s, e, n],
        "simplified_deg": 0.001,
        "rings": rings,
    });
    let path = root().join("assets/land.json");
    std::fs::write(&path, serde_json::to_string(&out)?)?;
    eprintln!(
        "   {}: {} rings, {} points, {} KB",
        path.display(),
        rings.len(),
        rings.iter().map(Vec::len).sum::<usize>(),
        std::fs::metadata(&path)?.len() / 1024
    );
    Ok(())
}

/// Every advisory exception in deny.toml carries "until YYYY-MM-DD"; a past
/// date fails the run so the exception is looked at again.
fn check_exception_expiry() -> Result<()> {
    let text = std::fs::read_to_string(root().join("deny.toml")).context("reading deny.toml")?;
    let today = Command::new("date").args(["-u", "+%F"]).output()?;
    let today = String::from_utf8_lossy(&today.stdout).trim().to_string();
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with("{ id ="))
    {
        let Some(until) = line
            .split("until ")
            .nth(1)
            .map(|r| r.get(..10).unwrap_or(r))
        else {
            bail!("deny.toml exception without an expiry (\"until YYYY-MM-DD\"): {line}");
        };
        if until < today.as_str() {
            bail!("deny.toml exception expired on {until}: {line}");
        }
        eprintln!("   exception valid until {until}");
    }
    Ok(())
}

/// `cargo deny check` against the offline RustSec snapshot in
/// `../shared/advisory-db`, copied where cargo-deny looks for its database.
fn deny() -> Result<()> {
    ensure_cargo_deny()?;
    // cargo-deny reads the metadata of every platform's dependencies; a
    // fresh machine has only downloaded its own platform's crates.
    step("fetch: every platform's crates (for cargo-deny)");
    run(cargo().args(["fetch", "--locked"]))?;
    step("cargo deny (advisories offline, licences, bans, sources)");
    let Some(snapshot) = advisory_snapshot() else {
        // Without a snapshot the advisory check cannot run offline; everything
        // else still must pass. Said loudly so nobody reads it as a clean bill.
        eprintln!(
            "\n!!! WARNING: no RustSec advisory-db snapshot found (looked at $CABLEWATCH_ADVISORY_DB, \
             ../shared/advisory-db and /work/shared/advisory-db); advisories NOT checked\n"
        );
        return run(cargo().args(["deny", "--offline", "check", "licenses", "bans", "sources"]));
    };
    eprintln!("   advisory-db snapshot: {}", snapshot.display());
    check_exception_expiry()?;
    // cargo-deny reads its database from a git checkout named after the URL in
    // deny.toml; the snapshot is committed there once, dated as the snapshot.
    let db = root().join("target/advisory-dbs/advisory-db-3157b0e258782691");
    if !db.join(".git").is_dir() {
        let _ = std::fs::remove_dir_all(&db);
        std::fs::create_dir_all(&db)?;
        run(Command::new("cp")
            .args(["-R"])
            .arg(snapshot.join("crates"))
            .arg(snapshot.join("rust"))
            .arg(&db))?;
        let date = "2026-08-21T00:00:00Z";
        let git = |args: &[&str]| {
            let mut c = Command::new("git");
            c.arg("-C")
                .arg(&db)
                .args(args)
                .env("GIT_AUTHOR_NAME", "advisory-db snapshot")
                .env("GIT_AUTHOR_EMAIL", "snapshot@localhost")
                .env("GIT_COMMITTER_NAME", "advisory-db snapshot")
                .env("GIT_COMMITTER_EMAIL", "snapshot@localhost")
                .env("GIT_AUTHOR_DATE", date)
                .env("GIT_COMMITTER_DATE", date);
            c
        };
        run(&mut git(&["init", "-q"]))?;
        run(&mut git(&["add", "-A"]))?;
        run(&mut git(&[
            "commit",
            "-q",
            "-m",
            "RustSec advisory-db snapshot of 2026-08-21",
        ]))?;
    }
    run(cargo().args(["deny", "--offline", "check"]))
}

/// The offline RustSec snapshot: `$CABLEWATCH_ADVISORY_DB`, else beside the
/// checkout (`../shared/advisory-db`), else the workplace copy.
fn advisory_snapshot() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("CABLEWATCH_ADVISORY_DB")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(root().join("../shared/advisory-db"));
    candidates.push(PathBuf::from("/work/shared/advisory-db"));
    candidates.into_iter().find(|c| c.join("crates").is_dir())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn step(name: &str) {
    eprintln!("\n==> {name}");
}

fn run(cmd: &mut Command) -> Result<()> {
    let started = Instant::now();
    eprintln!("$ {:?}", cmd);
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    eprintln!("   ({:.1} s)", started.elapsed().as_secs_f64());
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn have(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The checked-in OpenAPI document (the server's test fails when it is stale).
const OPENAPI_DOC: &str = "docs/openapi.json";

/// The OpenAPI validator (PyPI), in a venv under target/.
const OPENAPI_VALIDATOR: &str = "openapi-spec-validator==0.9.0";

/// Validates the checked-in document against the OpenAPI 3.1 specification.
fn validate_openapi() -> Result<()> {
    let python = python_venv("openapi", &[OPENAPI_VALIDATOR])?;
    step(&format!(
        "openapi: {OPENAPI_DOC} validates ({OPENAPI_VALIDATOR})"
    ));
    run(Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(root().join(OPENAPI_DOC)))
}

/// The SMTP server the notification tests send to.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

fn setup(browser: bool) -> Result<()> {
    step("setup: wasm32 target");
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed")?;
    if String::from_utf8_lossy(&targets.stdout).contains("wasm32-unknown-unknown") {
        eprintln!("   wasm32-unknown-unknown already installed");
    } else {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    step("setup: libxml2-utils (xmllint: the feed tests check CAP messages against the OASIS schema)");
    if have("xmllint") {
        eprintln!("   xmllint already installed");
    } else {
        apt_install("libxml2-utils")?;
    }
    // The notification tests' SMTP server (aiosmtpd, started by the tests).
    python_venv("peers", &[AIOSMTPD])?;
    if browser {
        step("setup: Chromium and chromedriver (Debian packages)");
        if have("chromium") && have("chromedriver") {
            eprintln!("   chromium and chromedriver already installed");
        } else {
            apt_install("chromium chromium-driver")?;
        }
        step("setup: poppler-utils (pdftotext, pdffonts: the export tests read the PDF)");
        if have("pdftotext") && have("pdffonts") {
            eprintln!("   poppler-utils already installed");
        } else {
            apt_install("poppler-utils")?;
        }
        step(&format!(
            "setup: npm axe-core@{AXE_VERSION} (accessibility checks in the browser tests)"
        ));
        npm_package("axe-core", AXE_VERSION)?;
    }
    step(&format!(
        "setup: npm binaryen@{BINARYEN_VERSION} (wasm-opt for release builds; not Debian's 108, which breaks hydration)"
    ));
    npm_package("binaryen", BINARYEN_VERSION)?;
    Ok(())
}

/// Installs `name@version` from npm under target/npm, unless it is there.
fn npm_package(name: &str, version: &str) -> Result<()> {
    let dir = root().join("target/npm");
    let installed = dir.join("node_modules").join(name).join("package.json");
    let have_it = std::fs::read_to_string(&installed)
        .map(|t| t.contains(&format!("\"version\": \"{version}\"")))
        .unwrap_or(false);
    if have_it {
        eprintln!("   {name} {version} already installed");
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(format!("{name}@{version}")))
}

/// The binaryen release whose wasm-opt optimises the release bundle (npm:
/// it runs on node, the same on every machine).
const BINARYEN_VERSION: &str = "132.0.0";

/// The axe-core release the browser tests run (npm).
const AXE_VERSION: &str = "4.14.1";

/// Installs Debian packages (through sudo when not root), showing apt's progress.
fn apt_install(packages: &str) -> Result<()> {
    let sudo = if have("sudo") && !is_root() {
        "sudo "
    } else {
        ""
    };
    run(Command::new("sh").args([
        "-c",
        &format!(
            "{sudo}apt-get update && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y {packages}"
        ),
    ]))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn build_site(release: bool) -> Result<()> {
    let root = root();
    let profile = if release { "wasm-release" } else { "dev" };
    step("build: wasm (frontend, hydrate)");
    // `--cfg erase_components` comes from .cargo/config.toml, for the
    // server's build too (the markup must match on both sides).
    run(cargo().args([
        "build",
        "-p",
        "cablewatch-frontend",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ]))?;
    let dir = if release { "wasm-release" } else { "debug" };
    let wasm = root
        .join("target/wasm32-unknown-unknown")
        .join(dir)
        .join("cablewatch.wasm");
    let pkg = root.join("target/site/pkg");
    std::fs::create_dir_all(&pkg)?;
    step("build: wasm-bindgen (library, pinned to Cargo.lock)");
    let started = Instant::now();
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&wasm)
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .out_name("cablewatch")
        .debug(!release)
        .generate(&pkg)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen: {e}"))?;
    // Leptos 0.8's hydration script loads /pkg/<name>.js and /pkg/<name>_bg.wasm.
    std::fs::copy(root.join("assets/style.css"), pkg.join("cablewatch.css"))?;
    std::fs::copy(root.join("assets/favicon.svg"), pkg.join("favicon.svg"))?;
    // A debug build must never be served a release build's compressed copies.
    for entry in std::fs::read_dir(&pkg)? {
        let path = entry?.path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            std::fs::remove_file(&path)?;
        }
    }
    if release {
        wasm_opt(&pkg.join("cablewatch_bg.wasm"))?;
        step("build: precompressed .br and .gz copies of the site files");
        for name in [
            "cablewatch_bg.wasm",
            "cablewatch.js",
            "cablewatch.css",
            "favicon.svg",
        ] {
            let sizes = compress(&pkg.join(name))?;
            eprintln!(
                "   {name}: {} KB raw, {} KB gzip, {} KB brotli",
                sizes.0 / 1024,
                sizes.1 / 1024,
                sizes.2 / 1024
            );
        }
    }
    let size = std::fs::metadata(pkg.join("cablewatch_bg.wasm"))?.len();
    eprintln!(
        "   target/site/pkg: cablewatch_bg.wasm {} KB ({:.1} s)",
        size / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `wasm-opt -Oz` (binaryen from npm, see [`BINARYEN_VERSION`]) in place,
/// with the features rustc's wasm32 target emits. Names and debug sections
/// are dropped (no `-g`).
fn wasm_opt(wasm: &Path) -> Result<()> {
    step(&format!(
        "build: wasm-opt -Oz (binaryen {BINARYEN_VERSION}, npm)"
    ));
    npm_package("binaryen", BINARYEN_VERSION)?;
    let bin = root().join("target/npm/node_modules/.bin/wasm-opt");
    let before = std::fs::metadata(wasm)?.len();
    let out = wasm.with_extension("opt.wasm");
    let started = Instant::now();
    run(Command::new(&bin)
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
            "-o",
        ])
        .arg(&out)
        .arg(wasm))?;
    std::fs::rename(&out, wasm)?;
    eprintln!(
        "   {} KB → {} KB ({:.1} s)",
        before / 1024,
        std::fs::metadata(wasm)?.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes `FILE.gz` (gzip -9) and `FILE.br` (brotli 11) beside `file` for
/// the server to send as they are; returns (raw, gzip, brotli) sizes.
fn compress(file: &Path) -> Result<(usize, usize, usize)> {
    use std::io::Write;
    let raw = std::fs::read(file)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw)?;
    let gz = gz.finish()?;
    let mut br = Vec::new();
    {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut raw.as_slice(), &mut br, &params)?;
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .context("a file name")?;
    std::fs::write(file.with_file_name(format!("{name}.gz")), &gz)?;
    std::fs::write(file.with_file_name(format!("{name}.br")), &br)?;
    Ok((raw.len(), gz.len(), br.len()))
}

fn build(release: bool) -> Result<()> {
    setup(false)?;
    build_site(release)?;
    step("build: server");
    let mut c = cargo();
    c.args(["build", "-p", "cablewatch-server", "--bin", "cablewatch"]);
    if release {
        c.arg("--release");
    }
    run(&mut c)
}

/// A PostgreSQL URL for the tests: `CABLEWATCH_TEST_PG` if set, else the
/// server on 127.0.0.1:5432 if one answers, else a private cluster started
/// from Debian's packages under target/pg (stopped again by the caller).
fn postgres() -> Result<(String, Option<PathBuf>)> {
    if let Ok(url) = std::env::var("CABLEWATCH_TEST_PG") {
        return Ok((url, None));
    }
    let ready = |port: &str| {
        Command::new("pg_isready")
            .args(["-q", "-h", "127.0.0.1", "-p", port])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if ready("5432") {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE cablewatch_test",
            ])
            .output();
        return Ok((
            "postgres://postgres@127.0.0.1:5432/cablewatch_test".into(),
            None,
        ));
    }
    step("setup: private PostgreSQL cluster");
    if !have("pg_ctl") && !Path::new("/usr/lib/postgresql").exists() {
        run(Command::new("sh").args([
            "-c",
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql",
        ]))?;
    }
    let bin = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .max()
        .context("no PostgreSQL under /usr/lib/postgresql")?;
    let dir = root().join("target/pg");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sock"))?;
    run(Command::new("chown").args(["-R", "postgres"]).arg(&dir))?;
    let as_pg = |args: Vec<String>| {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    };
    let d = dir.display().to_string();
    run(&mut as_pg(vec![
        bin.join("initdb").display().to_string(),
        "-D".into(),
        format!("{d}/data"),
        "-U".into(),
        "postgres".into(),
        "--auth=trust".into(),
        "-E".into(),
        "UTF8".into(),
        "--no-sync".into(),
    ]))?;
    run(&mut as_pg(vec![
        bin.join("pg_ctl").display().to_string(),
        "-D".into(),
        format!("{d}/data"),
        "-l".into(),
        format!("{d}/log"),
        "-w".into(),
        "-o".into(),
        format!("-p 5433 -k {d}/sock -c listen_addresses=127.0.0.1 -c fsync=off"),
        "start".into(),
    ]))?;
    run(Command::new("psql").args([
        "-h",
        "127.0.0.1",
        "-p",
        "5433",
        "-U",
        "postgres",
        "-c",
        "CREATE DATABASE cablewatch_test",
    ]))?;
    Ok((
        "postgres://postgres@127.0.0.1:5433/cablewatch_test".into(),
        Some(bin.join("pg_ctl")),
    ))
}

/// Demo users, one per role, with fresh generated passwords printed at each
/// start (the database keeps only their argon2id hashes).
fn demo_users(bin: &Path) -> Result<()> {
    step("demo users (passwords are new at every start)");
    let listed = Command::new(bin)
        .args(["user", "list"])
        .current_dir(root())
        .output()
        .context("cablewatch user list")?;
    let existing = String::from_utf8_lossy(&listed.stdout).to_string();
    for role in ["admin", "officer", "watch", "briefing"] {
        let name = format!("demo-{role}");
        let known = existing
            .lines()
            .any(|l| l.split('\t').next() == Some(name.as_str()));
        let args: Vec<&str> = if known {
            vec!["user", "set-password", &name]
        } else {
            vec!["user", "add", &name, "--role", role]
        };
        // An empty line on stdin asks cablewatch to generate and print a password.
        let out = Command::new(bin)
            .args(&args)
            .current_dir(root())
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cablewatch {args:?}"))?;
        if !out.status.success() {
            bail!(
                "cablewatch {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pw = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| {
                l.strip_prefix("password (shown once): ")
                    .map(str::to_string)
            })
            .unwrap_or_default();
        eprintln!("   {name:<16} {role:<9} {pw}");
    }
    Ok(())
}

/// Stops the private PostgreSQL cluster [`postgres`] started, if it did.
fn stop_postgres(pg_ctl: Option<PathBuf>) {
    if let Some(pg_ctl) = pg_ctl {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_ctl)
            .args(["-D"])
            .arg(root().join("target/pg/data"))
            .args(["-m", "fast", "stop"])
            .status();
    }
}

fn test() -> Result<()> {
    let started = Instant::now();
    setup(true)?;
    step("fmt");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    step("clippy: server side (native)");
    run(cargo().args([
        "clippy",
        "-p",
        "cablewatch-shared",
        "-p",
        "cablewatch-app",
        "-p",
        "cablewatch-server",
        "-p",
        "cablewatch-e2e",
        "-p",
        "xtask",
        "--all-targets",
        "--features",
        "cablewatch-app/ssr",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("clippy: wasm side (hydrate)");
    run(cargo().args([
        "clippy",
        "-p",
        "cablewatch-frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    deny()?;
    validate_openapi()?;
    // Only the site here: `cargo test` builds target/debug/cablewatch for the
    // server's integration tests with the same features, so it is built once.
    build_site(false)?;
    let (pg_url, pg_ctl) = postgres()?;
    // The packages every test step names: the same features, one build.
    let packages = [
        "-p",
        "cablewatch-shared",
        "-p",
        "cablewatch-server",
        "-p",
        "cablewatch-e2e",
    ];
    step("tests: build");
    run(cargo().args(["test", "--no-run"]).args(packages))?;
    let minutes = |var: &str, default: u64| {
        let m = std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default);
        std::time::Duration::from_secs(60 * m)
    };
    step("tests: unit, integration (SQLite and PostgreSQL), browser");
    let result = watchdog::run_within(
        cargo()
            .args(["test", "--no-fail-fast"])
            .args(packages)
            .env("CABLEWATCH_TEST_PG", &pg_url)
            .env("CABLEWATCH_BIN", root().join("target/debug/cablewatch"))
            .env("CABLEWATCH_SITE_ROOT", root().join("target/site")),
        // About 6 min on a 2-core machine.
        minutes("CABLEWATCH_TEST_DEADLINE_MIN", 20),
        Some(&pg_url),
    );
    // The load tests saturate the machine on purpose: alone, after the rest
    // (the same build: no recompilation).
    let load = result.and_then(|()| {
        step("tests: load (8 writers and 50 readers for 30 s, SQLite and PostgreSQL), alone");
        watchdog::run_within(
            cargo()
                .arg("test")
                .args(packages)
                .args(["--test", "hardening", "--", "--ignored"])
                .env("CABLEWATCH_TEST_PG", &pg_url),
            // About 70 s.
            minutes("CABLEWATCH_LOAD_DEADLINE_MIN", 6),
            Some(&pg_url),
        )
    });
    stop_postgres(pg_ctl);
    load?;
    eprintln!(
        "\nall checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Setup => setup(true),
        Cmd::Build { release } => build(release),
        Cmd::BuildSite { release } => {
            setup(false)?;
            build_site(release)
        }
        Cmd::Run { release, addr } => {
            build(release)?;
            let dir = if release { "release" } else { "debug" };
            step(&format!(
                "serving on http://{addr} (SQLite data/cablewatch.db, demo data)"
            ));
            let bin = root().join("target").join(dir).join("cablewatch");
            demo_users(&bin)?;
            run(Command::new(&bin)
                .args(["serve", "--demo", "--addr", &addr])
                .env("CABLEWATCH_SITE_ROOT", root().join("target/site")))
        }
        Cmd::Test => test(),
        Cmd::Deny => deny(),
        Cmd::Basemap => basemap(),
        Cmd::Fonts => fonts::fonts(),
        Cmd::BenchMap {
            assets,
            runs,
            profile,
        } => {
            build(true)?;
            step(&format!(
                "map benchmark: {assets} assets, {runs} requests per page"
            ));
            run(cargo()
                .args([
                    "run",
                    "--release",
                    "-p",
                    "cablewatch-e2e",
                    "--bin",
                    "bench-map",
                    "--",
                    "--assets",
                    &assets.to_string(),
                    "--runs",
                    &runs.to_string(),
                ])
                .args(profile.then_some("--profile"))
                .env("CABLEWATCH_BIN", root().join("target/release/cablewatch"))
                .env("CABLEWATCH_SITE_ROOT", root().join("target/site")))
        }
        Cmd::Openapi => {
            step("openapi: docs/openapi.json from the code");
            run(cargo().args(["build", "-p", "cablewatch-server", "--bin", "cablewatch"]))?;
            let out = Command::new(root().join("target/debug/cablewatch"))
                .arg("openapi")
                .output()
                .context("running cablewatch openapi")?;
            if !out.status.success() {
                bail!(
                    "cablewatch openapi: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::fs::write(root().join(OPENAPI_DOC), &out.stdout)?;
            eprintln!("   wrote {OPENAPI_DOC} ({} bytes)", out.stdout.len());
            validate_openapi()
        }
        Cmd::Screenshots => {
            build(false)?;
            step(
                "setup: a font with Traditional Chinese (Debian fonts-noto-cjk), for the pictures",
            );
            let has_zh = Command::new("fc-list")
                .arg(":lang=zh-tw")
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(false);
            if has_zh {
                eprintln!("   a zh-TW font is installed");
            } else {
                apt_install("fonts-noto-cjk")?;
            }
            step(
                "screenshots: docs/screenshot.png, docs/map.png, docs/watch.png, docs/briefing.png",
            );
            run(cargo()
                .args(["run", "-p", "cablewatch-e2e", "--bin", "screenshots"])
                .env("CABLEWATCH_BIN", root().join("target/debug/cablewatch"))
                .env("CABLEWATCH_SITE_ROOT", root().join("target/site")))
        }
        Cmd::BenchHttp { seconds } => bench_http(seconds),
        Cmd::BenchSsr { seconds, faults } => bench_ssr(seconds, faults),
        Cmd::BenchResilience => {
            let python = python_venv("bench", &["networkx==3.6.1"])?;
            step("build: bench_resilience (release)");
            run(cargo().args([
                "build",
                "--release",
                "-p",
                "cablewatch-e2e",
                "--bin",
                "bench_resilience",
            ]))?;
            step("bench: resilience engine beside networkx");
            run(Command::new(root().join("target/release/bench_resilience"))
                .arg(&python)
                .arg(root().join("tests/bench/resilience_networkx.py")))
        }
        Cmd::BenchBriefing => {
            step("build: bench_briefing (release)");
            run(cargo().args([
                "build",
                "--release",
                "-p",
                "cablewatch-server",
                "--example",
                "bench_briefing",
            ]))?;
            step("bench: as_of fold, charts, briefing export");
            run(&mut Command::new(
                root().join("target/release/examples/bench_briefing"),
            ))
        }
        Cmd::BenchRepairs => {
            step("build: bench_repairs (release)");
            run(cargo().args([
                "build",
                "--release",
                "-p",
                "cablewatch-e2e",
                "--bin",
                "bench_repairs",
            ]))?;
            step("bench: repair model, 100 open faults, beside a Monte Carlo baseline");
            run(Command::new(root().join("target/release/bench_repairs")).arg("100"))
        }
        Cmd::BenchWrites { writes, previewers } => {
            release_server_and_tool("bench_writes")?;
            step(&format!(
                "bench: {writes} fault posts alone, then with {previewers} notice previews looping"
            ));
            run(Command::new(root().join("target/release/bench_writes"))
                .args([writes.to_string(), previewers.to_string()])
                .env("CABLEWATCH_BIN", root().join("target/release/cablewatch"))
                .env("RUST_LOG", "warn"))
        }
        Cmd::Loadtest {
            clients,
            events,
            rate,
            pg,
            import_rows,
        } => {
            setup(false)?;
            release_server_and_tool("loadtest")?;
            let mut args = vec![
                "--clients".to_string(),
                clients.to_string(),
                "--events".to_string(),
                events.to_string(),
                "--rate".to_string(),
                rate.to_string(),
            ];
            if let Some(rows) = import_rows {
                args.extend(["--import-rows".to_string(), rows.to_string()]);
            }
            let mut pg_ctl = None;
            if pg {
                let (url, ctl) = postgres()?;
                pg_ctl = ctl;
                let db = format!("cw_load_{}", std::process::id());
                for sql in [
                    format!("DROP DATABASE IF EXISTS {db}"),
                    format!("CREATE DATABASE {db}"),
                ] {
                    run(Command::new("psql").args([url.as_str(), "-q", "-c", &sql]))?;
                }
                let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
                args.extend(["--database-url".to_string(), format!("{base}/{db}")]);
            }
            step(&format!(
                "load run: {clients} clients, {events} events at {rate}/s"
            ));
            let result = run(Command::new(root().join("target/release/loadtest"))
                .args(&args)
                .env("CABLEWATCH_BIN", root().join("target/release/cablewatch")));
            stop_postgres(pg_ctl);
            result
        }
        Cmd::CrashTest { cycles } => {
            step(&format!("crash test: {cycles} SIGKILL cycles"));
            run(cargo()
                .args([
                    "test",
                    "-p",
                    "cablewatch-e2e",
                    "--test",
                    "crash",
                    "--",
                    "--nocapture",
                ])
                .env("CABLEWATCH_CRASH_CYCLES", cycles.to_string())
                .env("CABLEWATCH_BIN", root().join("target/debug/cablewatch")))
        }
    }
}

/// `cargo xtask bench-http`: a release server on a fresh SQLite database
/// serving one site file; `wrk -t2 -c16` on it anonymously, then with a
/// signed-in session cookie (which must cost no database write: a read
/// writes nothing), side by side.
/// Builds the release server and one release tool of the e2e crate: two
/// builds, each with its own package's features, so the server binary is the
/// same one `build --release` and `bench-map` make (one command would unify
/// features and rebuild it).
fn release_server_and_tool(tool: &str) -> Result<()> {
    release_server()?;
    step(&format!("build: {tool} (release)"));
    run(cargo().args(["build", "--release", "-p", "cablewatch-e2e", "--bin", tool]))
}

/// A Python venv under `target/venv-NAME` with `packages` installed (once;
/// pip skips what is there). Returns its interpreter.
fn python_venv(name: &str, packages: &[&str]) -> Result<PathBuf> {
    let dir = root().join(format!("target/venv-{name}"));
    let python = dir.join("bin/python");
    if !python.exists() {
        step(&format!("setup: Python venv {}", dir.display()));
        run(Command::new("python3").arg("-m").arg("venv").arg(&dir))?;
    }
    step(&format!("setup: pip install {}", packages.join(" ")));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "on",
        ])
        .args(packages))?;
    Ok(python)
}

/// Builds the release `cablewatch` binary alone.
fn release_server() -> Result<()> {
    step("build: server (release)");
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "cablewatch-server",
        "--bin",
        "cablewatch",
    ]))
}

/// One wrk run: requests/s, p50 and p99 in ms.
struct Wrk {
    rps: f64,
    p50: f64,
    p99: f64,
}

fn wrk(seconds: u32, url: &str, cookie: Option<&str>) -> Result<Wrk> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c4", "--latency", &format!("-d{seconds}s")]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = cmd.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    anyhow::ensure!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk {url}: answers other than 2xx or socket errors:\n{text}"
    );
    let ms = |pct: &str| -> Result<f64> {
        let v = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(pct))
            .map(str::trim)
            .with_context(|| format!("no {pct} line in wrk's output: {text}"))?;
        let (num, factor) = if let Some(n) = v.strip_suffix("us") {
            (n, 0.001)
        } else if let Some(n) = v.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = v.strip_suffix('s') {
            (n, 1000.0)
        } else {
            bail!("wrk latency {v:?}")
        };
        Ok(num.parse::<f64>()? * factor)
    };
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no Requests/sec in wrk's output: {text}"))?;
    Ok(Wrk {
        rps,
        p50: ms("50%")?,
        p99: ms("99%")?,
    })
}

/// `curl` with a cookie or bearer token: the body.
fn curl(url: &str, header: &str, data: Option<&str>) -> Result<String> {
    let mut c = Command::new("curl");
    c.args(["-s", "--fail-with-body", "-H", header]);
    if let Some(d) = data {
        c.args(["-H", "content-type: application/json", "--data", d]);
    }
    let out = c.arg(url).output()?;
    anyhow::ensure!(
        out.status.success(),
        "curl {url} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// The session cookie (`name=value`) in curl's dumped response head.
fn session_cookie(head: &[u8], what: &str) -> Result<String> {
    let head = String::from_utf8_lossy(head);
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or_default().to_string())
        })
        .with_context(|| format!("{what} gave no cookie: {head}"))
}

fn wait_listening(addr: &str) -> Result<()> {
    let until = Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        anyhow::ensure!(Instant::now() < until, "{addr} did not listen");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(())
}

fn free_addr() -> Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Ok(format!("127.0.0.1:{port}"))
}

fn bench_ssr(seconds: u32, faults: usize) -> Result<()> {
    if !have("wrk") {
        step("setup: wrk (Debian package)");
        apt_install("wrk")?;
    }
    release_server()?;
    step("build: the baseline, server/examples/bare_page.rs (release)");
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "cablewatch-server",
        "--example",
        "bare_page",
    ]))?;
    let bin = root().join("target/release/cablewatch");
    let bare = root().join("target/release/examples/bare_page");
    let dir = std::env::temp_dir().join(format!("cablewatch-bench-ssr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("site/pkg"))?;
    let db = format!("sqlite://{}/cw.db", dir.display());
    let cli = |args: &[&str], stdin: Option<&str>| -> Result<String> {
        let mut c = Command::new(&bin);
        c.args(args)
            .env("CABLEWATCH_DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn()?;
        if let (Some(mut i), Some(text)) = (child.stdin.take(), stdin) {
            use std::io::Write;
            writeln!(i, "{text}")?;
        }
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "cablewatch {args:?} failed");
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    cli(
        &["user", "add", "officer", "--role", "officer"],
        Some("bench password, not a secret"),
    )?;
    let token = cli(&["token", "create", "officer"], None)?;
    let link = cli(&["kiosk", "create", "bench wall"], None)?;
    let addr = free_addr()?;
    let mut server = Command::new(&bin)
        .args(["serve", "--demo", "--addr", &addr, "--site-root"])
        .arg(dir.join("site"))
        .env("CABLEWATCH_DATABASE_URL", &db)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let mut rows: Vec<(String, usize, Wrk, Wrk)> = Vec::new();
    let result = (|| -> Result<()> {
        wait_listening(&addr)?;
        let out = Command::new("curl")
            .args(["-s", "-D", "-", "-o", "/dev/null"])
            .arg(format!("http://{addr}{link}"))
            .output()?;
        let cookie = session_cookie(&out.stdout, "the kiosk link")?;
        let bearer = format!("authorization: Bearer {token}");
        let list: serde_json::Value = serde_json::from_str(&curl(
            &format!("http://{addr}/api/v1/faults?status=all"),
            &bearer,
            None,
        )?)?;
        let listed = list.as_array().map_or(0, Vec::len);
        let first = list
            .get(0)
            .and_then(|f| f["id"].as_i64())
            .context("the demo has faults")?;
        let measure =
            |name: String, path: &str, rows: &mut Vec<(String, usize, Wrk, Wrk)>| -> Result<()> {
                let url = format!("http://{addr}{path}");
                let page = curl(&url, &format!("cookie: {cookie}"), None)?;
                anyhow::ensure!(page.contains("</html>"), "{path}: not a whole page");
                let file = dir.join("page.html");
                std::fs::write(&file, &page)?;
                step(&format!("wrk {name}: cablewatch"));
                let ours = wrk(seconds, &url, Some(&cookie))?;
                let base_addr = free_addr()?;
                let mut baseline = Command::new(&bare).arg(&base_addr).arg(&file).spawn()?;
                let theirs = (|| {
                    wait_listening(&base_addr)?;
                    step(&format!(
                        "wrk {name}: bare axum, the same {} bytes",
                        page.len()
                    ));
                    wrk(seconds, &format!("http://{base_addr}/"), None)
                })();
                let _ = baseline.kill();
                let _ = baseline.wait();
                rows.push((name, page.len(), ours, theirs?));
                Ok(())
            };
        measure(format!("fault list, {listed} faults"), "/", &mut rows)?;
        measure("fault page".into(), &format!("/faults/{first}"), &mut rows)?;
        measure("map".into(), "/map", &mut rows)?;
        measure("watch board".into(), "/watch", &mut rows)?;
        step(&format!("adding faults up to {faults}"));
        for i in listed..faults {
            let body = serde_json::json!({
                "cable": "TDM3",
                // A fault is one per cable, day and place: one day each.
                "detected_on": format!("2025-{:02}-{:02}", 1 + (i / 28) % 12, 1 + i % 28), "kind": if i % 2 == 0 { "cut" } else { "partial_damage" },
                "place": "桃園草漯", "km": (1 + i % 90).to_string(), "alternate_routes": "微波",
                "eta": "2026-04", "status": "open", "restored_on": "", "notes": format!("bench fault {i}")
            });
            curl(
                &format!("http://{addr}/api/v1/faults"),
                &bearer,
                Some(&body.to_string()),
            )?;
        }
        measure(format!("fault list, {faults} faults"), "/", &mut rows)?;
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    println!(
        "\n| page | bytes | cablewatch p50 ms | p99 ms | req/s | bare axum p50 ms | p99 ms | req/s | share of bare |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (name, bytes, o, b) in &rows {
        println!(
            "| {name} | {bytes} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} % |",
            o.p50,
            o.p99,
            o.rps,
            b.p50,
            b.p99,
            b.rps,
            o.rps / b.rps * 100.0
        );
    }
    Ok(())
}

fn bench_http(seconds: u32) -> Result<()> {
    if !have("wrk") {
        step("setup: wrk (Debian package)");
        apt_install("wrk")?;
    }
    release_server()?;
    let bin = root().join("target/release/cablewatch");
    let dir = std::env::temp_dir().join(format!("cablewatch-bench-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("site/pkg"))?;
    std::fs::copy(
        root().join("assets/style.css"),
        dir.join("site/pkg/cablewatch.css"),
    )?;
    let db = format!("sqlite://{}/cw.db", dir.display());
    let password = "bench password, not a secret";
    let mut add = Command::new(&bin)
        .args(["user", "add", "bench", "--role", "watch"])
        .env("CABLEWATCH_DATABASE_URL", &db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = add.stdin.take() {
        use std::io::Write;
        writeln!(stdin, "{password}")?;
    }
    anyhow::ensure!(add.wait()?.success(), "cablewatch user add failed");
    let addr = free_addr()?;
    let mut server = Command::new(&bin)
        .args(["serve", "--addr", &addr, "--site-root"])
        .arg(dir.join("site"))
        .env("CABLEWATCH_DATABASE_URL", &db)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let result = (|| -> Result<Vec<(String, f64)>> {
        wait_listening(&addr)?;
        let out = Command::new("curl")
            .args([
                "-s",
                "-D",
                "-",
                "-o",
                "/dev/null",
                "-H",
                "content-type: application/json",
            ])
            .args(["-H", &format!("origin: http://{addr}")])
            .args([
                "--data",
                &format!("{{\"username\":\"bench\",\"password\":\"{password}\"}}"),
            ])
            .arg(format!("http://{addr}/api/v1/session"))
            .output()?;
        let cookie = session_cookie(&out.stdout, "signing in")?;
        let url = format!("http://{addr}/pkg/cablewatch.css");
        let mut rows = Vec::new();
        for (name, extra) in [
            ("anonymous", None),
            ("signed in (session cookie)", Some(cookie)),
        ] {
            step(&format!("wrk -t2 -c16 -d{seconds}s: {name}"));
            let mut cmd = Command::new("wrk");
            cmd.args(["-t2", "-c16", &format!("-d{seconds}s")]);
            if let Some(c) = &extra {
                cmd.args(["-H", &format!("Cookie: {c}")]);
            }
            let out = cmd.arg(&url).output()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            eprintln!("{text}");
            let rps = text
                .lines()
                .find_map(|l| l.strip_prefix("Requests/sec:"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .with_context(|| format!("no Requests/sec in wrk's output: {text}"))?;
            anyhow::ensure!(
                !text.contains("Non-2xx"),
                "{name}: wrk saw answers other than 2xx"
            );
            rows.push((name.to_string(), rps));
        }
        Ok(rows)
    })();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let rows = result?;
    println!("\n| request | req/s | share of anonymous |\n|---|---|---|");
    let base = rows[0].1;
    for (name, rps) in &rows {
        println!(
            "| GET /pkg/cablewatch.css, {name} | {rps:.0} | {:.0} % |",
            rps / base * 100.0
        );
    }
    Ok(())
}
