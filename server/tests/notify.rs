//! Notifications against real peers: an SMTP server (Python's aiosmtpd, in
//! the venv `cargo xtask setup` makes under target/) and a webhook receiver
//! started here that checks the Standard Webhooks signature, on SQLite and
//! (with `CABLEWATCH_TEST_PG`) PostgreSQL. Waits are on conditions with a
//! deadline, never fixed sleeps.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use chrono::Utc;
use common::{app_with, call, officer_token, registries, user_token};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use shared::auth::Role;

/// An aiosmtpd server writing what it receives into a maildir; killed on drop.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn smtp_sink(name: &str) -> SmtpSink {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv-peers/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `cargo xtask setup`",
        python.display()
    );
    let maildir =
        std::env::temp_dir().join(format!("cablewatch-mail-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&maildir);
    let port = free_port();
    let child = std::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .spawn()
        .expect("start aiosmtpd");
    let sink = SmtpSink {
        child,
        port,
        maildir,
    };
    wait_for(
        "the SMTP server to listen",
        Duration::from_secs(20),
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    sink
}

/// Waits until `ok` holds, checking every 50 ms; fails after `limit`.
async fn wait_for<F, Fut>(what: &str, limit: Duration, mut ok: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + limit;
    while !ok().await {
        assert!(Instant::now() < end, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("new"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What the webhook receiver saw: (webhook-id, signature valid, body).
type Seen = Arc<Mutex<Vec<(String, bool, Value)>>>;

/// A webhook receiver that answers 503 to the first request (to be retried)
/// and 200 after, checking each signature with `secret` (set once known).
async fn receiver(secret: Arc<Mutex<String>>) -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = s2.clone();
            let secret = secret.clone();
            async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let (id, ts, sig) = (
                    h("webhook-id"),
                    h("webhook-timestamp"),
                    h("webhook-signature"),
                );
                let key = secret.lock().map(|s| s.clone()).unwrap_or_default();
                let key = base64::engine::general_purpose::STANDARD
                    .decode(key.trim_start_matches("whsec_"))
                    .unwrap_or_default();
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac");
                mac.update(format!("{id}.{ts}.").as_bytes());
                mac.update(&body);
                let want = format!(
                    "v1,{}",
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
                );
                let fresh = ts
                    .parse::<i64>()
                    .is_ok_and(|t| (Utc::now().timestamp() - t).abs() < 300);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut seen = seen.lock().expect("lock");
                seen.push((id, sig == want && fresh, v));
                if seen.len() == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(l, app).await });
    (port, seen)
}

fn fault(cable: &str, notes: &str) -> Value {
    let today = shared::history::taipei_day(&Utc::now()).to_string();
    json!({
        "cable": cable, "detected_on": today, "kind": "cut", "place": "淡水沙崙",
        "km": "21", "alternate_routes": "微波", "eta": "", "status": "open",
        "restored_on": "", "notes": notes, "capacity_lost_pct": ""
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_email_and_signed_webhooks_once_each_with_a_delivery_log() {
    for (engine, reg, url) in registries("notify").await {
        let sink = smtp_sink(&engine).await;
        let secret = Arc::new(Mutex::new(String::new()));
        let (hook_port, seen) = receiver(secret.clone()).await;
        let app = app_with(
            &reg,
            &url,
            server::web::WebConfig {
                webhook_hosts: vec!["127.0.0.1".into()],
                ..Default::default()
            },
        )
        .await;
        let officer = officer_token(&reg).await;
        let watch = user_token(&reg, "notify-watch", Role::Watch).await;
        let admin = user_token(&reg, "notify-admin", Role::Admin).await;

        // Subscriptions: bad ones name their fields; webhooks only to allowed hosts.
        let (s, b) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/me/subscriptions",
            Some(
                json!({"channel": "webhook", "target": "http://203.0.113.9/hook",
                        "islands": ["atlantis"]}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {b}");
        assert!(b.to_string().contains("host_not_allowed"), "{engine}: {b}");
        assert!(b.to_string().contains("islands"), "{engine}: {b}");
        // Lengths and counts: each refused by field, a huge body by size,
        // and none of them stored.
        let (_, none) = call(&app, Some(&watch), "GET", "/api/v1/me/subscriptions", None).await;
        let long_address = format!("{}@example.gov.tw", "d".repeat(250));
        let long_url = format!("http://127.0.0.1/{}", "h".repeat(2000));
        let many: Vec<String> = (0..=shared::notify::MAX_FILTER)
            .map(|i| format!("C{i}"))
            .collect();
        for (body, field) in [
            (
                json!({"channel": "email", "target": long_address}),
                "target",
            ),
            (json!({"channel": "webhook", "target": long_url}), "target"),
            (
                json!({"channel": "email", "target": "duty@example.gov.tw", "cables": many}),
                "cables",
            ),
        ] {
            let (s, b) = call(
                &app,
                Some(&watch),
                "POST",
                "/api/v1/me/subscriptions",
                Some(body),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {b}");
            assert!(
                b["fields"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f["field"] == field)),
                "{engine}: {field} named: {b}"
            );
        }
        let huge = json!({"channel": "email", "target": "duty@example.gov.tw", "notes": "x".repeat(9 << 20)});
        let (s, _) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/me/subscriptions",
            Some(huge),
        )
        .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{engine}: a 9 MiB body");
        let (_, still) = call(&app, Some(&watch), "GET", "/api/v1/me/subscriptions", None).await;
        assert_eq!(none, still, "{engine}: nothing refused was stored");
        let (s, b) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/me/subscriptions",
            Some(json!({"channel": "email", "target": "duty@example.gov.tw", "islands": "matsu"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        assert!(b["secret"].is_null(), "{engine}: e-mail has no secret: {b}");
        let (s, b) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/me/subscriptions",
            Some(
                json!({"channel": "webhook", "target": format!("http://127.0.0.1:{hook_port}/hook"),
                        "kinds": ["cable_cut"]}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let key = b["secret"]
            .as_str()
            .expect("a webhook's secret, once")
            .to_string();
        assert!(key.starts_with("whsec_"), "{engine}: {key}");
        *secret.lock().expect("lock") = key.clone();
        // Penghu only: a Matsu cut does not reach it.
        let (s, _) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/me/subscriptions",
            Some(json!({"channel": "email", "target": "penghu@example.gov.tw", "islands": ["penghu"]})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}");
        let (s, b) = call(&app, Some(&watch), "GET", "/api/v1/me/subscriptions", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert_eq!(b.as_array().map(Vec::len), Some(2), "{engine}: {b}");
        assert!(
            !b.to_string().contains(&key),
            "{engine}: the secret is shown once"
        );

        // The sender, as `serve` runs it; a second one as a second server would.
        let settings = server::deliver::Settings {
            smtp_relay: Some(format!("127.0.0.1:{}", sink.port)),
            outbox_dir: std::env::temp_dir().join("cablewatch-unused-outbox"),
            mail_from: "cablewatch@example.gov.tw".into(),
            webhook_hosts: vec!["127.0.0.1".into()],
        };
        let a = tokio::spawn(
            server::deliver::Sender::new(reg.clone(), settings.clone())
                .expect("sender")
                .run(),
        );
        let b2 = tokio::spawn(
            server::deliver::Sender::new(reg.clone(), settings)
                .expect("sender")
                .run(),
        );

        // A cut on the Taiwan–Matsu cable: within 5 s, the mail is there.
        let written = Instant::now();
        let (s, b) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(fault("TDM2", "INTERNAL crew phone 0912")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        wait_for("the e-mail", Duration::from_secs(5), || async {
            mails(&sink.maildir).iter().any(|m| m.contains("TDM2"))
        })
        .await;
        let took = written.elapsed();
        let got = mails(&sink.maildir);
        let mail = got.iter().find(|m| m.contains("TDM2")).expect("mail");
        assert!(mail.contains("To: duty@example.gov.tw"), "{engine}: {mail}");
        assert!(
            mail.contains("Message-ID: <msg_cablewatch_"),
            "{engine}: {mail}"
        );
        assert!(
            !mail.contains("INTERNAL") && !mail.contains("0912"),
            "{engine}: {mail}"
        );
        assert!(
            !got.iter().any(|m| m.contains("penghu@")),
            "{engine}: Penghu's subscriber"
        );

        // The webhook: refused once (503), retried with the same id, signed.
        wait_for("the webhook's retry", Duration::from_secs(15), || async {
            seen.lock().map(|s| s.len() >= 2).unwrap_or(false)
        })
        .await;
        {
            let seen = seen.lock().expect("lock");
            assert_eq!(seen[0].0, seen[1].0, "{engine}: one id for every attempt");
            assert!(seen.iter().all(|s| s.1), "{engine}: signatures valid");
            assert_eq!(
                seen[1].2["type"], "alert.cable_cut",
                "{engine}: {:?}",
                seen[1].2
            );
            assert_eq!(seen[1].2["data"]["cable"], "TDM2", "{engine}");
            assert!(!seen[1].2.to_string().contains("INTERNAL"), "{engine}");
        }

        // The delivery log: every attempt, each message sent once.
        let (s, log) = call(&app, Some(&watch), "GET", "/api/v1/me/notifications", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}: {log}");
        let msgs = log.as_array().cloned().unwrap_or_default();
        let hook = msgs
            .iter()
            .find(|m| m["channel"] == "webhook")
            .expect("the webhook's message");
        assert_eq!(hook["state"], "sent", "{engine}: {hook}");
        assert_eq!(
            hook["log"].as_array().map(Vec::len),
            Some(2),
            "{engine}: {hook}"
        );
        assert_eq!(hook["log"][0]["ok"], false, "{engine}");
        assert_eq!(hook["log"][0]["detail"], "HTTP 503", "{engine}");
        let mail_msgs: Vec<&Value> = msgs.iter().filter(|m| m["channel"] == "email").collect();
        assert!(!mail_msgs.is_empty(), "{engine}: {log}");
        for m in &mail_msgs {
            assert_eq!(m["log"].as_array().map(Vec::len), Some(1), "{engine}: {m}");
        }

        // Planning again, or a restart planning from the cursor it had read
        // before another pass moved it, adds nothing.
        let before = reg.outbox(None, None, 1000).await.expect("outbox").len();
        assert_eq!(reg.plan_notifications().await.expect("plan"), 0, "{engine}");
        let cursor = server::notify::cursor(reg.log()).await.expect("cursor");
        assert_eq!(
            server::notify::enqueue(reg.log(), cursor - 1, cursor, &[])
                .await
                .expect("enqueue"),
            0,
            "{engine}"
        );
        assert_eq!(
            reg.outbox(None, None, 1000).await.expect("outbox").len(),
            before,
            "{engine}"
        );
        assert_eq!(
            mails(&sink.maildir)
                .iter()
                .filter(|m| m.contains("TDM2"))
                .count(),
            mail_msgs.len(),
            "{engine}: each mail once, with two senders running"
        );

        // Who sees what: the outbox is the admins'; a kiosk cannot subscribe.
        let (s, _) = call(&app, Some(&watch), "GET", "/api/v1/outbox", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{engine}");
        let (s, all) = call(&app, Some(&admin), "GET", "/api/v1/outbox", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert!(
            all.as_array().map(Vec::len).unwrap_or(0) >= msgs.len(),
            "{engine}"
        );
        let (s, _) = call(
            &app,
            Some(&admin),
            "DELETE",
            "/api/v1/me/subscriptions/1",
            None,
        )
        .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "{engine}: not the admin's to remove"
        );
        let id = msgs[0]["subscription_id"].as_i64().expect("id");
        let (s, _) = call(
            &app,
            Some(&watch),
            "DELETE",
            &format!("/api/v1/me/subscriptions/{id}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{engine}");
        a.abort();
        b2.abort();
        assert!(took < Duration::from_secs(5), "{engine}: {took:?}");
    }
}

#[tokio::test]
async fn without_a_relay_mail_lands_in_the_outbox_directory_once_per_message() {
    for (engine, reg, url) in registries("notify_file").await {
        let app = app_with(&reg, &url, server::web::WebConfig::default()).await;
        let watch = user_token(&reg, "file-watch", Role::Watch).await;
        let officer = officer_token(&reg).await;
        let (s, b) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/me/subscriptions",
            Some(json!({"channel": "email", "target": "duty@example.gov.tw"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let (s, b) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/me/subscriptions",
            Some(json!({"channel": "webhook", "target": "http://127.0.0.1/hook"})),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: webhooks off: {b}"
        );
        let dir =
            std::env::temp_dir().join(format!("cablewatch-outbox-{engine}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sender = server::deliver::Sender::new(
            reg.clone(),
            server::deliver::Settings {
                smtp_relay: None,
                outbox_dir: dir.clone(),
                mail_from: "cablewatch@localhost".into(),
                webhook_hosts: vec![],
            },
        )
        .expect("sender");
        let (s, b) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(fault("TP3", "")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let (planned, tried) = sender.pass().await.expect("pass");
        assert!(
            planned >= 1 && tried == planned,
            "{engine}: {planned} {tried}"
        );
        // A second pass finds nothing due: nothing more is written.
        assert_eq!(sender.pass().await.expect("pass"), (0, 0), "{engine}");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .expect("outbox dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), planned, "{engine}: {files:?}");
        assert!(
            files
                .iter()
                .all(|f| f.starts_with("msg_cablewatch_") && f.ends_with(".eml")),
            "{engine}: {files:?}"
        );

        // A sender that dies after claiming: nobody sends meanwhile, and the
        // message is claimed again (same id) once the lease runs out.
        let (s, b) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(fault("TP2", "")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        assert!(
            reg.plan_notifications().await.expect("plan") >= 1,
            "{engine}"
        );
        let now = Utc::now();
        let claimed = server::notify::claim_due(reg.log(), now, 10)
            .await
            .expect("claim");
        assert!(!claimed.is_empty(), "{engine}");
        assert_eq!(
            sender.pass().await.expect("pass"),
            (0, 0),
            "{engine}: leased"
        );
        let later = now + server::notify::LEASE + chrono::Duration::seconds(1);
        let again = server::notify::claim_due(reg.log(), later, 10)
            .await
            .expect("claim");
        let ids = |v: &[(shared::notify::Message, Option<String>)]| {
            v.iter()
                .map(|(m, _)| m.message_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&again), ids(&claimed), "{engine}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
