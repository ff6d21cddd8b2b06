//! Charts drawn on the server with plotters' SVG backend: the outage Gantt,
//! a fault's ETA drift and island capacity against demand. What they show
//! is computed in `shared::chart`; here it is only drawn. The SVG names its
//! fonts (the site's own stack) and loads nothing from anywhere.

use chrono::{Duration, NaiveDate};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use shared::chart::{Capacity, Row, Step};
use shared::fault::FaultKind;

/// The language of a chart's titles and legends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhTw,
    En,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("en") => Self::En,
            _ => Self::ZhTw,
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::ZhTw => zh,
            Self::En => en,
        }
    }
}

const FONT: &str = "Noto Sans TC, Noto Sans CJK TC, PingFang TC, Microsoft JhengHei, sans-serif";
const CUT: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const PARTIAL: RGBColor = RGBColor(0xa3, 0x5a, 0x00);
const OTHER: RGBColor = RGBColor(0x55, 0x5f, 0x6b);
const CABLE: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
const BACKUP: RGBColor = RGBColor(0x2e, 0x8b, 0x7a);
const INK: RGBColor = RGBColor(0x1b, 0x1f, 0x24);

fn kind_colour(k: FaultKind) -> RGBColor {
    match k {
        FaultKind::Cut => CUT,
        FaultKind::PartialDamage => PARTIAL,
        FaultKind::Other => OTHER,
    }
}

type Drawn = Result<String, String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The outage Gantt over `[from, to]`: a row per cable, a bar per fault
/// coloured by kind; a bar still open at the period's end ends in an arrow.
pub fn gantt(rows: &[Row], from: NaiveDate, to: NaiveDate, lang: Lang) -> Drawn {
    let days = (to - from).num_days().max(1) as i32;
    let height = 90 + 28 * rows.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = format!(
            "{} {from} – {to}",
            lang.pick("海纜障礙時間軸", "Cable outages")
        );
        let n = rows.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18).into_font().color(&INK))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(90)
            .build_cartesian_2d(0..days, (0..n).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(8)
            .x_label_formatter(&|d| {
                (from + Duration::days(i64::from(*d)))
                    .format("%m-%d")
                    .to_string()
            })
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    rows.get(*i).map(|r| r.cable.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style((FONT, 13).into_font().color(&INK))
            .draw()
            .map_err(err)?;
        let day = |d: NaiveDate| (d - from).num_days() as i32;
        for (i, row) in rows.iter().enumerate() {
            chart
                .draw_series(row.bars.iter().map(|b| {
                    let x1 = day(b.to).max(day(b.from) + 1);
                    Rectangle::new(
                        [
                            (day(b.from), SegmentValue::Exact(i)),
                            (x1, SegmentValue::Exact(i + 1)),
                        ],
                        kind_colour(b.kind).filled(),
                    )
                }))
                .map_err(err)?;
            chart
                .draw_series(row.bars.iter().filter(|b| b.open).map(|b| {
                    Text::new(
                        "▶",
                        (day(b.to), SegmentValue::CenterOf(i)),
                        (FONT, 13).into_font().color(&INK),
                    )
                }))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(legend(
        svg,
        &[
            (CUT, lang.pick("斷纜", "cut")),
            (PARTIAL, lang.pick("部分受損", "partial damage")),
            (OTHER, lang.pick("其他", "other")),
        ],
        lang.pick("▶ 期間結束時仍未修復", "▶ still open at the period's end"),
    ))
}

/// A fault's ETA drift: each estimated repair date it carried, as a step
/// from the moment it was set; the dashed diagonal is "today".
pub fn eta_drift(cable: &str, steps: &[Step], today: NaiveDate, lang: Lang) -> Drawn {
    let first_at = steps.first().map_or(today, |s| s.at.date_naive());
    let last_eta = steps.iter().map(|s| s.eta).max().unwrap_or(today);
    let x_end = today.max(first_at + Duration::days(1));
    let y_start = first_at.min(steps.iter().map(|s| s.eta).min().unwrap_or(first_at));
    let y_end = last_eta.max(x_end) + Duration::days(7);
    let xd = |d: NaiveDate| (d - first_at).num_days() as i32;
    let yd = |d: NaiveDate| (d - y_start).num_days() as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = format!(
            "{cable} {}",
            lang.pick("預估修復日期的變化", "estimated repair date, by revision")
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 17).into_font().color(&INK))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0..xd(x_end).max(1), 0..yd(y_end).max(1))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|d| {
                (first_at + Duration::days(i64::from(*d)))
                    .format("%m-%d")
                    .to_string()
            })
            .y_label_formatter(&|d| {
                (y_start + Duration::days(i64::from(*d)))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .x_desc(lang.pick("修訂時間", "revised on"))
            .y_desc(lang.pick("預估修復日", "estimated repair date"))
            .label_style((FONT, 12).into_font().color(&INK))
            .axis_desc_style((FONT, 13).into_font().color(&INK))
            .draw()
            .map_err(err)?;
        // Today: where the estimate would have to be at the latest.
        chart
            .draw_series(DashedLineSeries::new(
                [(0, yd(first_at)), (xd(x_end), yd(x_end))],
                6,
                4,
                OTHER.stroke_width(1),
            ))
            .map_err(err)?;
        let mut points: Vec<(i32, i32)> = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let x = xd(s.at.date_naive());
            let next = steps
                .get(i + 1)
                .map_or(xd(x_end), |n| xd(n.at.date_naive()));
            points.push((x, yd(s.eta)));
            points.push((next, yd(s.eta)));
        }
        chart
            .draw_series(LineSeries::new(points, CUT.stroke_width(3)))
            .map_err(err)?;
        chart
            .draw_series(
                steps
                    .iter()
                    .map(|s| Circle::new((xd(s.at.date_naive()), yd(s.eta)), 4, CUT.filled())),
            )
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Each outlying island's capacity (by cable, then backup, stacked) against
/// its peak demand (the black tick; none without a demand figure).
pub fn capacity(islands: &[(Capacity, String)], lang: Lang) -> Drawn {
    let top = islands
        .iter()
        .map(|(c, _)| (c.cable_gbps + c.backup_gbps).max(c.demand_gbps.unwrap_or(0.0)))
        .fold(1.0_f64, f64::max)
        * 1.15;
    let n = islands.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                lang.pick(
                    "離島可承載容量與尖峰需求 (Gbps)",
                    "Island capacity against peak demand (Gbps)",
                ),
                (FONT, 18).into_font().color(&INK),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    islands.get(*i).map(|(_, l)| l.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style((FONT, 13).into_font().color(&INK))
            .draw()
            .map_err(err)?;
        for (i, (c, _)) in islands.iter().enumerate() {
            let bar = |lo: f64, hi: f64, colour: RGBColor| {
                Rectangle::new(
                    [
                        (SegmentValue::Exact(i), lo),
                        (SegmentValue::Exact(i + 1), hi),
                    ],
                    colour.filled(),
                )
            };
            chart
                .draw_series([
                    bar(0.0, c.cable_gbps, CABLE),
                    bar(c.cable_gbps, c.cable_gbps + c.backup_gbps, BACKUP),
                ])
                .map_err(err)?;
            if let Some(d) = c.demand_gbps {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(SegmentValue::Exact(i), d), (SegmentValue::Exact(i + 1), d)],
                        INK.stroke_width(3),
                    )))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(legend(
        svg,
        &[
            (CABLE, lang.pick("海纜", "cables")),
            (
                BACKUP,
                lang.pick("備援（微波、衛星）", "backup (microwave, satellite)"),
            ),
            (
                INK,
                lang.pick(
                    "尖峰需求（估計者另標示）",
                    "peak demand (estimates labelled elsewhere)",
                ),
            ),
        ],
        "",
    ))
}

/// Appends a one-line legend (coloured squares and names) at the foot of
/// the SVG, inside it.
fn legend(svg: String, items: &[(RGBColor, &str)], note: &str) -> String {
    let Some(end) = svg.rfind("</svg>") else {
        return svg;
    };
    let mut g = String::from("<g class=\"legend\" font-size=\"12\">");
    let mut x = 12;
    for (c, name) in items {
        g.push_str(&format!(
            "<rect x=\"{x}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#{:02x}{:02x}{:02x}\"/>\
             <text x=\"{}\" y=\"13\" font-family=\"{FONT}\">{}</text>",
            c.0,
            c.1,
            c.2,
            x + 14,
            escape(name)
        ));
        x += 24 + 8 * name.chars().count() as i32;
    }
    if !note.is_empty() {
        g.push_str(&format!(
            "<text x=\"{x}\" y=\"13\" font-family=\"{FONT}\">{}</text>",
            escape(note)
        ));
    }
    g.push_str("</g>");
    let mut out = svg;
    out.insert_str(end, &g);
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::chart::Bar;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default()
    }

    #[test]
    fn the_gantt_draws_a_bar_per_fault_and_names_every_cable() {
        let rows = vec![
            Row {
                cable: "TPKM3".into(),
                bars: vec![Bar {
                    fault_id: 1,
                    kind: FaultKind::Cut,
                    from: d(2, 1),
                    to: d(2, 10),
                    open: false,
                }],
            },
            Row {
                cable: "TDM3<x>".into(),
                bars: vec![Bar {
                    fault_id: 2,
                    kind: FaultKind::PartialDamage,
                    from: d(2, 5),
                    to: d(2, 28),
                    open: true,
                }],
            },
        ];
        let svg = gantt(&rows, d(2, 1), d(2, 28), Lang::En).expect("drawn");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(
            svg.contains("TPKM3") && svg.contains("TDM3&lt;x&gt;"),
            "names escaped"
        );
        assert!(
            svg.contains("#c62828")
                || svg.contains("rgb(198,40,40)")
                || svg.to_lowercase().contains("#c62828")
        );
        assert!(svg.contains("Cable outages"));
        let zh = gantt(&rows, d(2, 1), d(2, 28), Lang::ZhTw).expect("drawn");
        assert!(zh.contains("海纜障礙時間軸"));
        assert!(!svg.contains("href"), "no outside reference");
    }
}
