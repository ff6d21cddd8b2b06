//! Sending notifications: the loop `cablewatch serve` runs, which plans new
//! alerts into the outbox (`Registry::plan_notifications`), claims the
//! messages that are due and sends each, by e-mail (an SMTP relay, or `.eml`
//! files in an outbox directory when no relay is set) or as a webhook
//! (HTTP POST to an allowed host, signed per Standard Webhooks), recording
//! every attempt. A failed attempt is tried again with back-off
//! (`shared::notify::retry_at`); every attempt of a message carries the same
//! id (`Message-ID`, `webhook-id`), so a receiver drops a repeat.
//!
//! It wakes after every commit and every second, and reads only while
//! nothing is new. Secrets (a webhook's key) are never logged.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::Utc;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::Sha256;
use shared::api::ApiError;
use shared::notify::{email_text, retry_at, webhook_body, webhook_host, Attempt, Channel, Message};

use crate::Registry;

/// How notifications leave the server.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `host:port` of the SMTP relay; `None`: write `.eml` files to `outbox_dir`.
    pub smtp_relay: Option<String>,
    pub outbox_dir: PathBuf,
    /// The `From:` address.
    pub mail_from: String,
    /// Hosts webhooks may go to (the admin's list; empty: none).
    pub webhook_hosts: Vec<String>,
}

/// The hosts webhooks may go to, for the API's subscription checks (a
/// request extension set by `web::router`).
#[derive(Debug, Clone, Default)]
pub struct WebhookHosts(pub Arc<Vec<String>>);

/// How long one delivery may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How many due messages one pass claims.
const BATCH: i64 = 20;

/// The Standard Webhooks signature of `body`: `v1,` and the base64 of
/// HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the secret's bytes.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, ApiError> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| {
            tracing::error!("a webhook secret is not base64");
            ApiError::internal()
        })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| ApiError::internal())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The sender: see the module.
#[derive(Clone)]
pub struct Sender {
    reg: Registry,
    settings: Arc<Settings>,
    http: Client<HttpConnector, Full<Bytes>>,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Sender {
    pub fn new(reg: Registry, settings: Settings) -> Result<Self, String> {
        let smtp = match &settings.smtp_relay {
            None => None,
            Some(relay) => {
                let (host, port) = relay
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                    .unwrap_or_else(|| (relay.clone(), 25));
                Some(
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                        .port(port)
                        .timeout(Some(SEND_TIMEOUT))
                        .build(),
                )
            }
        };
        if smtp.is_none() {
            std::fs::create_dir_all(&settings.outbox_dir).map_err(|e| {
                format!(
                    "cannot make the mail outbox {}: {e}",
                    settings.outbox_dir.display()
                )
            })?;
        }
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Ok(Self {
            reg,
            settings: Arc::new(settings),
            http,
            smtp,
        })
    }

    /// Runs forever: a pass after every commit and every second.
    pub async fn run(self) {
        let wake = self.reg.log().outbox_wake();
        loop {
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e.message, "sending notifications");
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One pass: plan new alerts, then send what is due. Returns how many
    /// messages were planned and how many attempts were made.
    pub async fn pass(&self) -> Result<(usize, usize), ApiError> {
        let planned = self.reg.plan_notifications().await?;
        let due = crate::notify::claim_due(self.reg.log(), Utc::now(), BATCH).await?;
        let tried = due.len();
        for (m, secret) in due {
            let result = match m.channel {
                Channel::Email => self.email(&m).await,
                Channel::Webhook => self.webhook(&m, secret.as_deref()).await,
            };
            let at = Utc::now();
            let (attempt, retry) = match result {
                Ok(detail) => (
                    Attempt {
                        at,
                        ok: true,
                        detail,
                    },
                    None,
                ),
                Err((detail, again)) => {
                    tracing::warn!(
                        message = m.message_id,
                        channel = m.channel.as_str(),
                        detail,
                        "a notification was not delivered"
                    );
                    let retry = if again {
                        retry_at(at, m.attempts + 1)
                    } else {
                        None
                    };
                    (
                        Attempt {
                            at,
                            ok: false,
                            detail,
                        },
                        retry,
                    )
                }
            };
            crate::notify::record(self.reg.log(), m.id, &attempt, retry).await?;
        }
        Ok((planned, tried))
    }

    /// Sends one e-mail: `Ok` with what the relay said, or the failure and
    /// whether to try again.
    async fn email(&self, m: &Message) -> Result<String, (String, bool)> {
        let (subject, body) = email_text(&m.item);
        let parse = |s: &str, what: &str| {
            s.parse::<lettre::message::Mailbox>()
                .map_err(|e| (format!("{what} address: {e}"), false))
        };
        let email = lettre::Message::builder()
            .from(parse(&self.settings.mail_from, "from")?)
            .to(parse(&m.target, "to")?)
            .subject(subject)
            .message_id(Some(format!("<{}@cablewatch>", m.message_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| (format!("building the message: {e}"), false))?;
        match &self.smtp {
            Some(smtp) => match smtp.send(email).await {
                Ok(r) => Ok(format!("relay: {}", r.code())),
                Err(e) => Err((format!("relay: {e}"), !e.is_permanent())),
            },
            None => {
                // One file per message id, written whole then renamed: a
                // second attempt replaces the first, never adds a copy.
                let dir = &self.settings.outbox_dir;
                let path = dir.join(format!("{}.eml", m.message_id));
                let tmp = dir.join(format!(".{}.eml.part", m.message_id));
                let bytes = email.formatted();
                let write = async {
                    tokio::fs::write(&tmp, &bytes).await?;
                    tokio::fs::rename(&tmp, &path).await
                };
                write
                    .await
                    .map(|_| format!("file: {}", path.display()))
                    .map_err(|e| (format!("mail outbox: {e}"), true))
            }
        }
    }

    /// Sends one webhook: `Ok` with the receiver's status, or the failure
    /// and whether to try again (a 4xx other than 408/429 is not retried).
    async fn webhook(&self, m: &Message, secret: Option<&str>) -> Result<String, (String, bool)> {
        let host = webhook_host(&m.target).ok_or(("not a webhook URL".to_string(), false))?;
        if !self
            .settings
            .webhook_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
        {
            return Err((
                format!("{host} is no longer an allowed webhook host"),
                false,
            ));
        }
        let secret = secret.ok_or(("the subscription has no secret".to_string(), false))?;
        let body = serde_json::to_vec(&webhook_body(&m.item))
            .map_err(|e| (format!("encoding: {e}"), false))?;
        let ts = Utc::now().timestamp();
        let signature = sign(secret, &m.message_id, ts, &body).map_err(|e| (e.message, false))?;
        let req = axum::http::Request::post(&m.target)
            .header("content-type", "application/json")
            .header("user-agent", "cablewatch")
            .header("webhook-id", &m.message_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| (format!("request: {e}"), false))?;
        let resp = tokio::time::timeout(SEND_TIMEOUT, self.http.request(req))
            .await
            .map_err(|_| ("no answer within 10 s".to_string(), true))?
            .map_err(|e| (format!("connection: {e}"), true))?;
        let status = resp.status();
        // Read (a little of) the answer so the connection can be reused.
        let _ = tokio::time::timeout(SEND_TIMEOUT, resp.into_body().collect()).await;
        if status.is_success() {
            Ok(format!("HTTP {}", status.as_u16()))
        } else {
            let again =
                status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
            Err((format!("HTTP {}", status.as_u16()), again))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let s = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .expect("sign");
        assert_eq!(s, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
