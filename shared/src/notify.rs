//! Notifications: who wants to hear of which alerts, and how (e-mail or a
//! webhook). Pure: the form and its checks, which alert a subscription
//! takes, the message's id and the retry schedule. The server keeps the
//! subscriptions, plans one outbox message per (alert, subscription) and
//! delivers it at least once; a message carries the public item of its alert
//! (`shared::feed`), so it says no more than the public feed does.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::fault::FieldError;
use crate::feed::Item;
use crate::resilience::Region;
use crate::watch::AlertKind;

/// The longest list of islands, cables or kinds a subscription names.
pub const MAX_FILTER: usize = 64;
/// How many times a message is tried before it is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "email" => Some(Self::Email),
            "webhook" => Some(Self::Webhook),
            _ => None,
        }
    }
}

/// One subscription, as its owner sees it (the webhook secret is shown once,
/// when it is made, and never again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub id: i64,
    pub user_id: i64,
    pub channel: Channel,
    /// The e-mail address or the webhook's URL.
    pub target: String,
    /// Empty: every island (and likewise cables and kinds).
    pub islands: Vec<Region>,
    pub cables: Vec<String>,
    pub kinds: Vec<AlertKind>,
    pub created_at: DateTime<Utc>,
}

impl Subscription {
    /// Whether this subscription takes `item`: every list it names must
    /// match (an empty list matches anything).
    pub fn takes(&self, item: &Item) -> bool {
        let island =
            self.islands.is_empty() || item.regions.iter().any(|r| self.islands.contains(r));
        let cable = self.cables.is_empty()
            || item
                .cable
                .as_ref()
                .is_some_and(|c| self.cables.iter().any(|s| s.eq_ignore_ascii_case(c)));
        let kind = self.kinds.is_empty() || self.kinds.contains(&item.kind);
        island && cable && kind
    }
}

/// A subscription as typed: lists as comma-separated text (a plain form) or
/// JSON arrays (the API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SubscriptionForm {
    pub channel: String,
    pub target: String,
    #[serde(deserialize_with = "list")]
    pub islands: Vec<String>,
    #[serde(deserialize_with = "list")]
    pub cables: Vec<String>,
    #[serde(deserialize_with = "list")]
    pub kinds: Vec<String>,
}

fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        Text(String),
        Items(Vec<String>),
    }
    Ok(match L::deserialize(d)? {
        L::Text(s) => s
            .split([',', '，', ' ', '\n'])
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        L::Items(v) => v
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}

/// A checked subscription, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionDraft {
    pub channel: Channel,
    pub target: String,
    pub islands: Vec<Region>,
    pub cables: Vec<String>,
    pub kinds: Vec<AlertKind>,
}

/// The host (lower case, no port) of an `http://` URL, if it is one without
/// credentials, spaces or control characters. (The server has no TLS client:
/// webhooks go to hosts on the closed network.)
pub fn webhook_host(url: &str) -> Option<String> {
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        format!("[{}]", v6.split(']').next()?)
    } else {
        authority.split(':').next()?.to_string()
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
}

impl SubscriptionForm {
    /// Checks every field and names each bad one. A webhook must go to one of
    /// `allowed_hosts` (the admin's list; none: no webhooks).
    pub fn validate(
        &self,
        allowed_hosts: &[String],
        cables: &[String],
    ) -> Result<SubscriptionDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let channel = Channel::parse(&self.channel);
        if channel.is_none() {
            errs.push(FieldError::new(
                "channel",
                "invalid",
                "choose e-mail or webhook",
            ));
        }
        let target = self.target.trim().to_string();
        match channel {
            Some(Channel::Email) if !email_ok(&target) => errs.push(FieldError::new(
                "target",
                "invalid",
                "an e-mail address, like duty@example.gov.tw",
            )),
            Some(Channel::Webhook) => match webhook_host(&target) {
                None => errs.push(FieldError::new(
                    "target",
                    "invalid",
                    "a URL starting http:// (a host on the closed network; https is not supported)",
                )),
                Some(h) if !allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(&h)) => {
                    errs.push(FieldError::new(
                        "target",
                        "host_not_allowed",
                        if allowed_hosts.is_empty() {
                            format!("webhooks are off: an admin allows hosts with --webhook-hosts ({h} is not allowed)")
                        } else {
                            format!(
                                "{h} is not a host webhooks may go to ({})",
                                allowed_hosts.join(", ")
                            )
                        },
                    ))
                }
                Some(_) => {}
            },
            _ => {}
        }
        let mut islands = Vec::new();
        for s in &self.islands {
            match Region::parse(s) {
                Some(r) if !islands.contains(&r) => islands.push(r),
                Some(_) => {}
                None => errs.push(FieldError::new(
                    "islands",
                    "unknown",
                    format!("no island {s:?}"),
                )),
            }
        }
        let mut subs_cables: Vec<String> = Vec::new();
        for s in &self.cables {
            match cables.iter().find(|c| c.eq_ignore_ascii_case(s)) {
                Some(c) if !subs_cables.contains(c) => subs_cables.push(c.clone()),
                Some(_) => {}
                None => errs.push(FieldError::new(
                    "cables",
                    "unknown",
                    format!("no cable {s:?}"),
                )),
            }
        }
        let mut kinds = Vec::new();
        for s in &self.kinds {
            match AlertKind::parse(s) {
                Some(k) if !kinds.contains(&k) => kinds.push(k),
                Some(_) => {}
                None => errs.push(FieldError::new(
                    "kinds",
                    "unknown",
                    format!("no alert kind {s:?}"),
                )),
            }
        }
        for (field, n) in [
            ("islands", self.islands.len()),
            ("cables", self.cables.len()),
            ("kinds", self.kinds.len()),
        ] {
            if n > MAX_FILTER {
                errs.push(FieldError::new(
                    field,
                    "too_many",
                    format!("at most {MAX_FILTER}"),
                ));
            }
        }
        match (channel, errs.is_empty()) {
            (Some(channel), true) => Ok(SubscriptionDraft {
                channel,
                target,
                islands,
                cables: subs_cables,
                kinds,
            }),
            _ => Err(errs),
        }
    }
}

/// The id of the message telling `subscription` of `alert`: the same on
/// every attempt and after a restart, so a receiver can drop a repeat
/// (`Message-ID`, `webhook-id`).
pub fn message_id(alert: i64, subscription: i64) -> String {
    format!("msg_cablewatch_{alert}_{subscription}")
}

/// When to try again after `attempts` failed tries (1 s, 2 s, 4 s, … at most
/// an hour), or `None`: give up.
pub fn retry_at(now: DateTime<Utc>, attempts: i64) -> Option<DateTime<Utc>> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let secs = 1i64 << attempts.clamp(0, 12);
    Some(now + Duration::seconds(secs.min(3600)))
}

/// A message's state in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Sent,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One try at delivering a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// What the peer said (the SMTP reply, the HTTP status) or what failed.
    pub detail: String,
}

/// A message in the outbox, with its delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub message_id: String,
    pub subscription_id: i64,
    pub alert_id: i64,
    pub channel: Channel,
    pub target: String,
    pub state: State,
    pub attempts: i64,
    pub next_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The public item it carries.
    pub item: Item,
    pub log: Vec<Attempt>,
}

/// The JSON a webhook receives (Standard Webhooks' `type`, `timestamp`,
/// `data`).
pub fn webhook_body(item: &Item) -> serde_json::Value {
    serde_json::json!({
        "type": format!("alert.{}", item.kind.as_str()),
        "timestamp": item.sent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {
            "identifier": item.identifier(),
            "status": item.status().as_str(),
            "headline": item.title(),
            "description": item.description,
            "instruction": item.instruction,
            "cable": item.cable,
            "islands": item.regions.iter().map(|r| r.id()).collect::<Vec<_>>(),
            "area": item.area.desc,
            "sent": crate::feed::cap_time(item.sent),
        }
    })
}

/// An e-mail's subject and plain text.
pub fn email_text(item: &Item) -> (String, String) {
    let mut body = item.description.clone();
    if let Some(i) = &item.instruction {
        body.push_str("\n\n");
        body.push_str(i);
    }
    body.push_str(&format!(
        "\n\nSent {} (Taipei). You receive this because of a cablewatch subscription; remove it on your account page.\n",
        crate::feed::cap_time(item.sent)
    ));
    (item.title(), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::Area;

    fn item(kind: AlertKind, cable: Option<&str>, regions: Vec<Region>) -> Item {
        Item {
            alert_id: 1,
            exercise: None,
            kind,
            sent: DateTime::<Utc>::UNIX_EPOCH,
            headline: "h".into(),
            description: "d".into(),
            instruction: None,
            cable: cable.map(str::to_string),
            regions,
            area: Area {
                desc: "a".into(),
                circle: None,
            },
        }
    }

    fn form(channel: &str, target: &str) -> SubscriptionForm {
        SubscriptionForm {
            channel: channel.into(),
            target: target.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_bad_field_is_named_and_webhooks_go_only_to_allowed_hosts() {
        let cables = vec!["TDM2".to_string(), "TP3".to_string()];
        let bad = SubscriptionForm {
            channel: "pigeon".into(),
            target: "x".into(),
            islands: vec!["atlantis".into()],
            cables: vec!["NOPE".into()],
            kinds: vec!["flood".into()],
        };
        let errs = bad.validate(&[], &cables).expect_err("bad");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["channel", "islands", "cables", "kinds"]);
        let allowed = vec!["hooks.example.gov.tw".to_string()];
        for (url, ok) in [
            ("http://hooks.example.gov.tw/in", true),
            ("http://HOOKS.example.gov.tw:8443/in?x=1", true),
            ("https://hooks.example.gov.tw/in", false),
            ("http://evil.example/in", false),
            ("http://hooks.example.gov.tw@evil.example/", false),
            ("http://hooks.example.gov.tw/\tx", false),
            ("javascript:alert(1)", false),
            ("ftp://hooks.example.gov.tw/", false),
        ] {
            let r = form("webhook", url).validate(&allowed, &cables);
            assert_eq!(r.is_ok(), ok, "{url}: {r:?}");
        }
        assert!(form("webhook", "http://hooks.example.gov.tw/")
            .validate(&[], &cables)
            .is_err());
        for (addr, ok) in [
            ("duty@example.gov.tw", true),
            ("no-at-sign", false),
            ("a@b.tw\r\nBcc: x@y", false),
            ("<script>@x.tw", false),
        ] {
            assert_eq!(
                form("email", addr).validate(&[], &cables).is_ok(),
                ok,
                "{addr}"
            );
        }
    }

    #[test]
    fn lists_come_as_text_or_arrays_and_match_case_blind() {
        let f: SubscriptionForm = serde_json::from_str(
            r#"{"channel":"email","target":"a@b.tw","islands":"matsu, kinmen","cables":["tdm2"],"kinds":"cable_cut"}"#,
        )
        .expect("form");
        let d = f.validate(&[], &["TDM2".to_string()]).expect("valid");
        assert_eq!(d.islands, [Region::Matsu, Region::Kinmen]);
        assert_eq!(d.cables, ["TDM2"]);
        let s = Subscription {
            id: 1,
            user_id: 1,
            channel: d.channel,
            target: d.target,
            islands: d.islands,
            cables: d.cables,
            kinds: d.kinds,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert!(s.takes(&item(
            AlertKind::CableCut,
            Some("TDM2"),
            vec![Region::Taiwan, Region::Matsu]
        )));
        assert!(!s.takes(&item(
            AlertKind::NewFault,
            Some("TDM2"),
            vec![Region::Matsu]
        )));
        assert!(!s.takes(&item(
            AlertKind::CableCut,
            Some("TP3"),
            vec![Region::Penghu]
        )));
        let all = Subscription {
            islands: vec![],
            cables: vec![],
            kinds: vec![],
            ..s
        };
        assert!(all.takes(&item(AlertKind::IslandShort, None, vec![Region::Lanyu])));
    }

    #[test]
    fn retries_back_off_and_end() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let gaps: Vec<i64> = (0..MAX_ATTEMPTS)
            .map(|a| (retry_at(t, a).expect("retry") - t).num_seconds())
            .collect();
        assert_eq!(gaps, [1, 2, 4, 8, 16, 32, 64, 128]);
        assert!(retry_at(t, MAX_ATTEMPTS).is_none());
        assert_eq!(message_id(3, 9), message_id(3, 9));
        assert_ne!(message_id(3, 9), message_id(39, 0));
    }
}
