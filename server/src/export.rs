//! The one-page briefing export: composed as SVG (A4 landscape), then
//! rendered to PNG with resvg and to PDF with svg2pdf. Text is set in the
//! bundled font alone (`assets/fonts/`, a subset of Noto Sans CJK TC, SIL OFL
//! 1.1): no system font is read and nothing is fetched. zh-TW first with
//! English beside it (or English first with `lang=en`).

use std::sync::{Arc, OnceLock};

use shared::briefing::{Briefing, ChangeKind};
use shared::resilience::Status;

use crate::charts::Lang;

/// The bundled font (see `cargo xtask fonts`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansTC-Regular-subset.otf");
/// The family name inside that font.
pub const FAMILY: &str = "Noto Sans CJK TC";
/// A4 landscape at 96 px per inch.
const WIDTH: f32 = 1123.0;
const HEIGHT: f32 = 794.0;
/// The PNG is drawn at twice the page's pixel size (2,246 px wide).
const PNG_SCALE: f32 = 2.0;

/// What went wrong drawing an export (a bug, never the reader's input).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the briefing SVG does not parse: {0}")]
    Svg(#[from] resvg::usvg::Error),
    #[error("PDF: {0}")]
    Pdf(String),
    #[error("PNG: {0}")]
    Png(String),
}

fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

fn tree(svg: &str) -> Result<resvg::usvg::Tree, ExportError> {
    let mut opt = resvg::usvg::Options {
        font_family: FAMILY.to_string(),
        ..Default::default()
    };
    opt.fontdb = fonts();
    Ok(resvg::usvg::Tree::from_str(svg, &opt)?)
}

/// The page as PDF: text as text, the font embedded and subset.
pub fn pdf(svg: &str) -> Result<Vec<u8>, ExportError> {
    let t = tree(svg)?;
    svg2pdf::to_pdf(
        &t,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions::default(),
    )
    .map_err(|e| ExportError::Pdf(e.to_string()))
}

/// The page as PNG, 2,246 × 1,588 px.
pub fn png(svg: &str) -> Result<Vec<u8>, ExportError> {
    raster(svg, PNG_SCALE)
}

/// Any SVG of the project (a chart, the page) as PNG at `scale` times its
/// size, on white, text in the bundled font.
pub fn raster(svg: &str, scale: f32) -> Result<Vec<u8>, ExportError> {
    let t = tree(svg)?;
    let size = t
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| ExportError::Png("empty page".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| ExportError::Png("no pixmap".into()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &t,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ExportError::Png(e.to_string()))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Both languages of a label, the page's first.
fn both(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::ZhTw => format!("{zh} {en}"),
        Lang::En => format!("{en} {zh}"),
    }
}

fn status(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Isolated => ("孤立", "isolated"),
        Status::Short => ("容量不足", "short"),
        Status::OnBackup => ("備援承載", "on backup"),
        Status::Degraded => ("降級", "degraded"),
        Status::Normal => ("正常", "normal"),
        Status::NoFigures => ("無數據", "no figures"),
    }
}

fn change(k: ChangeKind) -> (&'static str, &'static str) {
    match k {
        ChangeKind::NewFault => ("新障礙", "new fault"),
        ChangeKind::FaultUpdated => ("障礙更新", "fault updated"),
        ChangeKind::Restored => ("已修復", "restored"),
        ChangeKind::NoticeImported => ("匯入公告", "notice imported"),
        ChangeKind::RepairProgress => ("修復進度", "repair progress"),
        ChangeKind::RepairStalled => ("修復停滯", "repair stalled"),
        ChangeKind::ShipState => ("維修船", "repair ship"),
        ChangeKind::Asset => ("備援資產", "backup asset"),
        ChangeKind::Figure => ("容量數據", "capacity figure"),
        ChangeKind::Maintenance => ("計畫性維修", "maintenance"),
        ChangeKind::AlertAcknowledged => ("警示已確認", "alert acknowledged"),
    }
}

struct Page {
    out: String,
    lang: Lang,
}

impl Page {
    fn text(&mut self, x: f32, y: f32, size: f32, fill: &str, s: &str) {
        self.out.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" fill=\"{fill}\">{}</text>\n",
            esc(s)
        ));
    }

    fn heading(&mut self, x: f32, y: f32, zh: &str, en: &str) {
        let s = both(self.lang, zh, en);
        self.text(x, y, 15.0, "#1b1f24", &s);
        self.out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#1b1f24\" stroke-width=\"1\"/>\n",
            y + 5.0,
            x + 340.0,
            y + 5.0
        ));
    }
}

/// The one-page briefing as SVG: headline numbers, each island with what
/// carries it, the repair dates, the outage Gantt (`gantt`: plotters' SVG),
/// the last 24 hours, and the source and data-honesty notes.
pub fn briefing_svg(b: &Briefing, gantt: &str, lang: Lang, historical: bool) -> String {
    let mut p = Page {
        out: String::new(),
        lang,
    };
    p.out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         font-family=\"{FAMILY}, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
    ));
    let at = shared::history::taipei_minute(&b.at);
    p.text(
        30.0,
        42.0,
        24.0,
        "#1b1f24",
        &both(lang, "海纜障礙簡報", "Subsea cable briefing"),
    );
    let when = if historical {
        both(
            lang,
            &format!("歷史檢視：截至 {at}（臺北）"),
            &format!("historical view as of {at} (Taipei)"),
        )
    } else {
        both(
            lang,
            &format!("資料時間 {at}（臺北）"),
            &format!("data as of {at} (Taipei)"),
        )
    };
    p.text(
        30.0,
        66.0,
        13.0,
        if historical { "#5b3f99" } else { "#3d4650" },
        &when,
    );
    // Headline numbers.
    let h = &b.headline;
    let numbers = [
        (h.cables_cut, "斷纜", "cables cut"),
        (h.cables_degraded, "降級海纜", "degraded"),
        (h.open_faults, "未修復障礙", "open faults"),
        (h.islands_isolated, "孤立島嶼", "isolated"),
        (h.islands_short, "容量不足", "short"),
        (h.islands_on_backup, "備援承載", "on backup"),
    ];
    for (i, (n, zh, en)) in numbers.iter().enumerate() {
        let x = 30.0 + i as f32 * 120.0;
        let alarm = *n > 0 && i != 1 && i != 2;
        p.out.push_str(&format!(
            "<rect x=\"{x}\" y=\"80\" width=\"110\" height=\"62\" fill=\"#f4f6f8\" stroke=\"#c5ccd3\"/>\n"
        ));
        p.text(
            x + 8.0,
            114.0,
            28.0,
            if alarm { "#b3261e" } else { "#1b1f24" },
            &n.to_string(),
        );
        p.text(x + 8.0, 132.0, 11.0, "#3d4650", &format!("{zh} {en}"));
    }
    if let Some(next) = &h.next_repair {
        p.text(
            760.0,
            100.0,
            12.0,
            "#3d4650",
            &both(lang, "最近官方修復日", "next official repair"),
        );
        p.text(
            760.0,
            124.0,
            18.0,
            "#1b1f24",
            &format!("{} · {}", next.cable, next.official.to_iso()),
        );
    }
    // Islands.
    p.heading(
        30.0,
        172.0,
        "島嶼：可承載的尖峰需求比例與承載鏈路",
        "Islands: share of peak demand carried, and by what",
    );
    for (i, l) in b.islands.iter().enumerate() {
        let y = 194.0 + i as f32 * 19.0;
        let (zh, en) = status(l.status);
        let cov = shared::resilience::coverage_text(l.coverage);
        let est = if l.demand_estimated { "*" } else { "" };
        let carriers: Vec<String> = l
            .carried_by
            .iter()
            .take(2)
            .map(|c| c.label.clone())
            .collect();
        let name = match lang {
            Lang::ZhTw => l.region.name_zh(),
            Lang::En => l.region.name_en(),
        };
        let fill = match l.status {
            Status::Isolated | Status::Short => "#b3261e",
            Status::OnBackup => "#8a5a00",
            _ => "#1b1f24",
        };
        p.text(30.0, y, 12.0, "#1b1f24", &clip(name, 14));
        p.text(140.0, y, 12.0, fill, &format!("{zh} {en}"));
        p.text(250.0, y, 12.0, "#1b1f24", &format!("{cov}{est}"));
        p.text(300.0, y, 11.0, "#3d4650", &clip(&carriers.join(" · "), 30));
    }
    // Repairs.
    p.heading(
        580.0,
        172.0,
        "修復：官方日期與模型 P50 / P90（估計）",
        "Repairs: official date, model P50 / P90 (estimates)",
    );
    let shown = b.etas.len().min(12);
    for (i, e) in b.etas.iter().take(shown).enumerate() {
        let y = 194.0 + i as f32 * 17.0;
        let d = |x: Option<chrono::NaiveDate>| x.map_or("—".to_string(), |d| d.to_string());
        let official = match e.official.to_iso() {
            s if s.is_empty() => "—".to_string(),
            s => s,
        };
        p.text(580.0, y, 12.0, "#1b1f24", &clip(&e.cable, 10));
        p.text(680.0, y, 12.0, "#1b1f24", &official);
        p.text(
            790.0,
            y,
            12.0,
            "#3d4650",
            &format!("{} / {}", d(e.p50_on), d(e.p90_on)),
        );
        if e.optimistic {
            p.text(
                1010.0,
                y,
                11.0,
                "#b3261e",
                &both(lang, "偏樂觀", "optimistic"),
            );
        }
    }
    if b.etas.len() > shown {
        p.text(
            580.0,
            194.0 + shown as f32 * 17.0,
            11.0,
            "#3d4650",
            &format!("+{}", b.etas.len() - shown),
        );
    }
    // The outage Gantt, scaled into the lower left.
    p.heading(
        30.0,
        420.0,
        "近 90 日海纜障礙",
        "Cable outages, last 90 days",
    );
    if let (Some(open), Some(close)) = (gantt.find('>'), gantt.rfind("</svg>")) {
        let inner = &gantt[open + 1..close];
        let (w, hgt) = svg_size(gantt).unwrap_or((960.0, 300.0));
        let scale = (620.0 / w).min(300.0 / hgt);
        p.out.push_str(&format!(
            "<g transform=\"translate(30 432) scale({scale:.4})\">{inner}</g>\n"
        ));
    }
    // The last 24 hours.
    p.heading(680.0, 420.0, "過去 24 小時", "Last 24 hours");
    for (i, c) in b.changes.iter().take(14).enumerate() {
        let y = 442.0 + i as f32 * 17.0;
        let t = shared::history::taipei_minute(&c.at);
        let (zh, en) = change(c.what);
        p.text(680.0, y, 11.0, "#3d4650", t.get(11..).unwrap_or(&t));
        p.text(722.0, y, 11.0, "#1b1f24", &format!("{zh} {en}"));
        p.text(880.0, y, 11.0, "#1b1f24", &clip(&c.subject, 22));
    }
    if b.changes_total == 0 {
        p.text(
            680.0,
            442.0,
            11.0,
            "#3d4650",
            &both(lang, "過去 24 小時無變更", "no changes"),
        );
    }
    // Source and data honesty.
    let notes = [
        both(lang, "資料來源：數位發展部「海纜障礙資訊一覽表」及本系統事件紀錄。", "Source: Ministry of Digital Affairs fault notice and this registry's event log."),
        both(lang, "海纜路徑為示意，障礙位置與資產座標為約略或合成（示範）資料；合成資產不計入任何數字。", "Routes are schematic; pins and asset positions approximate or synthetic; synthetic assets never count."),
        both(lang, "* 需求為估計值；P50 / P90 為修復時間模型之估計。", "* demand is an estimate; P50 / P90 are the repair-time model's estimates."),
    ];
    for (i, n) in notes.iter().enumerate() {
        p.text(30.0, 748.0 + i as f32 * 14.0, 9.5, "#3d4650", n);
    }
    p.out.push_str("</svg>\n");
    p.out
}

/// The width and height of an SVG's root element, from its attributes.
fn svg_size(svg: &str) -> Option<(f32, f32)> {
    let head = &svg[..svg.find('>')?];
    let attr = |name: &str| -> Option<f32> {
        let i = head.find(&format!("{name}=\""))? + name.len() + 2;
        let rest = &head[i..];
        rest[..rest.find('"')?].trim_end_matches("px").parse().ok()
    };
    Some((attr("width")?, attr("height")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_the_project_writes_is_in_the_bundled_font() {
        let face = ttf_parser::Face::parse(FONT, 0).expect("the bundled font parses");
        let mut missing = Vec::new();
        for dir in [
            "../app/locales",
            "../shared/data",
            "../shared/tests/fixtures",
        ] {
            for e in std::fs::read_dir(dir).expect(dir) {
                let text = std::fs::read_to_string(e.expect("entry").path()).expect("text");
                for c in text
                    .chars()
                    .filter(|c| !c.is_control() && !c.is_whitespace())
                {
                    if face.glyph_index(c).is_none() && !missing.contains(&c) {
                        missing.push(c);
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "run `cargo xtask fonts`; missing: {missing:?}"
        );
    }

    #[test]
    fn clip_cuts_by_characters_with_an_ellipsis() {
        assert_eq!(clip("海纜障礙資訊", 4), "海纜障…");
        assert_eq!(clip("TDM3", 4), "TDM3");
    }
}
