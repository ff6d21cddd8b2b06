//! The public alert feeds: Atom (`/feeds/alerts.atom`) and CAP 1.2 (an Atom
//! index of CAP messages at `/feeds/alerts.cap.xml`, each message at
//! `/feeds/alerts/{identifier}.cap.xml`), for every island or one
//! (`/feeds/islands/{region}/…`). What an item says is decided in
//! `shared::feed` (sanitised: no notes, no names); this module only writes
//! the XML.
//!
//! Readable without sign-in only when the server runs with `--public-feeds`
//! (`policy::Need::Feed`); otherwise signed-in readers may look at what would
//! be published. Reality's items are `Actual`. A signed-in reader in an
//! exercise (`?exercise=ID`) sees its layer's items too, each `Exercise`,
//! with the mark in its title and note; the public never does.

use atom_syndication::{
    CategoryBuilder, ContentBuilder, EntryBuilder, FeedBuilder, FixedDateTime, LinkBuilder,
    PersonBuilder, Text,
};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use shared::api::ApiError;
use shared::auth::Principal;
use shared::feed::{cap_time, grading, kind_label, Item};
use shared::resilience::Region;

use crate::error::Error;
use crate::in_exercise::InExercise;
use crate::Registry;

/// The CAP 1.2 namespace.
pub const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// What the feeds name as their sender and author.
pub const SENDER: &str = "cablewatch";
pub const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
pub const CAP_TYPE: &str = "application/cap+xml; charset=utf-8";

pub fn router() -> Router<Registry> {
    Router::new()
        .route("/feeds/alerts.atom", get(atom_all))
        .route("/feeds/alerts.cap.xml", get(cap_index_all))
        .route("/feeds/alerts/{file}", get(cap_message))
        .route("/feeds/islands/{region}/alerts.atom", get(atom_island))
        .route(
            "/feeds/islands/{region}/alerts.cap.xml",
            get(cap_index_island),
        )
}

type Ex = Option<Extension<InExercise>>;
type Who = Option<Extension<Principal>>;

/// The exercise a feed request is in: only a signed-in reader's.
fn exercise(ex: Ex, who: &Who) -> Result<Option<shared::exercise::Exercise>, Error> {
    match (ex, who) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(Error(ApiError::unauthorized(
            "an exercise's feed is for signed-in readers",
        ))),
        (Some(Extension(InExercise(e))), Some(_)) => Ok(Some(e)),
    }
}

fn region(id: &str) -> Result<Region, Error> {
    Region::parse(id).ok_or_else(|| {
        Error(ApiError::not_found(format!(
            "no island {id:?}: one of {}",
            Region::ALL.map(|r| r.id()).join(", ")
        )))
    })
}

async fn atom_all(State(reg): State<Registry>, ex: Ex, who: Who) -> Result<Response, Error> {
    feed(&reg, exercise(ex, &who)?, None, Kind::Atom).await
}

async fn cap_index_all(State(reg): State<Registry>, ex: Ex, who: Who) -> Result<Response, Error> {
    feed(&reg, exercise(ex, &who)?, None, Kind::CapIndex).await
}

async fn atom_island(
    State(reg): State<Registry>,
    Path(id): Path<String>,
    ex: Ex,
    who: Who,
) -> Result<Response, Error> {
    feed(&reg, exercise(ex, &who)?, Some(region(&id)?), Kind::Atom).await
}

async fn cap_index_island(
    State(reg): State<Registry>,
    Path(id): Path<String>,
    ex: Ex,
    who: Who,
) -> Result<Response, Error> {
    feed(
        &reg,
        exercise(ex, &who)?,
        Some(region(&id)?),
        Kind::CapIndex,
    )
    .await
}

async fn cap_message(
    State(reg): State<Registry>,
    Path(file): Path<String>,
    ex: Ex,
    who: Who,
) -> Result<Response, Error> {
    let ex = exercise(ex, &who)?;
    let missing = || {
        Error(ApiError::not_found(format!(
            "no alert {file:?} in the feed"
        )))
    };
    let id = file.strip_suffix(".cap.xml").ok_or_else(missing)?;
    let items = reg.feed(ex.as_ref(), None).await.map_err(Error)?;
    let item = items
        .iter()
        .find(|i| i.identifier() == id)
        .ok_or_else(missing)?;
    let body = cap(item).map_err(xml_err)?;
    Ok(([(CONTENT_TYPE, CAP_TYPE)], body).into_response())
}

/// Which Atom document: the alerts with their text, or the CAP index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Entries with their text.
    Atom,
    /// Entries pointing at their CAP messages.
    CapIndex,
}

async fn feed(
    reg: &Registry,
    ex: Option<shared::exercise::Exercise>,
    region: Option<Region>,
    kind: Kind,
) -> Result<Response, Error> {
    let items = reg.feed(ex.as_ref(), region).await.map_err(Error)?;
    let body = atom(&items, ex.as_ref().map(|e| e.id), region, kind);
    Ok(([(CONTENT_TYPE, ATOM_TYPE)], body).into_response())
}

fn xml_err(e: std::io::Error) -> Error {
    tracing::error!(error = %e, "writing a CAP message");
    Error(ApiError::internal())
}

fn fixed(t: DateTime<Utc>) -> FixedDateTime {
    let taipei = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00"));
    t.with_timezone(&taipei)
}

/// Where an item's CAP message is (relative to the site; an exercise's
/// keeps its `?exercise=`).
pub fn cap_href(item: &Item) -> String {
    let q = item
        .exercise
        .as_ref()
        .map(|(id, _)| format!("?exercise={id}"))
        .unwrap_or_default();
    format!("/feeds/alerts/{}.cap.xml{q}", item.identifier())
}

/// The Atom document of `items`. Its `updated` is the newest item's time
/// (the Unix epoch when there is none), so the same alerts give the same bytes.
pub fn atom(items: &[Item], exercise: Option<i64>, region: Option<Region>, kind: Kind) -> String {
    let mut id = String::from("urn:cablewatch:feed:alerts");
    let mut title = String::from("cablewatch: subsea cable and island alerts");
    if kind == Kind::CapIndex {
        id.push_str(":cap");
        title.push_str(" (CAP 1.2)");
    }
    if let Some(r) = region {
        id.push_str(&format!(":island:{}", r.id()));
        title.push_str(&format!(" — {} {}", r.name_en(), r.name_zh()));
    }
    if let Some(e) = exercise {
        id.push_str(&format!(":exercise:{e}"));
        title = format!("{} — {title}", shared::feed::EXERCISE_MARK);
    }
    let updated = items
        .iter()
        .map(|i| i.sent)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let entries = items
        .iter()
        .map(|i| {
            let mut cats = vec![
                CategoryBuilder::default().term(i.kind.as_str()).build(),
                CategoryBuilder::default().term(i.status().as_str()).build(),
            ];
            cats.extend(
                i.regions
                    .iter()
                    .map(|r| CategoryBuilder::default().term(r.id()).build()),
            );
            let mut text = i.description.clone();
            if let Some(s) = &i.instruction {
                text.push('\n');
                text.push_str(s);
            }
            if let Some(n) = i.note() {
                text = format!("{n}\n{text}");
            }
            let cap_link = LinkBuilder::default()
                .href(cap_href(i))
                .rel(if kind == Kind::CapIndex {
                    "alternate"
                } else {
                    "related"
                })
                .mime_type(Some("application/cap+xml".to_string()))
                .build();
            let mut e = EntryBuilder::default();
            e.id(format!("urn:cablewatch:{}", i.identifier()))
                .title(Text::plain(i.title()))
                .updated(fixed(i.sent))
                .published(Some(fixed(i.sent)))
                .categories(cats)
                .links(vec![cap_link])
                .summary(Some(Text::plain(format!(
                    "{} ({})",
                    kind_label(i.kind),
                    i.area.desc
                ))));
            if kind == Kind::Atom {
                e.content(Some(
                    ContentBuilder::default()
                        .value(Some(text))
                        .content_type(Some("text".to_string()))
                        .build(),
                ));
            }
            e.build()
        })
        .collect::<Vec<_>>();
    FeedBuilder::default()
        .id(id)
        .title(Text::plain(title))
        .updated(fixed(updated))
        .authors(vec![PersonBuilder::default().name(SENDER).build()])
        .entries(entries)
        .build()
        .to_string()
}

/// One CAP 1.2 message (valid against the OASIS schema: element order,
/// times with an offset, `Exercise` items carrying a note).
pub fn cap(item: &Item) -> Result<String, std::io::Error> {
    let g = grading(item.kind);
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("alert")
        .with_attribute(("xmlns", CAP_NS))
        .write_inner_content(|w| {
            el(w, "identifier", &item.identifier())?;
            el(w, "sender", SENDER)?;
            el(w, "sent", &cap_time(item.sent))?;
            el(w, "status", item.status().as_str())?;
            el(w, "msgType", "Alert")?;
            el(w, "scope", "Public")?;
            if let Some(n) = item.note() {
                el(w, "note", &n)?;
            }
            w.create_element("info").write_inner_content(|w| {
                el(w, "language", "en-US")?;
                el(w, "category", "Infra")?;
                el(w, "event", kind_label(item.kind))?;
                el(
                    w,
                    "responseType",
                    if g.all_clear { "AllClear" } else { "Monitor" },
                )?;
                el(w, "urgency", g.urgency)?;
                el(w, "severity", g.severity)?;
                el(w, "certainty", g.certainty)?;
                pair(w, "eventCode", "cablewatch:alert_kind", item.kind.as_str())?;
                el(w, "senderName", SENDER)?;
                el(w, "headline", &item.title())?;
                el(w, "description", &item.description)?;
                if let Some(s) = &item.instruction {
                    el(w, "instruction", s)?;
                }
                if let Some(c) = &item.cable {
                    pair(w, "parameter", "cablewatch:cable", c)?;
                }
                for r in &item.regions {
                    pair(w, "parameter", "cablewatch:island", r.id())?;
                }
                w.create_element("area").write_inner_content(|w| {
                    el(w, "areaDesc", &item.area.desc)?;
                    if let Some((lat, lon, km)) = item.area.circle {
                        el(w, "circle", &format!("{lat:.4},{lon:.4} {km:.1}"))?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

fn el(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> Result<(), std::io::Error> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn pair(w: &mut Writer<Vec<u8>>, name: &str, key: &str, value: &str) -> Result<(), std::io::Error> {
    w.create_element(name).write_inner_content(|w| {
        el(w, "valueName", key)?;
        el(w, "value", value)
    })?;
    Ok(())
}
