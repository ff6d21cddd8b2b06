//! Headless Chromium against the real server and its demo data: the fault
//! list, hydration, logging a fault through the form, importing a notice.

use std::time::Duration;

use anyhow::{ensure, Result};
use e2e::{js_string, sign_in, start_browser, start_server, wait_for, wait_hydrated};
use fantoccini::{Client, Locator};

const CABLES: [&str; 8] = [
    "EAC1", "TDM2", "TSE-1", "PLCN", "FNAL", "RNAL", "EAC2", "Apricot",
];

/// Runs a browser scenario and always closes the browser, even on failure.
async fn scenario<F, Fut>(name: &str, f: F) -> Result<()>
where
    F: FnOnce(Client, String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let server = start_server(name).await?;
    let browser = start_browser(name).await?;
    let client = browser.client.clone();
    let result = f(client.clone(), server.base.clone()).await;
    if result.is_err() {
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(
                std::env::temp_dir().join(format!("cablewatch-{name}.png")),
                png,
            );
        }
    }
    let _ = client.close().await;
    result
}

async fn visible_cables(c: &Client) -> Result<Vec<String>> {
    let s = js_string(
        c,
        "[...document.querySelectorAll('tbody.cable-group')].filter(g => getComputedStyle(g).display !== 'none').map(g => g.dataset.cable).join(',')",
    )
    .await?;
    Ok(s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect())
}

#[tokio::test]
async fn fault_list_shows_the_notice_and_hydrates() -> Result<()> {
    scenario("list", |c, base| async move {
        // Nothing is public: the list sends an anonymous reader to sign in.
        c.goto(&base).await?;
        let url = c.current_url().await?;
        ensure!(url.path() == "/signin", "redirected to sign in: {url}");
        // A briefing user reads; the write links are not shown to them.
        sign_in(&c, &base, "briefing").await?;
        c.goto(&base).await?;
        let links = js_string(&c, "[...document.querySelectorAll('header nav a')].map(a => a.getAttribute('href')).join(',')").await?;
        ensure!(!links.contains("/import") && !links.contains("/faults/new"), "briefing nav: {links}");
        // (a) the server-rendered list has the notice's 8 cables.
        let cables = visible_cables(&c).await?;
        ensure!(cables == CABLES, "cables shown: {cables:?}");
        let summary = c.find(Locator::Id("summary")).await?.text().await?;
        ensure!(summary.contains("11"), "summary {summary:?}");
        // Every open fault has the model's P50 / P90 dates and the notice's
        // alternate routes; an ETA earlier than the model's P10 is flagged
        // with the reasons as its tooltip.
        const MODEL_ROWS: &str = "(() => { const rows = [...document.querySelectorAll('tr.fault:not(.restored)')]; \
            const dated = rows.filter(r => /^\\d{4}-\\d\\d-\\d\\d \\/ \\d{4}-\\d\\d-\\d\\d$/.test(r.querySelector('td.model').textContent.trim())).length; \
            const flagged = [...document.querySelectorAll('tr.fault strong.optimistic')].filter(s => s.title.length > 10).length; \
            const routes = rows.filter(r => r.children[4].textContent.trim().length > 0).length; \
            return `${rows.length} ${dated} ${flagged} ${routes}`; })()";
        let model_rows = |stage: &'static str| {
            let c = c.clone();
            async move {
                let seen = js_string(&c, MODEL_ROWS).await?;
                let n: Vec<usize> = seen.split(' ').filter_map(|x| x.parse().ok()).collect();
                ensure!(
                    n.len() == 4 && n[0] == 11 && n[1] == 11 && n[2] > 0 && n[3] > 0,
                    "{stage}: open rows, dated, flagged, with routes: {seen}"
                );
                anyhow::Ok(())
            }
        };
        model_rows("as served").await?;
        // (b) after hydration the restored-faults toggle works.
        wait_hydrated(&c).await?;
        model_rows("hydrated").await?;
        c.find(Locator::Id("toggle-restored"))
            .await?
            .click()
            .await?;
        wait_for(
            "restored cables to appear",
            Duration::from_secs(10),
            || async {
                visible_cables(&c)
                    .await
                    .map(|v| v.contains(&"TPE".to_string()))
                    .unwrap_or(false)
            },
        )
        .await?;
        // The language switch re-renders in the other language without a reload.
        let before = js_string(&c, "document.querySelector('h1').textContent").await?;
        c.find(Locator::Id("lang-switch")).await?.click().await?;
        wait_for("the other language", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelector('h1').textContent")
                .await
                .map(|t| {
                    t != before
                        && (t.contains("Submarine cable faults")
                            || t.contains("海纜障礙資訊一覽表"))
                })
                .unwrap_or(false)
        })
        .await?;
        // Re-rendered in the browser from the same rows.
        model_rows("re-rendered").await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn logging_a_fault_through_the_form() -> Result<()> {
    scenario("form", |c, base| async move {
        sign_in(&c, &base, "officer").await?;
        c.goto(&format!("{base}/faults/new")).await?;
        wait_hydrated(&c).await?;
        // A form with a bad distance keeps what was typed and names the field.
        let set = |name: &'static str, value: &'static str| {
            let c = c.clone();
            async move {
                let el = c.find(Locator::Css(&format!("[name={name}]"))).await?;
                el.clear().await?;
                el.send_keys(value).await?;
                anyhow::Ok(())
            }
        };
        wait_for("cable options", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelectorAll('select[name=cable] option').length")
                .await
                .map(|n| n.parse::<usize>().unwrap_or(0) > 20)
                .unwrap_or(false)
        })
        .await?;
        c.execute(
            "const s=document.querySelector('select[name=cable]'); s.value='TDM3'; s.dispatchEvent(new Event('change',{bubbles:true}));\
             const k=document.querySelector('select[name=kind]'); k.value='cut'; k.dispatchEvent(new Event('change',{bubbles:true}));\
             const d=document.querySelector('input[name=detected_on]'); d.value='2026-02-10'; d.dispatchEvent(new Event('input',{bubbles:true}));",
            vec![],
        )
        .await?;
        set("place", "桃園草漯").await?;
        set("km", "far").await?;
        set("notes", "<script>alert(1)</script>").await?;
        c.find(Locator::Id("save-fault")).await?.click().await?;
        wait_for("the km error", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelector('.field-error[data-field=km]').textContent")
                .await
                .map(|t| !t.is_empty())
                .unwrap_or(false)
        })
        .await?;
        let kept = js_string(&c, "document.querySelector('[name=place]').value").await?;
        ensure!(kept == "桃園草漯", "the form kept what was typed: {kept:?}");
        set("km", "40").await?;
        c.find(Locator::Id("save-fault")).await?.click().await?;
        wait_for("the fault page", Duration::from_secs(15), || async {
            c.current_url().await.map(|u| u.path().starts_with("/faults/") && !u.path().ends_with("/new")).unwrap_or(false)
        })
        .await?;
        wait_for("the notes shown as text", Duration::from_secs(15), || async {
            js_string(&c, "document.querySelector('dd.notes')?.textContent")
                .await
                .map(|t| t == "<script>alert(1)</script>")
                .unwrap_or(false)
        })
        .await?;
        // And the list has the new fault under TDM3.
        c.goto(&base).await?;
        let cables = visible_cables(&c).await?;
        ensure!(cables.contains(&"TDM3".to_string()), "TDM3 listed: {cables:?}");
        // The audit trail shows the note as text too, attributed to the officer.
        c.goto(&format!("{base}/audit")).await?;
        wait_hydrated(&c).await?;
        wait_for("the audit row", Duration::from_secs(15), || async {
            js_string(&c, "[...document.querySelectorAll('#audit-list pre')].some(p => p.textContent.includes('<script>alert(1)</script>'))")
                .await
                .map(|t| t == "true")
                .unwrap_or(false)
        })
        .await?;
        let who = js_string(&c, "document.querySelector('#audit-list tbody tr td:nth-child(3)').textContent").await?;
        ensure!(who == "user:officer", "attributed: {who:?}");
        ensure!(
            c.get_alert_text().await.is_err(),
            "no script ran: no dialog is open"
        );
        let scripts = js_string(&c, "[...document.querySelectorAll('script')].filter(s => s.textContent.trim() === 'alert(1)').length").await?;
        ensure!(scripts == "0", "no injected script element");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn importing_a_pasted_notice() -> Result<()> {
    scenario("import", |c, base| async move {
        // The duty watch may not import: the page is refused by the server.
        sign_in(&c, &base, "watch").await?;
        c.goto(&format!("{base}/import")).await?;
        let body = js_string(&c, "document.body.textContent").await?;
        ensure!(body.contains("forbidden") || body.contains("may not"), "watch refused: {body}");
        c.find(Locator::Id("sign-out")).await.ok();
        sign_in(&c, &base, "officer").await?;
        c.goto(&format!("{base}/import")).await?;
        wait_hydrated(&c).await?;
        let notice = include_str!("../../shared/tests/fixtures/2026-02-14-fault-notice.txt")
            .replace("115/2/27", "115/3/15");
        // A bad notice first: every problem named, nothing imported.
        let bad = notice.replace("(PLCN)", "(XPLCN)");
        let area = c.find(Locator::Id("notice-text")).await?;
        c.execute(
            "const t=document.getElementById('notice-text'); t.value=arguments[0]; t.dispatchEvent(new Event('input',{bubbles:true}));",
            vec![serde_json::Value::String(bad)],
        )
        .await?;
        c.find(Locator::Id("preview-notice")).await?.click().await?;
        wait_for("the line errors", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelector('#import-errors li[data-line=\"18\"]') !== null")
                .await
                .map(|t| t == "true")
                .unwrap_or(false)
        })
        .await?;
        let _ = area;
        c.execute(
            "const t=document.getElementById('notice-text'); t.value=arguments[0]; t.dispatchEvent(new Event('input',{bubbles:true}));",
            vec![serde_json::Value::String(notice)],
        )
        .await?;
        c.find(Locator::Id("preview-notice")).await?.click().await?;
        wait_for("three updated rows", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelectorAll('#import-preview tr[data-kind=updated]').length")
                .await
                .map(|n| n == "3")
                .unwrap_or(false)
        })
        .await?;
        c.find(Locator::Id("confirm-import")).await?.click().await?;
        wait_for("the import result", Duration::from_secs(10), || async {
            js_string(&c, "document.getElementById('import-done')?.textContent")
                .await
                .map(|t| t.contains('4'))
                .unwrap_or(false)
        })
        .await?;
        c.goto(&base).await?;
        let html = c.source().await?;
        ensure!(html.contains("2026-03-15"), "the revised ETA is listed");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_map_shows_the_notice_and_its_layers_work() -> Result<()> {
    scenario("map", |c, base| async move {
        sign_in(&c, &base, "watch").await?;
        c.goto(&format!("{base}/map")).await?;
        // Server-rendered: the 8 faulted cables and the 11 pins are in the SVG.
        let affected = js_string(&c, "[...document.querySelectorAll('#map path.cable')].filter(p => p.dataset.state === 'cut' || p.dataset.state === 'degraded').map(p => p.dataset.cable).sort().join(',')").await?;
        let mut want: Vec<&str> = CABLES.to_vec();
        want.sort();
        ensure!(affected == want.join(","), "faulted cables on the map: {affected}");
        let pins = js_string(&c, "document.querySelectorAll('#map polygon.pin').length").await?;
        ensure!(pins == "11", "pins: {pins}");
        let tdm2 = js_string(&c, "document.querySelector('#map path[data-cable=TDM2]').dataset.state").await?;
        ensure!(tdm2 == "cut", "a cable with an open cut is cut: {tdm2}");
        wait_hydrated(&c).await?;
        // Switching the fault layer off hides the pins.
        c.find(Locator::Id("layer-faults")).await?.click().await?;
        wait_for("the fault layer hidden", Duration::from_secs(10), || async {
            js_string(&c, "document.getElementById('faults').classList.contains('hidden')")
                .await
                .map(|t| t == "true")
                .unwrap_or(false)
        })
        .await?;
        c.find(Locator::Id("layer-faults")).await?.click().await?;
        // Clicking FNAL's pin opens its panel: its alternates are highlighted on
        // the map, and EAC1, itself faulted, is flagged.
        c.execute(
            "document.querySelector('#map polygon.pin[data-cable=FNAL]').dispatchEvent(new MouseEvent('click', {bubbles: true}))",
            vec![],
        )
        .await?;
        wait_for("the fault panel", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelector('#map-panel a[href^=\"/faults/\"]') !== null")
                .await
                .map(|t| t == "true")
                .unwrap_or(false)
        })
        .await?;
        let flagged = js_string(&c, "[...document.querySelectorAll('#panel-alternates .alt.faulted')].map(a => a.dataset.alternate).join(',')").await?;
        ensure!(flagged == "EAC1", "faulted alternates flagged: {flagged:?}");
        let highlighted = js_string(&c, "[...document.querySelectorAll('#map path.cable.alternate')].map(p => p.dataset.cable).sort().join(',')").await?;
        ensure!(highlighted == "APG,EAC1", "highlighted alternates: {highlighted:?}");
        // Nothing was loaded from any host but this server.
        let foreign = js_string(&c, "performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin)).join(' ')").await?;
        ensure!(foreign.is_empty(), "requests to other hosts: {foreign}");
        // A zoom preset changes the view.
        let before = js_string(&c, "document.getElementById('map').getAttribute('viewBox')").await?;
        c.find(Locator::Css("button.preset[data-view=region]")).await?.click().await?;
        wait_for("the region view", Duration::from_secs(10), || async {
            js_string(&c, "document.getElementById('map').getAttribute('viewBox')")
                .await
                .map(|t| t != before)
                .unwrap_or(false)
        })
        .await?;
        Ok(())
    })
    .await
}

async fn js_true(c: &Client, expr: &str) -> bool {
    js_string(c, expr)
        .await
        .map(|t| t == "true")
        .unwrap_or(false)
}

#[tokio::test]
async fn the_asset_layer_pans_zooms_and_opens_assets() -> Result<()> {
    scenario("map_assets", |c, base| async move {
        sign_in(&c, &base, "watch").await?;
        c.goto(&format!("{base}/map")).await?;
        // The demo inventory is on the map, clustered, within the element budget.
        wait_for("asset markers", Duration::from_secs(20), || async {
            js_true(&c, "document.querySelectorAll('#assets [data-kind]').length > 20").await
        })
        .await?;
        let elements: usize = js_string(&c, "document.querySelectorAll('#map *').length")
            .await?
            .parse()?;
        ensure!(elements <= 1500, "{elements} SVG elements");
        ensure!(
            js_true(&c, "document.querySelector('#assets .cluster[data-count]') !== null").await,
            "clusters carry their count"
        );
        wait_hydrated(&c).await?;
        // The layer switch hides the assets.
        c.find(Locator::Id("layer-assets")).await?.click().await?;
        wait_for("the asset layer hidden", Duration::from_secs(10), || async {
            js_true(&c, "document.getElementById('assets').classList.contains('hidden')").await
        })
        .await?;
        c.find(Locator::Id("layer-assets")).await?.click().await?;
        // Zooming halves the visible width and fetches the layer for the new scale.
        let width = |vb: &str| vb.split(' ').nth(2).and_then(|w| w.parse::<f64>().ok()).unwrap_or(0.0);
        let before = js_string(&c, "document.getElementById('map').getAttribute('viewBox')").await?;
        c.find(Locator::Id("zoom-in")).await?.click().await?;
        wait_for("zoomed in", Duration::from_secs(10), || async {
            js_string(&c, "document.getElementById('map').getAttribute('viewBox')")
                .await
                .map(|vb| (width(&vb) * 2.0 - width(&before)).abs() < 1.0)
                .unwrap_or(false)
        })
        .await?;
        // Dragging pans: the viewBox origin moves.
        let vb1 = js_string(&c, "document.getElementById('map').getAttribute('viewBox')").await?;
        c.execute(
            "const m = document.getElementById('map'); \
             const ev = (t, x) => new PointerEvent(t, {bubbles: true, clientX: x, clientY: 300}); \
             m.dispatchEvent(ev('pointerdown', 600)); m.dispatchEvent(ev('pointermove', 500)); m.dispatchEvent(ev('pointerup', 500));",
            vec![],
        )
        .await?;
        let vb2 = js_string(&c, "document.getElementById('map').getAttribute('viewBox')").await?;
        ensure!(vb1 != vb2, "a drag pans: {vb1} → {vb2}");
        // Clicking a single asset opens its panel, labelled synthetic, with a link.
        wait_for("a single asset", Duration::from_secs(20), || async {
            js_true(&c, "document.querySelector('#assets circle[data-asset]') !== null").await
        })
        .await?;
        c.execute(
            "document.querySelector('#assets circle[data-asset]').dispatchEvent(new MouseEvent('click', {bubbles: true}))",
            vec![],
        )
        .await?;
        wait_for("the asset panel", Duration::from_secs(10), || async {
            js_true(&c, "document.querySelector('#asset-panel a[href^=\"/assets/\"]') !== null").await
        })
        .await?;
        ensure!(
            js_true(&c, "document.querySelector('#asset-panel .badge.synthetic') !== null").await,
            "synthetic assets say so"
        );
        // The list: counts per kind, the synthetic note, and no write links for the watch.
        c.goto(&format!("{base}/assets")).await?;
        wait_hydrated(&c).await?;
        let hubs = js_string(&c, "document.querySelector('#asset-counts tr[data-kind=hub_5g] td.total').textContent").await?;
        ensure!(hubs == "1123", "hub 5G count: {hubs}");
        ensure!(js_true(&c, "document.getElementById('synthetic-note') !== null").await, "synthetic note");
        ensure!(
            js_true(&c, "document.querySelector('a[href=\"/assets/new\"]') === null").await,
            "the watch cannot add assets"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_officer_adds_an_asset_and_a_bad_import_writes_nothing() -> Result<()> {
    scenario("asset_form", |c, base| async move {
        sign_in(&c, &base, "officer").await?;
        c.goto(&format!("{base}/assets/new")).await?;
        wait_hydrated(&c).await?;
        let fill = |name: &'static str, value: &'static str| {
            let c = c.clone();
            async move {
                let el = c.find(Locator::Css(&format!("form.asset-form [name={name}]"))).await?;
                el.clear().await?;
                el.send_keys(value).await?;
                anyhow::Ok(())
            }
        };
        fill("name", "Dongyin LEO test dish").await?;
        c.find(Locator::Css("form.asset-form select[name=kind] option[value=sat_terminal]")).await?.click().await?;
        fill("lat", "26.37").await?;
        fill("lon", "east").await?;
        fill("region", "Matsu").await?;
        c.find(Locator::Id("save-asset")).await?.click().await?;
        wait_for("the longitude error", Duration::from_secs(10), || async {
            js_string(&c, "document.querySelector('.field-error[data-field=lon]').textContent")
                .await
                .map(|t| !t.is_empty())
                .unwrap_or(false)
        })
        .await?;
        let kept = js_string(&c, "document.querySelector('form.asset-form [name=name]').value").await?;
        ensure!(kept == "Dongyin LEO test dish", "the typed name is kept: {kept}");
        fill("lon", "120.49").await?;
        c.find(Locator::Id("save-asset")).await?.click().await?;
        wait_for("the asset page", Duration::from_secs(15), || async {
            js_string(&c, "document.getElementById('asset-source')?.textContent ?? ''")
                .await
                .map(|t| t == "user:officer")
                .unwrap_or(false)
        })
        .await?;
        // A CSV with one bad line: the line is named and nothing is written.
        c.goto(&format!("{base}/assets/import")).await?;
        wait_hydrated(&c).await?;
        let csv = "name,kind,lon,lat,region\\nGood one,ppdr,121.6,24.0,Hualien\\nBad one,ppdr,121.6,95,Hualien";
        c.execute(
            &format!("const t = document.getElementById('asset-import-text'); t.value = \"{csv}\"; t.dispatchEvent(new Event('input', {{bubbles: true}}));"),
            vec![],
        )
        .await?;
        c.find(Locator::Id("asset-import")).await?.click().await?;
        wait_for("the bad line", Duration::from_secs(10), || async {
            js_string(&c, "document.getElementById('asset-import-lines')?.textContent ?? ''")
                .await
                .map(|t| t.contains("line 3"))
                .unwrap_or(false)
        })
        .await?;
        c.goto(&format!("{base}/assets?q=Good%20one")).await?;
        wait_hydrated(&c).await?;
        let rows = js_string(&c, "document.querySelectorAll('#asset-table tbody tr').length").await?;
        ensure!(rows == "0", "nothing imported: {rows} rows");
        Ok(())
    })
    .await
}

/// Waits until the page's live stream is caught up (`#live-state` = live).
async fn wait_live(c: &Client) -> Result<()> {
    wait_for("the live stream", Duration::from_secs(20), || async {
        js_true(
            c,
            "document.getElementById('live-state')?.dataset.state === 'live'",
        )
        .await
    })
    .await
}

fn cut_on_tdm3(km: u32) -> serde_json::Value {
    serde_json::json!({
        "cable": "TDM3", "detected_on": "2026-11-01", "kind": "cut", "place": "桃園草漯",
        "km": km.to_string(), "alternate_routes": "微波", "eta": "", "status": "open",
        "restored_on": "", "notes": "",
    })
}

#[tokio::test]
async fn a_fault_logged_in_one_window_appears_in_the_other_without_reload() -> Result<()> {
    scenario("live_windows", |c, base| async move {
        sign_in(&c, &base, "officer").await?;
        // Window A: the fault list, marked so a reload would show.
        c.goto(&base).await?;
        wait_hydrated(&c).await?;
        wait_live(&c).await?;
        let list = c.window().await?;
        c.execute("window.__notReloaded = 'yes'", vec![]).await?;
        ensure!(!visible_cables(&c).await?.contains(&"TDM3".to_string()), "TDM3 has no fault yet");
        // Window B: log a fault through the form.
        let form = c.new_window(true).await?;
        c.switch_to_window(form.handle).await?;
        c.goto(&format!("{base}/faults/new")).await?;
        wait_hydrated(&c).await?;
        wait_for("cable options", Duration::from_secs(10), || async {
            js_true(&c, "document.querySelectorAll('select[name=cable] option').length > 20").await
        })
        .await?;
        c.execute(
            "const set=(n,v,e)=>{const x=document.querySelector(`[name=${n}]`); x.value=v; x.dispatchEvent(new Event(e,{bubbles:true}));};\
             set('cable','TDM3','change'); set('kind','cut','change'); set('detected_on','2026-02-10','input');\
             set('place','桃園草漯','input'); set('km','40','input');",
            vec![],
        )
        .await?;
        c.find(Locator::Id("save-fault")).await?.click().await?;
        wait_for("the saved fault's page", Duration::from_secs(15), || async {
            c.current_url().await.map(|u| u.path().starts_with("/faults/") && !u.path().ends_with("/new")).unwrap_or(false)
        })
        .await?;
        // Back in window A: the new fault is listed, the page never reloaded.
        c.switch_to_window(list).await?;
        wait_for("TDM3 in the other window", Duration::from_secs(10), || async {
            visible_cables(&c).await.map(|v| v.contains(&"TDM3".to_string())).unwrap_or(false)
        })
        .await?;
        ensure!(js_true(&c, "window.__notReloaded === 'yes'").await, "the list was updated in place");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_watch_board_raises_an_alert_and_a_watch_member_acknowledges_it() -> Result<()> {
    let server = start_server("watch_board").await?;
    let officer = e2e::token(&server.db, "officer")?;
    let browser = start_browser("watch_board").await?;
    let c = browser.client.clone();
    let result = async {
        sign_in(&c, &server.base, "watch").await?;
        // A wall screen's viewport is 1920×1080: size the window so the page gets that.
        c.set_window_size(1920, 1080).await?;
        let chrome: u32 = js_string(&c, "window.outerHeight - window.innerHeight").await?.parse().unwrap_or(0);
        c.set_window_size(1920, 1080 + chrome).await?;
        c.goto(&format!("{}/watch", server.base)).await?;
        wait_hydrated(&c).await?;
        wait_live(&c).await?;
        let count = || async { js_string(&c, "document.getElementById('alert-count')?.textContent").await.unwrap_or_default() };
        let before: usize = count().await.parse()?;
        let (status, fault) = e2e::api_json(&server.base, &officer, "POST", "/api/v1/faults", Some(cut_on_tdm3(40))).await?;
        ensure!(status == 201, "fault posted: {status} {fault}");
        // New fault + the cable becoming cut + Matsu on backup (TDM2 is cut
        // in the demo notice, TDM3 was its last cable), live, newest first.
        wait_for("the new alerts", Duration::from_secs(10), || async { count().await == (before + 3).to_string() }).await?;
        ensure!(
            js_true(&c, "document.querySelector('#alerts li.alert-island_on_backup')?.textContent.includes('Matsu')").await,
            "the island alert names Matsu"
        );
        ensure!(
            js_true(&c, "document.querySelector('#alerts li.alert-cable_cut')?.textContent.includes('TDM3')").await,
            "the cable-cut alert names TDM3"
        );
        ensure!(js_true(&c, "[...document.querySelectorAll('#islands li')].some(l => l.dataset.region === 'matsu')").await, "Matsu is affected");
        let id = js_string(&c, "document.querySelector('#alerts li.alert-cable_cut').dataset.alert").await?;
        c.find(Locator::Css(&format!("button[data-ack='{id}']"))).await?.click().await?;
        wait_for("the acknowledged alert to leave", Duration::from_secs(10), || async {
            count().await == (before + 2).to_string()
                && !js_true(&c, &format!("!!document.querySelector(\"#alerts li[data-alert='{id}']\")")).await
        })
        .await?;
        ensure!(
            js_true(&c, "[...document.querySelectorAll('#feed li .kind')].some(k => k.textContent === 'alert.acknowledged')").await,
            "the acknowledgement is in the feed"
        );
        // A wall screen: nothing to scroll at 1920×1080.
        ensure!(js_true(&c, "window.innerWidth === 1920 && window.innerHeight === 1080").await, "viewport 1920×1080: {}",
            js_string(&c, "window.innerWidth + ' x ' + window.innerHeight").await?);
        ensure!(
            js_true(&c, "document.documentElement.scrollHeight <= window.innerHeight && document.documentElement.scrollWidth <= window.innerWidth").await,
            "the board fits the screen: {}",
            js_string(&c, "document.documentElement.scrollHeight + ' x ' + window.innerHeight").await?
        );
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

#[tokio::test]
async fn a_lost_stream_shows_the_banner_and_catching_up_clears_it() -> Result<()> {
    let mut server = start_server("live_lost").await?;
    let officer = e2e::token(&server.db, "officer")?;
    let browser = start_browser("live_lost").await?;
    let c = browser.client.clone();
    let result = async {
        sign_in(&c, &server.base, "briefing").await?;
        c.goto(&server.base).await?;
        wait_hydrated(&c).await?;
        wait_live(&c).await?;
        ensure!(!js_true(&c, "!!document.getElementById('live-lost')").await, "no banner while live");
        server.stop();
        wait_for("the connection-lost banner", Duration::from_secs(30), || async {
            js_true(&c, "/\\d\\d:\\d\\d:\\d\\d/.test(document.getElementById('live-lost')?.textContent ?? '')").await
        })
        .await?;
        server.start().await?;
        // The fault is written while the screen is still reconnecting.
        let (status, _) = e2e::api_json(&server.base, &officer, "POST", "/api/v1/faults", Some(cut_on_tdm3(41))).await?;
        ensure!(status == 201, "fault posted after the restart: {status}");
        wait_for("the banner to clear", Duration::from_secs(30), || async {
            !js_true(&c, "!!document.getElementById('live-lost')").await
        })
        .await?;
        wait_for("the fault written meanwhile", Duration::from_secs(10), || async {
            visible_cables(&c).await.map(|v| v.contains(&"TDM3".to_string())).unwrap_or(false)
        })
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

/// The leadership briefing: a read-only wall screen that fits 1920×1080,
/// shows no control of any kind, and follows a write live; without
/// JavaScript it is complete too.
#[tokio::test]
async fn the_briefing_screen_fits_the_wall_has_no_controls_and_follows_writes() -> Result<()> {
    let server = start_server("briefing").await?;
    let officer = e2e::token(&server.db, "officer")?;
    // The wall screen (briefing role) gets no control, the picker and export links below it included.
    let controls = "document.querySelectorAll('#briefing form, #briefing input, #briefing select, #briefing textarea, #briefing button, .brief-picker').length";
    let browser = start_browser("briefing").await?;
    let c = browser.client.clone();
    let result = async {
        sign_in(&c, &server.base, "briefing").await?;
        c.set_window_size(1920, 1080).await?;
        let chrome: u32 = js_string(&c, "window.outerHeight - window.innerHeight").await?.parse().unwrap_or(0);
        c.set_window_size(1920, 1080 + chrome).await?;
        c.goto(&format!("{}/briefing", server.base)).await?;
        wait_hydrated(&c).await?;
        wait_live(&c).await?;
        ensure!(js_string(&c, controls).await? == "0", "no control on the briefing");
        ensure!(
            js_true(&c, "document.querySelectorAll('#brief-islands li').length >= 7").await,
            "every island listed"
        );
        ensure!(
            js_true(&c, "document.querySelector('#brief-islands li')?.dataset.island !== 'taiwan'").await,
            "an outlying island first"
        );
        let faults = || async {
            js_string(&c, "document.querySelector('#n-faults strong')?.textContent").await.unwrap_or_default()
        };
        let before: usize = faults().await.parse()?;
        ensure!(before >= 10, "the demo notice's open faults: {before}");
        // The wall map: every cable by state, the open faults pinned, the islands.
        ensure!(
            js_true(&c, "document.querySelectorAll('#wall-map path.cable').length >= 20 && document.querySelectorAll('#wall-map .island-badge').length >= 3").await,
            "the map on the wall: {}",
            js_string(&c, "document.querySelectorAll('#wall-map path.cable').length + ' cables, ' + document.querySelectorAll('#wall-map .island-badge').length + ' islands'").await?
        );
        let pins = || async {
            js_string(&c, "String(document.querySelectorAll('#wall-map polygon.pin').length)").await.ok().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0)
        };
        let pins_before = pins().await;
        ensure!(pins_before >= 5, "the open faults pinned: {pins_before}");
        let (status, fault) = e2e::api_json(&server.base, &officer, "POST", "/api/v1/faults", Some(cut_on_tdm3(42))).await?;
        ensure!(status == 201, "fault posted: {status} {fault}");
        wait_for("the briefing to follow the write", Duration::from_secs(10), || async {
            faults().await == (before + 1).to_string()
                && js_true(&c, "[...document.querySelectorAll('#brief-changes li')].some(l => l.dataset.change === 'NewFault' && l.textContent.includes('TDM3'))").await
                && pins().await == pins_before + 1
        })
        .await?;
        ensure!(
            js_true(&c, "document.documentElement.scrollHeight <= window.innerHeight && document.documentElement.scrollWidth <= window.innerWidth").await,
            "the briefing fits the screen: {}",
            js_string(&c, "document.documentElement.scrollWidth + ' x ' + document.documentElement.scrollHeight").await?
        );
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result?;
    // Without JavaScript: the same panels, rendered whole by the server.
    let browser = e2e::start_browser_with("briefing-nojs", false).await?;
    let c = browser.client.clone();
    let result = async {
        e2e::sign_in_plain(&c, &server.base, "briefing").await?;
        c.goto(&format!("{}/briefing", server.base)).await?;
        ensure!(
            js_string(&c, "document.getElementById('hydration')?.dataset.hydrated").await? == "false",
            "no script ran"
        );
        ensure!(js_string(&c, controls).await? == "0", "no control without JavaScript either");
        ensure!(
            js_true(&c, "document.querySelectorAll('#brief-islands li').length >= 7 && document.querySelectorAll('#brief-etas tbody tr').length >= 11").await,
            "islands and repairs rendered by the server"
        );
        ensure!(
            js_true(&c, "document.querySelectorAll('#wall-map path.cable').length >= 20 && document.querySelectorAll('#wall-map polygon.pin').length >= 5").await,
            "the wall map rendered by the server"
        );
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

/// Issue 14 (as of): every read view at a past moment (the fault page, the
/// watch board, the resilience page, the map, the asset list and an asset's
/// page) shows the historical banner
/// and no write control, where the present shows the officer's forms. After
/// hydration and without JavaScript.
#[tokio::test]
async fn every_historical_view_has_its_banner_and_no_write_control() -> Result<()> {
    let server = start_server("as_of_views").await?;
    // A minute from now in Taipei: after the demo import, so fault 1 exists.
    let at = (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let posts = "String(document.querySelectorAll('main form[method=post], form.fault-form, form.figure-form, form.ack-form').length)";
    let banner = "!!document.getElementById('history-banner')";
    let pages = [
        "/faults/1",
        "/watch",
        "/resilience",
        "/map",
        "/assets",
        "/assets/1",
    ];
    for javascript in [true, false] {
        let browser =
            e2e::start_browser_with(&format!("as_of_views-{javascript}"), javascript).await?;
        let c = browser.client.clone();
        let result = async {
            if javascript {
                sign_in(&c, &server.base, "officer").await?;
            } else {
                e2e::sign_in_plain(&c, &server.base, "officer").await?;
            }
            // The present: the officer's forms on the fault page and the
            // resilience page (so the check below can fail).
            for page in ["/faults/1", "/resilience", "/assets/1"] {
                c.goto(&format!("{}{page}", server.base)).await?;
                if javascript {
                    wait_hydrated(&c).await?;
                }
                wait_for(
                    &format!("{page}: the officer's forms"),
                    Duration::from_secs(15),
                    || async {
                        js_string(&c, posts)
                            .await
                            .ok()
                            .and_then(|n| n.parse::<usize>().ok())
                            .unwrap_or(0)
                            > 0
                    },
                )
                .await?;
                ensure!(
                    !js_true(&c, banner).await,
                    "{page}: no banner in the present"
                );
            }
            for page in pages {
                c.goto(&format!("{}{page}?as_of={at}", server.base)).await?;
                if javascript {
                    wait_hydrated(&c).await?;
                }
                wait_for(
                    &format!("{page}: the historical banner"),
                    Duration::from_secs(15),
                    || async { js_true(&c, banner).await },
                )
                .await?;
                let n = js_string(&c, posts).await?;
                ensure!(
                    n == "0",
                    "{page} as of {at} (JavaScript {javascript}): {n} write forms"
                );
                // The pages with a picker (a fault page is reached from the list's).
                ensure!(
                    page.ends_with("/1")
                        || js_true(
                            &c,
                            "!!document.querySelector('.as-of-picker input[name=as_of]')"
                        )
                        .await,
                    "{page}: the moment picker"
                );
            }
            // The fault page then shows the fault, its history and no chart of today.
            c.goto(&format!("{}/faults/1?as_of={at}", server.base))
                .await?;
            ensure!(
                !js_true(&c, "!!document.getElementById('eta-drift-chart')").await,
                "no chart of today in the past"
            );
            // Before the import: the fault did not exist.
            c.goto(&format!("{}/faults/1?as_of=2020-01-01T00:00", server.base))
                .await?;
            wait_for("not found then", Duration::from_secs(15), || async {
                js_true(&c, "!!document.querySelector('.error')").await
            })
            .await?;
            anyhow::Ok(())
        }
        .await;
        let _ = c.close().await;
        result?;
    }
    Ok(())
}

/// Issue 14 (as of): the fault list and the briefing as they stood at a past
/// moment, rebuilt from the event log, with the historical banner; the
/// picker (a plain GET form) moves the list to another moment. With and
/// without JavaScript.
#[tokio::test]
async fn the_list_and_the_briefing_as_of_a_past_moment() -> Result<()> {
    let server = start_server("as_of").await?;
    // Before the demo data was imported: nothing.
    let before = "2020-01-01T00:00";
    let rows = "document.querySelectorAll('tr.fault').length";
    let browser = start_browser("as_of").await?;
    let c = browser.client.clone();
    let result = async {
        sign_in(&c, &server.base, "officer").await?;
        c.goto(&format!("{}/?as_of={before}", server.base)).await?;
        wait_hydrated(&c).await?;
        ensure!(
            js_true(&c, "!!document.getElementById('history-banner')").await,
            "the historical banner"
        );
        ensure!(js_string(&c, rows).await? == "0", "no fault before the first import");
        // The picker: to a moment after the import, through the form.
        let now = (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::minutes(1))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        c.execute(
            &format!("const i = document.querySelector('.as-of-picker input'); i.value = '{now}'; i.form.submit();"),
            vec![],
        )
        .await?;
        wait_for("the list as of now", Duration::from_secs(15), || async {
            c.current_url().await.map(|u| u.query().unwrap_or("").contains("as_of")).unwrap_or(false)
                && js_string(&c, rows).await.ok().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0) >= 11
        })
        .await?;
        ensure!(
            js_true(&c, "!!document.getElementById('history-banner')").await,
            "still a historical view"
        );
        // The fault page's ETA drift chart: an image drawn by the server.
        c.goto(&format!("{}/faults/1", server.base)).await?;
        wait_hydrated(&c).await?;
        wait_for("the ETA drift chart", Duration::from_secs(10), || async {
            js_true(&c, "(() => { const i = document.getElementById('eta-drift-chart'); return !!i && i.complete && i.naturalWidth >= 700 && i.alt.length > 10; })()").await
        })
        .await?;
        c.goto(&format!("{}/briefing?as_of={before}", server.base)).await?;
        wait_hydrated(&c).await?;
        ensure!(
            js_string(&c, "document.querySelector('#n-faults strong')?.textContent").await? == "0",
            "the briefing then: no open fault"
        );
        ensure!(
            js_true(&c, "!!document.getElementById('history-banner') && !!document.querySelector('.brief-picker input')").await,
            "banner, and the picker for an officer"
        );
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result?;
    let browser = e2e::start_browser_with("as_of-nojs", false).await?;
    let c = browser.client.clone();
    let result = async {
        e2e::sign_in_plain(&c, &server.base, "officer").await?;
        c.goto(&format!("{}/?as_of={before}", server.base)).await?;
        ensure!(
            js_string(&c, "document.getElementById('hydration')?.dataset.hydrated").await? == "false",
            "no script ran"
        );
        ensure!(
            js_true(&c, "!!document.getElementById('history-banner')").await && js_string(&c, rows).await? == "0",
            "the server renders the past list"
        );
        c.goto(&format!("{}/", server.base)).await?;
        ensure!(
            !js_true(&c, "!!document.getElementById('history-banner')").await
                && js_string(&c, rows).await?.parse::<usize>().unwrap_or(0) >= 11,
            "the present: no banner, the notice's faults"
        );
        c.goto(&format!("{}/faults/1", server.base)).await?;
        wait_for("the ETA drift chart without JavaScript", Duration::from_secs(10), || async {
            js_true(&c, "(() => { const i = document.getElementById('eta-drift-chart'); return !!i && i.complete && i.naturalWidth >= 700; })()").await
        })
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}

/// Issue 15 (exercises): an officer switches into a running exercise; every
/// screen then carries the banner; an edit made there is seen in it and
/// never in reality (the API, and the page after leaving). With and without
/// JavaScript: the switch and the forms are plain posts.
#[tokio::test]
async fn an_officer_in_an_exercise_writes_only_into_it() -> Result<()> {
    let server = start_server("exercise").await?;
    let admin = e2e::token(&server.db, "admin")?;
    let officer = e2e::token(&server.db, "officer")?;
    let banner = "document.getElementById('exercise-banner')";
    for javascript in [true, false] {
        let now = chrono::Utc::now();
        let (status, ex) = e2e::api_json(
            &server.base,
            &admin,
            "POST",
            "/api/v1/exercises",
            Some(serde_json::json!({
                "name": format!("Matsu drill (JavaScript {javascript})"),
                "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
                "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
            })),
        )
        .await?;
        ensure!(status == 201, "exercise scheduled: {status} {ex}");
        let id = ex["id"].as_i64().unwrap_or(0);
        let marker = format!("exercise note {javascript}");
        let browser =
            e2e::start_browser_with(&format!("exercise-{javascript}"), javascript).await?;
        let c = browser.client.clone();
        let result = async {
            if javascript {
                sign_in(&c, &server.base, "officer").await?;
            } else {
                e2e::sign_in_plain(&c, &server.base, "officer").await?;
            }
            c.goto(&format!("{}/exercises", server.base)).await?;
            if javascript {
                wait_hydrated(&c).await?;
            }
            ensure!(!js_true(&c, &format!("!!{banner}")).await, "no banner in reality");
            c.find(Locator::Css(&format!("button[data-join='{id}']")))
                .await?
                .click()
                .await?;
            for page in ["/", "/watch", "/map", "/assets", "/faults/1"] {
                if page != "/" {
                    c.goto(&format!("{}{page}", server.base)).await?;
                }
                if javascript {
                    wait_hydrated(&c).await?;
                }
                wait_for(&format!("{page}: the exercise banner"), Duration::from_secs(15), || async {
                    js_true(
                        &c,
                        &format!("{banner}?.dataset.exercise === '{id}' && {banner}.textContent.includes('演習 EXERCISE — not real')"),
                    )
                    .await
                })
                .await?;
            }
            // On the fault page: an edit in the exercise (with JavaScript,
            // once the form's own handlers are attached: a click before
            // then is the plain post, which reloads the page).
            if javascript {
                wait_for("the fault form, live", Duration::from_secs(15), || async {
                    js_true(&c, "document.querySelector('form.fault-form')?.dataset.live === 'true'").await
                })
                .await?;
            }
            c.execute(
                "const n=document.querySelector('textarea[name=notes]'); n.value=arguments[0]; n.dispatchEvent(new Event('input',{bubbles:true}));",
                vec![serde_json::json!(marker)],
            )
            .await?;
            c.find(Locator::Id("save-fault")).await?.click().await?;
            if javascript {
                wait_for("saved", Duration::from_secs(15), || async {
                    js_string(&c, "document.getElementById('form-status')?.textContent ?? ''")
                        .await
                        .map(|t| !t.is_empty())
                        .unwrap_or(false)
                })
                .await?;
                let err = js_string(&c, "document.querySelector('#form-status .error, #form-status .conflict')?.textContent ?? ''").await?;
                ensure!(err.is_empty(), "saved without error: {err}");
                c.goto(&format!("{}/faults/1", server.base)).await?;
            }
            wait_for("the note, in the exercise", Duration::from_secs(15), || async {
                js_string(&c, "document.querySelector('dd.notes')?.textContent ?? ''")
                    .await
                    .map(|t| t == marker)
                    .unwrap_or(false)
            })
            .await?;
            ensure!(js_true(&c, &format!("!!{banner}")).await, "the banner stays");
            // Reality has none of it.
            let (s, real) = e2e::api_json(&server.base, &officer, "GET", "/api/v1/faults/1", None).await?;
            ensure!(s == 200 && real["fault"]["notes"] != marker, "reality untouched: {real}");
            // Leaving brings reality back.
            c.find(Locator::Id("leave-exercise")).await?.click().await?;
            wait_for("the exercise list, in reality", Duration::from_secs(15), || async {
                c.current_url().await.map(|u| u.path() == "/exercises").unwrap_or(false)
                    && !js_true(&c, &format!("!!{banner}")).await
            })
            .await?;
            c.goto(&format!("{}/faults/1", server.base)).await?;
            wait_for("the real fault page", Duration::from_secs(15), || async {
                js_true(&c, "!!document.querySelector('dd.notes')").await
            })
            .await?;
            let notes = js_string(&c, "document.querySelector('dd.notes').textContent").await?;
            ensure!(notes != marker, "the real page has no exercise note");
            ensure!(!js_true(&c, &format!("!!{banner}")).await, "no banner after leaving");
            anyhow::Ok(())
        }
        .await;
        let _ = c.close().await;
        result?;
    }
    // The report counts the fault change, and a kiosk never sees the exercise.
    let (s, report) = e2e::api_json(
        &server.base,
        &officer,
        "GET",
        "/api/v1/exercises/1/report",
        None,
    )
    .await?;
    ensure!(s == 200, "report: {s} {report}");
    ensure!(
        report["lines"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["step"] == "fault")),
        "the edit is on the report: {report}"
    );
    Ok(())
}
