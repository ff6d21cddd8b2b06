//! The public alert feeds against real databases (SQLite, and PostgreSQL
//! when `CABLEWATCH_TEST_PG` is set): sanitised items, per island, readable
//! without sign-in only with `--public-feeds`, and every CAP message valid
//! against the OASIS CAP 1.2 schema (`xmllint --schema`, Debian
//! libxml2-utils, installed by `cargo xtask setup`).

mod common;

use axum::http::StatusCode;
use chrono::Utc;
use common::{app, app_with, call, get_text, officer_token, registries, user_token};
use serde_json::json;
use shared::auth::Role;
use std::str::FromStr;

const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/schemas/CAP-v1.2.xsd");

/// Checks a CAP message against the schema; the error names what is wrong.
fn xmllint(doc: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("cablewatch-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{}.xml", rand_name()));
    std::fs::write(&path, doc).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", XSD])
        .arg(&path)
        .output()
        .map_err(|e| format!("xmllint (cargo xtask setup installs it): {e}"))?;
    let _ = std::fs::remove_file(&path);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn rand_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

fn fault(
    cable: &str,
    kind: &str,
    place: &str,
    km: &str,
    routes: &str,
    notes: &str,
) -> serde_json::Value {
    let today = shared::history::taipei_day(&Utc::now()).to_string();
    json!({
        "cable": cable, "detected_on": today, "kind": kind, "place": place,
        "km": km, "alternate_routes": routes, "eta": "", "status": "open",
        "restored_on": "", "notes": notes, "capacity_lost_pct": ""
    })
}

/// The `href`s of the CAP messages an Atom index points at.
fn cap_links(atom: &str) -> Vec<String> {
    let feed = atom_syndication::Feed::from_str(atom).expect("the index is Atom");
    feed.entries()
        .iter()
        .flat_map(|e| e.links())
        .filter(|l| l.mime_type() == Some("application/cap+xml"))
        .map(|l| l.href().to_string())
        .collect()
}

#[tokio::test]
async fn the_feeds_publish_sanitised_valid_cap_and_atom_per_island() {
    for (engine, reg, url) in registries("feeds").await {
        let private = app(&reg, &url).await;
        let public = app_with(
            &reg,
            &url,
            server::web::WebConfig {
                public_feeds: true,
                ..Default::default()
            },
        )
        .await;
        let officer = officer_token(&reg).await;
        let reader = user_token(&reg, "feed-reader", Role::Watch).await;
        let (s, b) = call(
            &private,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(fault(
                "TDM2",
                "cut",
                "淡水沙崙",
                "31.5",
                "<script>alert(1)</script> 微波 & satellite",
                "INTERNAL: crew lead phone 0912",
            )),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let (s, b) = call(
            &private,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(fault("TP3", "partial_damage", "澎湖馬公", "4", "", "")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");

        // Off unless started with --public-feeds: then sign-in is needed.
        for path in ["/feeds/alerts.atom", "/feeds/alerts.cap.xml"] {
            let (s, _, _) = get_text(&private, None, path).await;
            assert_eq!(
                s,
                StatusCode::UNAUTHORIZED,
                "{engine}: {path} is not public"
            );
            let (s, _, _) = get_text(&private, Some(&reader), path).await;
            assert_eq!(s, StatusCode::OK, "{engine}: a reader previews {path}");
        }
        // With it, the feeds and only the feeds are readable by anyone.
        let (s, _, _) = get_text(&public, None, "/api/v1/faults").await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{engine}: the API stays closed"
        );
        let (s, ctype, atom) = get_text(&public, None, "/feeds/alerts.atom").await;
        assert_eq!(s, StatusCode::OK, "{engine}: {atom}");
        assert!(
            ctype.starts_with("application/atom+xml"),
            "{engine}: {ctype}"
        );
        let feed = atom_syndication::Feed::from_str(&atom).expect("Atom");
        assert!(feed.entries().len() >= 3, "{engine}: {atom}");
        for said in ["TDM2", "31.5 km from 淡水沙崙", "Subsea cable cut", "TP3"] {
            assert!(atom.contains(said), "{engine}: {said:?} in {atom}");
        }
        // Sanitised: no notes, no provenance, no user names; markup escaped.
        for never in ["INTERNAL", "0912", "officer", "feed-reader", "<script>"] {
            assert!(!atom.contains(never), "{engine}: {never:?} leaked: {atom}");
        }
        assert!(atom.contains("&lt;script&gt;"), "{engine}: escaped: {atom}");

        // The CAP index points at one message per item, each valid CAP 1.2.
        let (s, _, index) = get_text(&public, None, "/feeds/alerts.cap.xml").await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        let links = cap_links(&index);
        assert_eq!(links.len(), feed.entries().len(), "{engine}: {index}");
        for href in &links {
            let (s, ctype, cap) = get_text(&public, None, href).await;
            assert_eq!(s, StatusCode::OK, "{engine}: {href}");
            assert!(
                ctype.starts_with("application/cap+xml"),
                "{engine}: {ctype}"
            );
            xmllint(&cap).unwrap_or_else(|e| panic!("{engine}: {href} invalid: {e}\n{cap}"));
            assert!(cap.contains("<status>Actual</status>"), "{engine}: {cap}");
            assert!(
                !cap.contains("INTERNAL") && !cap.contains("officer"),
                "{engine}: {cap}"
            );
        }
        let cut = links
            .iter()
            .find(|h| !h.contains("exercise"))
            .expect("a message");
        let (_, _, cap) = get_text(&public, None, cut).await;
        assert!(
            cap.contains("<sent>") && cap.contains("+08:00</sent>"),
            "{engine}: {cap}"
        );

        // Per island: Matsu's feed has the Taiwan–Matsu cable, not Penghu's.
        let (s, _, matsu) = get_text(&public, None, "/feeds/islands/matsu/alerts.atom").await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert!(
            matsu.contains("TDM2") && !matsu.contains("TP3"),
            "{engine}: {matsu}"
        );
        let (s, _, penghu) = get_text(&public, None, "/feeds/islands/penghu/alerts.cap.xml").await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert!(!cap_links(&penghu).is_empty(), "{engine}: {penghu}");
        assert!(!penghu.contains("TDM2"), "{engine}: {penghu}");
        let (s, _, _) = get_text(&public, None, "/feeds/islands/atlantis/alerts.atom").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
        let (s, _, _) = get_text(&public, None, "/feeds/alerts/nothing-here.cap.xml").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");

        // The same alerts give the same bytes (no clock in the document).
        let (_, _, again) = get_text(&public, None, "/feeds/alerts.atom").await;
        assert_eq!(again, atom, "{engine}");

        // An exercise's feed is never public.
        let (s, _, _) = get_text(&public, None, "/feeds/alerts.atom?exercise=1").await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::NOT_FOUND,
            "{engine}: {s}"
        );
    }
}
