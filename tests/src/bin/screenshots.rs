//! The README's screenshots (`cargo xtask screenshots`): the real server with
//! its demo data, signed in as the duty watch, in headless Chromium (the wall
//! board at 1920×1080), after hydration; written to `docs/`.

use std::time::Duration;

use anyhow::{Context, Result};
use e2e::{js_string, sign_in, start_browser, start_server, wait_for, wait_hydrated};

#[tokio::main]
async fn main() -> Result<()> {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let server = start_server("screenshots").await?;
    let browser = start_browser("screenshots").await?;
    let c = browser.client.clone();
    let result = async {
        sign_in(&c, &server.base, "watch").await?;
        // (file, page, window size, what shows the page is complete)
        let shots = [
            (
                "screenshot.png",
                "/",
                (1400, 1000),
                "document.querySelectorAll('tbody.cable-group').length > 0",
            ),
            (
                "map.png",
                "/map",
                (1400, 1000),
                "document.querySelectorAll('#assets [data-kind]').length > 20",
            ),
            (
                "watch.png",
                "/watch",
                (1920, 1080),
                "document.getElementById('watch-board') !== null",
            ),
            (
                "briefing.png",
                "/briefing",
                (1920, 1080),
                "document.querySelectorAll('#brief-islands li').length >= 7",
            ),
        ];
        for (file, path, (w, h), ready) in shots {
            c.set_window_size(w, h).await?;
            c.goto(&format!("{}{path}", server.base)).await?;
            wait_hydrated(&c).await?;
            wait_for(path, Duration::from_secs(30), || async {
                js_string(&c, ready)
                    .await
                    .map(|v| v == "true")
                    .unwrap_or(false)
            })
            .await?;
            let png = c.screenshot().await?;
            let to = out.join(file);
            std::fs::write(&to, png).with_context(|| format!("writing {}", to.display()))?;
            eprintln!("   {}", to.display());
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let _ = c.close().await;
    result
}
