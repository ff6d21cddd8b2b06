//! Helpers for the end-to-end tests: a real `cablewatch serve` on a free
//! port with a fresh SQLite database, and headless Chromium via chromedriver.
//! Every wait is on a condition with a deadline, never a fixed sleep.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};

pub mod crash;
pub mod load;

/// Median and 99th percentile of `runs` timings of `f`, in milliseconds
/// (the benchmarks' timer).
pub fn time_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Kills the child process when dropped, so a failed test leaves nothing behind.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `f` returns true or the deadline passes.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + timeout;
    loop {
        if f().await {
            return Ok(());
        }
        if Instant::now() > until {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub struct Server {
    pub base: String,
    /// The server's database URL (for the CLI against the same data).
    pub db: String,
    pub port: u16,
    proc: Option<Guard>,
    demo: bool,
    _dir: PathBuf,
}

fn bin() -> Result<String> {
    std::env::var("CABLEWATCH_BIN")
        .context("CABLEWATCH_BIN is not set: run the browser tests through `cargo xtask test`")
}

/// The test password of every test user.
pub const PASSWORD: &str = "browser test password";

/// Adds one user per role (admin, officer, watch, briefing) to `db`.
pub fn add_users(db: &str) -> Result<()> {
    let bin = bin()?;
    for role in ["admin", "officer", "watch", "briefing"] {
        let mut add = Command::new(&bin)
            .args(["user", "add", role, "--role", role])
            .env("CABLEWATCH_DATABASE_URL", db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("adding a user")?;
        if let Some(mut stdin) = add.stdin.take() {
            use std::io::Write;
            writeln!(stdin, "{PASSWORD}")?;
        }
        ensure!(add.wait()?.success(), "cablewatch user add {role} failed");
    }
    Ok(())
}

/// An API token of `user` on `db` (made with the CLI).
pub fn token(db: &str, user: &str) -> Result<String> {
    let out = Command::new(bin()?)
        .args(["token", "create", user])
        .env("CABLEWATCH_DATABASE_URL", db)
        .stderr(Stdio::null())
        .output()
        .context("creating a token")?;
    ensure!(out.status.success(), "cablewatch token create failed");
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn spawn_server(db: &str, port: u16, demo: bool) -> Result<Guard> {
    let site = std::env::var("CABLEWATCH_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--addr", &addr];
    if demo {
        args.push("--demo");
    }
    let child = Command::new(bin()?)
        .args(args)
        .env("CABLEWATCH_DATABASE_URL", db)
        .env("CABLEWATCH_SITE_ROOT", site)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting cablewatch")?;
    Ok(Guard(child))
}

async fn listening(port: u16) -> Result<()> {
    wait_for("the server to listen", Duration::from_secs(30), || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await
}

/// Starts the built binary (`CABLEWATCH_BIN`) with demo data on a free port
/// and a fresh SQLite database.
pub async fn start_server(name: &str) -> Result<Server> {
    let dir = std::env::temp_dir().join(format!("cablewatch-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}/cw.db", dir.display());
    add_users(&db)?;
    start_server_on(&db, dir).await
}

/// Starts a server with the demo data on an existing database (users already added).
pub async fn start_server_on(db: &str, dir: PathBuf) -> Result<Server> {
    start(db, dir, true).await
}

/// Starts a server without demo data on an existing database.
pub async fn start_plain_server_on(db: &str, dir: PathBuf) -> Result<Server> {
    start(db, dir, false).await
}

async fn start(db: &str, dir: PathBuf, demo: bool) -> Result<Server> {
    let port = free_port()?;
    let guard = spawn_server(db, port, demo)?;
    listening(port).await?;
    Ok(Server {
        base: format!("http://127.0.0.1:{port}"),
        db: db.to_string(),
        port,
        proc: Some(guard),
        demo,
        _dir: dir,
    })
}

impl Server {
    /// Kills the server (SIGKILL: connections drop as in a crash).
    pub fn stop(&mut self) {
        self.proc = None;
    }

    /// Starts it again on the same port and database.
    pub async fn start(&mut self) -> Result<()> {
        self.proc = Some(spawn_server(&self.db, self.port, self.demo)?);
        listening(self.port).await
    }
}

pub struct Browser {
    pub client: Client,
    _driver: Guard,
}

/// Starts chromedriver and a headless Chromium with a fresh profile.
pub async fn start_browser(name: &str) -> Result<Browser> {
    start_browser_with(name, true).await
}

/// As [`start_browser`], with the pages' JavaScript on or off. With it off
/// the pages run no script at all (as for a reader whose browser blocks it,
/// or before the wasm has loaded); WebDriver can still read the page.
pub async fn start_browser_with(name: &str, javascript: bool) -> Result<Browser> {
    let port = free_port()?;
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting chromedriver (cargo xtask setup installs it)")?;
    let guard = Guard(driver);
    wait_for("chromedriver", Duration::from_secs(20), || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await?;
    let profile =
        std::env::temp_dir().join(format!("cablewatch-chrome-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-TW",
                format!("--user-data-dir={}", profile.display())
            ],
            "prefs": {
                "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 }
            }
        }
    });
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => bail!("capabilities"),
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .context("connecting to chromedriver")?;
    Ok(Browser {
        client,
        _driver: guard,
    })
}

/// Waits until the page is hydrated (the layout's effect ran in the browser).
pub async fn wait_hydrated(c: &Client) -> Result<()> {
    wait_for("hydration", Duration::from_secs(60), || async {
        c.execute(
            "return document.getElementById('hydration')?.dataset.hydrated === 'true'",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
    })
    .await
}

/// Evaluates a JavaScript expression and returns it as a string.
pub async fn js_string(c: &Client, expr: &str) -> Result<String> {
    let v = c.execute(&format!("return String({expr})"), vec![]).await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// Signs in through the sign-in page as `user` and waits for the list to hydrate.
pub async fn sign_in(c: &Client, base: &str, user: &str) -> Result<()> {
    sign_in_plain(c, base, user).await?;
    wait_hydrated(c).await
}

/// Signs in through the sign-in page (a plain form post: it needs no
/// JavaScript) and waits until the page names the user.
pub async fn sign_in_plain(c: &Client, base: &str, user: &str) -> Result<()> {
    c.goto(&format!("{base}/signin")).await?;
    c.find(Locator::Id("username"))
        .await?
        .send_keys(user)
        .await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    c.find(Locator::Id("sign-in")).await?.click().await?;
    wait_for("signed in", Duration::from_secs(20), || async {
        js_string(
            c,
            "document.getElementById('signed-in-as')?.textContent ?? ''",
        )
        .await
        .map(|t| t.starts_with(user))
        .unwrap_or(false)
    })
    .await
}

/// axe-core's script (npm `axe-core`, installed by `cargo xtask setup`).
pub fn axe_script() -> Result<String> {
    let path = std::env::var("CABLEWATCH_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/npm/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (cargo xtask setup installs axe-core)",
            path.display()
        )
    })
}

/// Runs axe-core on the current page against WCAG 2.1 A and AA and returns
/// each violation as `rule (impact): target, …`.
pub async fn axe_violations(c: &Client, axe: &str) -> Result<Vec<String>> {
    c.execute(axe, vec![]).await.context("loading axe-core")?;
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
               .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' +\
                   v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')).join(' | '))))\
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .context("running axe-core")?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default())
}

/// One JSON request with a bearer token: (status, JSON body or Null).
pub async fn api_json(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    api_request(base, token, method, path, "application/json", body).await
}

/// One POST of plain text with a bearer token: (status, JSON body or Null).
pub async fn api_text(
    base: &str,
    token: &str,
    path: &str,
    text: &str,
) -> Result<(u16, serde_json::Value)> {
    let body = text.to_string();
    api_request(base, token, "POST", path, "text/plain; charset=utf-8", body).await
}

async fn api_request(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> Result<(u16, serde_json::Value)> {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = hyper::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))?;
    let res = client.request(req).await?;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await?.to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    ))
}
