//! The baseline of `cargo xtask bench-ssr`: a bare axum server on the same
//! runtime answering every GET with one fixed page read from a file (the
//! same bytes a cablewatch page has), no session, no database, no render.
//!
//! `bare_page ADDR FILE`

use axum::http::header;
use axum::response::IntoResponse;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: bare_page ADDR FILE");
    };
    let page = bytes::Bytes::from(std::fs::read(&file)?);
    let app = axum::Router::new().fallback(move || {
        let page = page.clone();
        async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response() }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
