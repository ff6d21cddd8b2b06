//! Every page, by role, with JavaScript on (after hydration) and off (as the
//! server renders it): the data is there, write controls only for roles that
//! may write, and the plain forms work without a script. Then axe-core on
//! every page in both languages: no WCAG 2.1 A/AA violation.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use e2e::{
    axe_script, axe_violations, js_string, sign_in_plain, start_browser_with, start_server,
    wait_for, wait_hydrated, Server,
};
use fantoccini::{Client, Locator};

/// Everything in a page's body that writes: forms, their buttons, links to write pages.
const WRITE_CONTROLS: &str = "main form.fault-form, main #save-fault, main #maintenance-form, \
     main button.complete, main form.asset-form, main #save-asset, main a[href='/faults/new'], \
     main a[href='/import'], main a[href='/assets/new'], main a[href='/assets/import'], \
     main form.figure-form, main form.repair-form, main form.ship-form";

/// The navigation's links to write pages.
const WRITE_NAV: &str = "header nav a[href='/faults/new'], header nav a[href='/import']";

/// A fault and an asset of the demo data, to open their pages.
async fn ids(server: &Server) -> Result<(i64, i64)> {
    let token = e2e::token(&server.db, "officer")?;
    let (_, faults) = e2e::api_json(&server.base, &token, "GET", "/api/v1/faults", None).await?;
    let fault = faults
        .as_array()
        .and_then(|a| a.iter().find(|f| f["cable"] == "TDM2"))
        .and_then(|f| f["id"].as_i64())
        .context("a TDM2 fault in the demo data")?;
    let (_, assets) = e2e::api_json(&server.base, &token, "GET", "/api/v1/assets", None).await?;
    let asset = assets["assets"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|a| a["id"].as_i64())
        .context("an asset in the demo data")?;
    Ok((fault, asset))
}

async fn count(c: &Client, css: &str) -> Result<usize> {
    let n = js_string(c, &format!("document.querySelectorAll({css:?}).length")).await?;
    Ok(n.parse()?)
}

/// Opens `path` and waits until it is ready: hydrated with JavaScript, loaded without.
async fn open(c: &Client, base: &str, path: &str, javascript: bool) -> Result<()> {
    c.goto(&format!("{base}{path}")).await?;
    if javascript {
        wait_hydrated(c).await?;
    } else {
        ensure!(
            js_string(c, "document.getElementById('hydration')?.dataset.hydrated").await?
                == "false",
            "{path}: no script ran"
        );
    }
    Ok(())
}

#[tokio::test]
async fn every_page_by_role_with_javascript_on_and_off() -> Result<()> {
    let server = start_server("pages_roles").await?;
    let (fault, asset) = ids(&server).await?;
    let base = server.base.clone();
    // (path, what the page shows whoever reads it, whether an officer gets write controls)
    let pages: Vec<(String, &str, bool)> = vec![
        ("/".into(), "tbody.cable-group[data-cable=TDM2]", false),
        (format!("/faults/{fault}"), "dd.notes", true),
        ("/maintenance".into(), "section.maintenance h1", true),
        ("/map".into(), "#map path.cable[data-cable=TDM2]", false),
        ("/assets".into(), "#asset-counts", true),
        (format!("/assets/{asset}"), "#asset-source", true),
        ("/watch".into(), "#alert-count", false),
        (
            "/resilience".into(),
            "#island-matsu[data-status=degraded]",
            true,
        ),
        ("/exercises".into(), "#no-exercises", false),
        ("/notifications".into(), "#subscription-form", false),
    ];
    for javascript in [true, false] {
        let mode = if javascript { "js" } else { "nojs" };
        for role in ["officer", "watch", "briefing"] {
            let browser = start_browser_with(&format!("roles-{mode}-{role}"), javascript).await?;
            let c = browser.client.clone();
            let result = async {
                sign_in_plain(&c, &base, role).await?;
                for (path, shown, officer_writes) in &pages {
                    open(&c, &base, path, javascript).await?;
                    ensure!(
                        count(&c, shown).await? > 0,
                        "{mode} {role} {path}: {shown} shown"
                    );
                    let writes = count(&c, WRITE_CONTROLS).await?;
                    let nav = count(&c, WRITE_NAV).await?;
                    if role == "officer" {
                        ensure!(
                            (writes > 0) == *officer_writes && nav == 2,
                            "{mode} officer {path}: {writes} write controls, {nav} write links"
                        );
                    } else {
                        ensure!(
                            writes == 0 && nav == 0,
                            "{mode} {role} {path}: {writes} write controls, {nav} write links shown"
                        );
                    }
                    let acks = count(&c, "button[data-ack]").await?;
                    ensure!(
                        role != "briefing" || acks == 0,
                        "{mode} briefing {path}: acknowledge buttons"
                    );
                }
                anyhow::Ok(())
            }
            .await;
            let _ = c.close().await;
            result?;
        }
    }

    // Without JavaScript an officer's edit form has its values, saves by a
    // plain post, and a bad value comes back with the error beside the field
    // and the typed text kept.
    let browser = start_browser_with("nojs-edit", false).await?;
    let c = browser.client.clone();
    let result = async {
        sign_in_plain(&c, &base, "officer").await?;
        open(&c, &base, &format!("/faults/{fault}"), false).await?;
        let km = js_string(
            &c,
            "document.querySelector('form.fault-form [name=km]').value",
        )
        .await?;
        ensure!(!km.is_empty(), "the km field is filled before any script");
        let field = |name: &'static str| {
            let c = c.clone();
            async move {
                c.find(Locator::Css(&format!("form.fault-form [name={name}]")))
                    .await
            }
        };
        field("km").await?.clear().await?;
        field("km").await?.send_keys("far away").await?;
        field("notes").await?.clear().await?;
        field("notes")
            .await?
            .send_keys("typed without a script")
            .await?;
        c.find(Locator::Id("save-fault")).await?.click().await?;
        wait_for("the km error", Duration::from_secs(15), || async {
            js_string(
                &c,
                "document.querySelector('.field-error[data-field=km]')?.textContent ?? ''",
            )
            .await
            .map(|t| !t.trim().is_empty())
            .unwrap_or(false)
        })
        .await?;
        let kept = js_string(
            &c,
            "document.querySelector('form.fault-form [name=notes]').value",
        )
        .await?;
        ensure!(
            kept == "typed without a script",
            "typed notes kept: {kept:?}"
        );
        field("km").await?.clear().await?;
        field("km").await?.send_keys("33").await?;
        c.find(Locator::Id("save-fault")).await?.click().await?;
        wait_for(
            "the saved notes on the fault page",
            Duration::from_secs(15),
            || async {
                js_string(&c, "document.querySelector('dd.notes')?.textContent ?? ''")
                    .await
                    .map(|t| t == "typed without a script")
                    .unwrap_or(false)
            },
        )
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result?;

    // Without JavaScript the watch subscribes to alerts by e-mail: a bad
    // island comes back named with what was typed, a good one is listed and
    // removed again, all by plain posts.
    let browser = start_browser_with("nojs-subscribe", false).await?;
    let c = browser.client.clone();
    let result = async {
        sign_in_plain(&c, &base, "watch").await?;
        open(&c, &base, "/notifications", false).await?;
        ensure!(count(&c, "#no-subscriptions").await? == 1, "none yet");
        let field = |name: &'static str| {
            let c = c.clone();
            async move {
                c.find(Locator::Css(&format!("#subscription-form [name={name}]")))
                    .await
            }
        };
        field("target")
            .await?
            .send_keys("duty@example.gov.tw")
            .await?;
        field("islands").await?.send_keys("matsu, atlantis").await?;
        c.find(Locator::Id("subscribe")).await?.click().await?;
        wait_for("the islands error", Duration::from_secs(15), || async {
            js_string(
                &c,
                "document.querySelector('.field-error[data-field=islands]')?.textContent ?? ''",
            )
            .await
            .map(|t| t.contains("atlantis"))
            .unwrap_or(false)
        })
        .await?;
        let kept = js_string(
            &c,
            "document.querySelector('#subscription-form [name=target]').value",
        )
        .await?;
        ensure!(
            kept == "duty@example.gov.tw",
            "typed address kept: {kept:?}"
        );
        field("islands").await?.clear().await?;
        field("islands").await?.send_keys("matsu").await?;
        c.find(Locator::Id("subscribe")).await?.click().await?;
        wait_for(
            "the subscription listed",
            Duration::from_secs(15),
            || async {
                count(&c, "#subscription-list tr[data-subscription]")
                    .await
                    .map(|n| n == 1)
                    .unwrap_or(false)
            },
        )
        .await?;
        c.find(Locator::Css("#subscription-list button.revoke"))
            .await?
            .click()
            .await?;
        wait_for(
            "the subscription removed",
            Duration::from_secs(15),
            || async {
                count(&c, "#no-subscriptions")
                    .await
                    .map(|n| n == 1)
                    .unwrap_or(false)
            },
        )
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

#[tokio::test]
async fn no_page_has_an_accessibility_violation() -> Result<()> {
    let server = start_server("pages_axe").await?;
    let (fault, asset) = ids(&server).await?;
    let base = server.base.clone();
    let axe = axe_script()?;
    // An exercise with an inject, so its list row and report page are checked too.
    let admin = e2e::token(&server.db, "admin")?;
    let now = chrono::Utc::now();
    let (status, ex) = e2e::api_json(
        &server.base,
        &admin,
        "POST",
        "/api/v1/exercises",
        Some(serde_json::json!({
            "name": "Penghu drill",
            "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
            "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
        })),
    )
    .await?;
    ensure!(status == 201, "exercise scheduled: {status} {ex}");
    let exercise = ex["id"].as_i64().unwrap_or(0);
    let pages = [
        "/".to_string(),
        format!("/faults/{fault}"),
        "/faults/new".into(),
        "/import".into(),
        "/maintenance".into(),
        "/map".into(),
        "/assets".into(),
        format!("/assets/{asset}"),
        "/assets/new".into(),
        "/assets/import".into(),
        "/watch".into(),
        "/resilience".into(),
        "/resilience?cut=TDM3".into(),
        "/repairs".into(),
        "/briefing".into(),
        "/briefing?theme=light".into(),
        "/?as_of=2026-02-14T09:00".into(),
        "/audit".into(),
        "/account".into(),
        "/notifications".into(),
        "/admin/kiosks".into(),
        "/exercises".into(),
        format!("/exercises/{exercise}"),
    ];
    let browser = start_browser_with("axe", true).await?;
    let c = browser.client.clone();
    let result = async {
        let mut found = Vec::new();
        for lang in ["zh-TW", "en"] {
            open(&c, &base, "/signin", true).await?;
            c.delete_all_cookies().await?;
            // The language cookie the switch sets (leptos_i18n's name).
            c.execute(
                &format!("document.cookie = 'i18n_pref_locale={lang}; path=/'"),
                vec![],
            )
            .await?;
            open(&c, &base, "/signin", true).await?;
            let shown = js_string(&c, "document.documentElement.lang").await?;
            ensure!(
                shown == lang,
                "the sign-in page in {lang}: <html lang={shown:?}>"
            );
            for v in axe_violations(&c, &axe).await? {
                found.push(format!("{lang} /signin: {v}"));
            }
            sign_in_plain(&c, &base, "admin").await?;
            for path in &pages {
                open(&c, &base, path, true).await?;
                let html_lang = js_string(&c, "document.documentElement.lang").await?;
                ensure!(
                    html_lang == lang,
                    "{path}: <html lang={html_lang:?}>, want {lang}"
                );
                for v in axe_violations(&c, &axe).await? {
                    found.push(format!("{lang} {path}: {v}"));
                }
            }
        }
        ensure!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

/// The what-if panel: tick a cable, compute, and every island's card shows
/// the answer (Matsu on backup when TDM3 goes too), with JavaScript and
/// without; the real state is one link away.
#[tokio::test]
async fn the_what_if_panel_answers_with_and_without_javascript() -> Result<()> {
    let server = start_server("what_if").await?;
    let base = server.base.clone();
    for javascript in [true, false] {
        let mode = if javascript { "js" } else { "nojs" };
        let browser = start_browser_with(&format!("what-if-{mode}"), javascript).await?;
        let c = browser.client.clone();
        let result = async {
            sign_in_plain(&c, &base, "briefing").await?;
            open(&c, &base, "/resilience", javascript).await?;
            ensure!(
                count(&c, "#island-matsu[data-status=degraded]").await? == 1,
                "{mode}: Matsu degraded now"
            );
            c.find(Locator::Css("#what-if-form input[name=cut][value=TDM3]"))
                .await?
                .click()
                .await?;
            c.find(Locator::Css("#what-if-form button[type=submit]"))
                .await?
                .click()
                .await?;
            wait_for("the what-if answer", Duration::from_secs(20), || async {
                count(&c, "#what-if-banner").await.unwrap_or(0) == 1
                    && count(&c, "#island-matsu[data-status=on_backup]")
                        .await
                        .unwrap_or(0)
                        == 1
            })
            .await?;
            if javascript {
                wait_hydrated(&c).await?;
            }
            let checked = js_string(
                &c,
                "String(document.querySelector('#what-if-form input[value=TDM3]').checked)",
            )
            .await?;
            ensure!(checked == "true", "{mode}: the ticked cable stays ticked");
            let capacity = js_string(
                &c,
                "document.querySelector('#island-matsu dd.capacity').textContent",
            )
            .await?;
            ensure!(
                capacity.starts_with("14.2 Gbps"),
                "{mode}: 12.6 Gbps microwave + nine dishes: {capacity}"
            );
            anyhow::Ok(())
        }
        .await;
        let _ = c.close().await;
        result?;
    }
    Ok(())
}
