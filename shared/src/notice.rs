//! The ministry's notice (海纜障礙資訊一覽表 and 海纜計畫性維修通告), read and
//! written in its own layout.
//!
//! The layout, as pasted from the ministry's minutes: tab-separated rows;
//! a cable's further faults on continuation rows whose leading cells are
//! empty; a cell whose text spills onto a later line with only that cell
//! filled; estimated repair dates given once per cable; footnotes (註) that
//! report completed repairs ("已於 115 年 2 月 12 日修復完成").
//!
//! [`parse_notice`] never stops at the first problem: it returns every
//! error with its line number, so an import can refuse the whole notice
//! and tell the officer everything that needs fixing at once.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::fault::{
    alternate_routes_text, describe, parse_alternate_routes, AlternateRoute, Chainage, Fault,
    FaultKind,
};
use crate::reference::{Cable, CableIndex, Station};
use crate::roc::{self, Eta};

/// The standing first footnote of every notice.
pub const ETA_FOOTNOTE: &str = "以上各預估修復時間仍將視海纜修復船調度及海象情況而定。";

/// How many days a completed repair stays in the footnotes of an export.
pub const REPAIR_FOOTNOTE_DAYS: i64 = 7;

/// A problem on one line of a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineIssue {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One fault row of the notice's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeFault {
    pub line: usize,
    pub cable: String,
    pub detected_on: NaiveDate,
    pub kind: FaultKind,
    pub description: String,
    pub chainage: Chainage,
    pub alternate_routes: Vec<AlternateRoute>,
    pub eta: Eta,
}

impl NoticeFault {
    /// The fault this line records, open, as a registry would hold it under
    /// `id` (for in-memory states: the demo network, tests).
    pub fn open_fault(&self, id: i64, provenance: &str) -> Fault {
        Fault {
            id,
            cable: self.cable.clone(),
            detected_on: Some(self.detected_on),
            kind: self.kind,
            description: self.description.clone(),
            chainage: self.chainage.clone(),
            alternate_routes: self.alternate_routes.clone(),
            eta: self.eta,
            status: crate::fault::FaultStatus::Open,
            restored_on: None,
            notes: String::new(),
            capacity_lost_pct: None,
            provenance: provenance.into(),
            version: 1,
        }
    }
}

/// A completed repair reported in a footnote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeRepair {
    pub line: usize,
    pub cable: String,
    pub kind: FaultKind,
    pub chainage: Chainage,
    pub restored_on: NaiveDate,
}

/// One row of the planned-maintenance table (計畫性維修).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeMaintenance {
    pub line: usize,
    pub cable: String,
    pub eta: Eta,
    pub description: String,
    pub alternate_routes: Vec<AlternateRoute>,
}

/// A planned maintenance reported complete in the maintenance footnote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceDone {
    pub line: usize,
    pub cable: String,
    pub completed_on: NaiveDate,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    /// 日期 of the fault table.
    pub date: Option<NaiveDate>,
    pub faults: Vec<NoticeFault>,
    pub repairs: Vec<NoticeRepair>,
    /// Footnotes that are not repair reports.
    pub notes: Vec<String>,
    pub maintenance_date: Option<NaiveDate>,
    pub maintenance: Vec<NoticeMaintenance>,
    pub maintenance_done: Vec<MaintenanceDone>,
    pub maintenance_notes: Vec<String>,
}

/// What [`parse_notice`] found: the notice, warnings, and errors.
/// A notice with any error must not be imported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParsedNotice {
    pub notice: Notice,
    pub warnings: Vec<LineIssue>,
    pub errors: Vec<LineIssue>,
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Preamble,
    Faults,
    FaultNotes,
    Maintenance,
    MaintenanceNotes,
}

/// Folds full-width brackets and spaces so matching is robust.
fn clean(s: &str) -> String {
    s.replace('（', "(")
        .replace('）', ")")
        .replace('\u{3000}', " ")
        .trim()
        .to_string()
}

/// Reads `距新北八里約 206 公里處...` into the place and km.
pub fn parse_chainage_text(text: &str) -> Option<(String, f64)> {
    let start = text.find('距')? + '距'.len_utf8();
    let rest = &text[start..];
    let km_at = rest.find("公里")?;
    let before = &rest[..km_at];
    // The number is the last run of digits (and a point) before 公里.
    let num: String = before
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || ('０'..='９').contains(c) || *c == '．')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            c => c,
        })
        .collect();
    let km: f64 = num.parse().ok()?;
    let place_part = before.trim_end();
    let place_part = &place_part[..place_part.len()
        - place_part
            .chars()
            .rev()
            .take_while(|c| {
                c.is_ascii_digit() || *c == '.' || ('０'..='９').contains(c) || *c == '．'
            })
            .map(char::len_utf8)
            .sum::<usize>()];
    let place = place_part.trim().trim_end_matches('約').trim();
    if place.is_empty() || !km.is_finite() {
        return None;
    }
    Some((place.to_string(), km))
}

fn strip_numbering(s: &str) -> &str {
    let s = s.trim_start_matches(['-', '*', ' ', '\t']);
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        let rest = &s[digits..];
        for sep in ['.', '、', '．', ')'] {
            if let Some(r) = rest.strip_prefix(sep) {
                return r.trim_start();
            }
        }
    }
    s.trim()
}

fn date_after_colon(line: &str) -> Option<&str> {
    line.split_once(['：', ':']).map(|(_, d)| d.trim())
}

/// The largest notice accepted: a real one is a few KB and a few dozen rows.
pub const MAX_NOTICE_BYTES: usize = 1024 * 1024;
/// The most lines a notice may have.
pub const MAX_NOTICE_LINES: usize = 2_000;

/// `Err(message)` when `text` is larger than any real notice.
pub fn check_notice_size(text: &str) -> Result<(), String> {
    if text.len() > MAX_NOTICE_BYTES {
        return Err(format!(
            "a notice is at most {} KiB; this text is {} KiB",
            MAX_NOTICE_BYTES / 1024,
            text.len().div_ceil(1024)
        ));
    }
    let lines = text.split('\n').count();
    if lines > MAX_NOTICE_LINES {
        return Err(format!(
            "a notice has at most {MAX_NOTICE_LINES} lines; this text has {lines}"
        ));
    }
    Ok(())
}

/// Parses a notice pasted as text. Accepts CRLF or LF, full- or half-width
/// brackets, cells broken over lines.
/// An error naming `line` when `value` is longer than `max` characters.
fn too_long(line: usize, what: &str, value: &str, max: usize) -> Option<LineIssue> {
    let n = value.chars().count();
    (n > max).then(|| LineIssue {
        line,
        message: format!("{what}: at most {max} characters, this one has {n}"),
    })
}

pub fn parse_notice(text: &str, cables: &[Cable], stations: &[Station]) -> ParsedNotice {
    let index = CableIndex::new(cables);
    let mut out = ParsedNotice::default();
    let mut section = Section::Preamble;

    // Fault rows are built in two steps so a spilled alternate-route cell can
    // still be appended before the routes are parsed.
    struct Pending {
        line: usize,
        cable: String,
        detected_on: NaiveDate,
        description: String,
        alt_raw: String,
        eta: Eta,
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut group: Option<(String, Eta, String)> = None; // cable, eta, alt
    let mut group_broken = false;

    for (i, raw_line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw_line.trim_end_matches('\r');
        let trimmed = clean(line);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.contains("海纜障礙資訊一覽表") {
            section = Section::Faults;
            continue;
        }
        if trimmed.contains("計畫性維修通告") {
            section = Section::Maintenance;
            continue;
        }
        if trimmed.starts_with("日期") {
            let d = date_after_colon(&trimmed).unwrap_or("");
            match roc::parse_roc_date(d) {
                Ok(date) => match section {
                    Section::Maintenance | Section::MaintenanceNotes => {
                        out.notice.maintenance_date = Some(date)
                    }
                    _ => out.notice.date = Some(date),
                },
                Err(e) => out.errors.push(LineIssue {
                    line: n,
                    message: format!("notice date: {e}"),
                }),
            }
            continue;
        }
        if trimmed.starts_with("序號") {
            continue;
        }
        if trimmed.starts_with("註") {
            section = match section {
                Section::Maintenance | Section::MaintenanceNotes => Section::MaintenanceNotes,
                _ => Section::FaultNotes,
            };
            let rest = trimmed
                .trim_start_matches('註')
                .trim_start_matches(['：', ':'])
                .trim();
            if !rest.is_empty() {
                footnote(&mut out, section, n, rest, &index, stations);
            }
            continue;
        }
        match section {
            Section::Preamble => {}
            Section::FaultNotes | Section::MaintenanceNotes => {
                if trimmed.starts_with('(') && trimmed.contains("計畫性維修") {
                    continue; // the "(2) 海纜計畫性維修資訊" heading
                }
                footnote(&mut out, section, n, &trimmed, &index, stations)
            }
            Section::Faults => {
                let mut cells: Vec<String> = line.split('\t').map(clean).collect();
                if cells.len() < 2 {
                    out.errors.push(LineIssue {
                        line: n,
                        message: format!(
                            "not a table row: expected tab-separated cells, found 「{trimmed}」"
                        ),
                    });
                    continue;
                }
                if cells.len() > 6 && cells[6..].iter().any(|c| !c.is_empty()) {
                    out.errors.push(LineIssue {
                        line: n,
                        message: format!("{} cells, the table has 6", cells.len()),
                    });
                    continue;
                }
                cells.resize(6, String::new());
                let [seq, cable_cell, date_cell, desc, alt, eta_cell] =
                    [0, 1, 2, 3, 4, 5].map(|k| cells[k].clone());
                if seq == "無" {
                    continue;
                }
                if !cable_cell.is_empty() {
                    group_broken = false;
                    match index.resolve(&cable_cell) {
                        Some(abbrev) => group = Some((abbrev, Eta::UNKNOWN, String::new())),
                        None => {
                            group_broken = true;
                            out.errors.push(LineIssue {
                                line: n,
                                message: format!("unknown cable 「{cable_cell}」"),
                            });
                        }
                    }
                } else if !seq.is_empty() {
                    out.errors.push(LineIssue {
                        line: n,
                        message: format!("row {seq} has no cable name"),
                    });
                    group_broken = true;
                }
                if date_cell.is_empty() && desc.is_empty() {
                    // A spilled cell: text continuing the previous row's cell.
                    match pending.last_mut() {
                        Some(prev) if cable_cell.is_empty() => {
                            if !alt.is_empty() {
                                prev.alt_raw.push_str(&alt);
                                // The group's route text is the row's: extend
                                // both (copying the growing text each row was
                                // quadratic in the rows spilled).
                                if let Some(g) = group.as_mut() {
                                    g.2.push_str(&alt);
                                }
                            }
                            if !eta_cell.is_empty() {
                                out.errors.push(LineIssue {
                                    line: n,
                                    message: format!(
                                        "estimated repair date 「{eta_cell}」 on a row without a fault"
                                    ),
                                });
                            }
                        }
                        _ => out.errors.push(LineIssue {
                            line: n,
                            message: "row has no fault date and no fault description".into(),
                        }),
                    }
                    continue;
                }
                if group_broken {
                    continue; // the cable's error is already reported
                }
                let Some((cable, group_eta, group_alt)) = group.as_mut() else {
                    out.errors.push(LineIssue {
                        line: n,
                        message: "fault row before any cable name".into(),
                    });
                    continue;
                };
                let mut row_ok = true;
                let detected_on = match roc::parse_roc_date(&date_cell) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        out.errors.push(LineIssue {
                            line: n,
                            message: format!("fault date: {e}"),
                        });
                        row_ok = false;
                        None
                    }
                };
                if desc.is_empty() {
                    out.errors.push(LineIssue {
                        line: n,
                        message: "missing fault description (障礙情形)".into(),
                    });
                    row_ok = false;
                } else if parse_chainage_text(&desc).is_none() {
                    out.errors.push(LineIssue {
                        line: n,
                        message: format!(
                            "cannot read where the fault is in 「{desc}」: expected 距<place>約 N 公里處"
                        ),
                    });
                    row_ok = false;
                }
                if !eta_cell.is_empty() {
                    match roc::parse_eta(&eta_cell) {
                        Ok(e) => *group_eta = e,
                        Err(e) => {
                            out.errors.push(LineIssue {
                                line: n,
                                message: format!("estimated repair date: {e}"),
                            });
                            row_ok = false;
                        }
                    }
                }
                if !alt.is_empty() {
                    *group_alt = alt.clone();
                }
                if let (true, Some(detected_on)) = (row_ok, detected_on) {
                    pending.push(Pending {
                        line: n,
                        cable: cable.clone(),
                        detected_on,
                        description: desc,
                        alt_raw: group_alt.clone(),
                        eta: *group_eta,
                    });
                }
            }
            Section::Maintenance => {
                let mut cells: Vec<String> = line.split('\t').map(clean).collect();
                if cells.first().map(String::as_str) == Some("無") {
                    continue;
                }
                if cells.len() < 2 {
                    out.errors.push(LineIssue {
                        line: n,
                        message: format!("not a maintenance row: 「{trimmed}」"),
                    });
                    continue;
                }
                cells.resize(5, String::new());
                let Some(cable) = index.resolve(&cells[1]) else {
                    out.errors.push(LineIssue {
                        line: n,
                        message: format!("unknown cable 「{}」", cells[1]),
                    });
                    continue;
                };
                if let Some(issue) = too_long(n, "description", &cells[3], crate::fault::MAX_TEXT)
                    .or_else(|| too_long(n, "alternate route", &cells[4], crate::fault::MAX_TEXT))
                {
                    out.errors.push(issue);
                    continue;
                }
                match roc::parse_eta(&cells[2]) {
                    Ok(eta) => out.notice.maintenance.push(NoticeMaintenance {
                        line: n,
                        cable,
                        eta,
                        description: cells[3].clone(),
                        alternate_routes: parse_alternate_routes(&cells[4], &index),
                    }),
                    Err(e) => out.errors.push(LineIssue {
                        line: n,
                        message: format!("estimated repair date: {e}"),
                    }),
                }
            }
        }
    }

    for p in pending {
        // The same limits as the fault form, so an import cannot store what
        // an officer could not type.
        if let Some(issue) = too_long(
            p.line,
            "description",
            &p.description,
            crate::fault::MAX_TEXT,
        )
        .or_else(|| {
            too_long(
                p.line,
                "alternate route",
                &p.alt_raw,
                crate::fault::MAX_TEXT,
            )
        }) {
            out.errors.push(issue);
            continue;
        }
        let (place, km) = parse_chainage_text(&p.description).unwrap_or_default();
        if let Some(issue) = too_long(p.line, "place", &place, crate::fault::MAX_PLACE) {
            out.errors.push(issue);
            continue;
        }
        let chainage = Chainage::resolve(&place, km, stations);
        if chainage.station.is_none() {
            out.warnings.push(LineIssue {
                line: p.line,
                message: format!("「{place}」 is not a registered landing station: the fault is kept but not placed on the map"),
            });
        }
        out.notice.faults.push(NoticeFault {
            line: p.line,
            cable: p.cable,
            detected_on: p.detected_on,
            kind: FaultKind::from_notice_text(&p.description),
            description: p.description,
            chainage,
            alternate_routes: parse_alternate_routes(&p.alt_raw, &index),
            eta: p.eta,
        });
    }
    if out.notice.date.is_none() && !out.notice.faults.is_empty() {
        out.errors.push(LineIssue {
            line: 1,
            message: "the notice has no date (日期：115/2/14)".into(),
        });
    }
    if out.notice.faults.is_empty()
        && out.notice.repairs.is_empty()
        && out.notice.maintenance.is_empty()
        && out.errors.is_empty()
    {
        out.errors.push(LineIssue {
            line: 1,
            message: "no fault table found (海纜障礙資訊一覽表 with tab-separated rows)".into(),
        });
    }
    out
}

fn footnote(
    out: &mut ParsedNotice,
    section: Section,
    n: usize,
    text: &str,
    index: &CableIndex,
    stations: &[Station],
) {
    let text = strip_numbering(text);
    let context = out
        .notice
        .maintenance_date
        .or(out.notice.date)
        .unwrap_or_default();
    let parse_done_date =
        |s: &str| roc::parse_roc_date(s).or_else(|_| roc::parse_roc_month_day(s, context));
    if section == Section::MaintenanceNotes {
        out.notice.maintenance_notes.push(text.to_string());
        const DONE_AT: &str = "計畫性維修已於";
        // The date is between the marker and the first 完成 after it.
        let span = text.find(DONE_AT).and_then(|at| {
            let from = at + DONE_AT.len();
            text[from..].find("完成").map(|len| (at, from, from + len))
        });
        if let Some((at, from, end)) = span {
            let cable_part = &text[..at];
            let date_part = &text[from..end];
            if let (Some(cable), Ok(d)) = (index.resolve(cable_part), parse_done_date(date_part)) {
                out.notice.maintenance_done.push(MaintenanceDone {
                    line: n,
                    cable,
                    completed_on: d,
                });
            }
        }
        return;
    }
    if !text.contains("修復完成") {
        if text != ETA_FOOTNOTE {
            out.notice.notes.push(text.to_string());
        }
        return;
    }
    let Some(first) = text.find('距') else {
        out.errors.push(LineIssue {
            line: n,
            message: "repair footnote without a place (距…公里)".into(),
        });
        return;
    };
    let cable_part = text[..first].trim();
    let Some(cable) = index.resolve(cable_part) else {
        out.errors.push(LineIssue {
            line: n,
            message: format!("unknown cable 「{cable_part}」 in repair footnote"),
        });
        return;
    };
    for seg in text[first..].split(['；', ';']) {
        let seg = seg.trim().trim_end_matches('。');
        if seg.is_empty() {
            continue;
        }
        let Some((place, km)) = parse_chainage_text(seg) else {
            out.errors.push(LineIssue {
                line: n,
                message: format!("cannot read the place in 「{seg}」"),
            });
            continue;
        };
        let date_txt = seg
            .split_once("已於")
            .and_then(|(_, r)| r.split_once("修復完成"))
            .map(|(d, _)| d.trim());
        let Some(date_txt) = date_txt else {
            out.errors.push(LineIssue {
                line: n,
                message: format!("cannot read the repair date in 「{seg}」"),
            });
            continue;
        };
        match parse_done_date(date_txt) {
            Ok(d) => {
                let chainage = Chainage::resolve(&place, km, stations);
                if chainage.station.is_none() {
                    out.warnings.push(LineIssue {
                        line: n,
                        message: format!("「{place}」 is not a registered landing station: the fault is kept but not placed on the map"),
                    });
                }
                out.notice.repairs.push(NoticeRepair {
                    line: n,
                    cable: cable.clone(),
                    kind: FaultKind::from_notice_text(seg),
                    chainage,
                    restored_on: d,
                })
            }
            Err(e) => out.errors.push(LineIssue {
                line: n,
                message: format!("repair date: {e}"),
            }),
        }
    }
}

/// Planned maintenance as the export writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceLine {
    pub cable: String,
    pub eta: Eta,
    pub description: String,
    pub alternate_routes: Vec<AlternateRoute>,
}

/// Writes the notice for `as_of`: faults open that day grouped by cable in
/// first-detected order, ETA once per cable (again only where a later
/// fault's differs), and footnotes for repairs completed in the
/// [`REPAIR_FOOTNOTE_DAYS`] days up to `as_of`.
pub fn write_notice(
    as_of: NaiveDate,
    faults: &[Fault],
    maintenance: &[MaintenanceLine],
    cables: &[Cable],
) -> String {
    let name = |abbrev: &str| {
        cables
            .iter()
            .find(|c| c.abbrev == abbrev)
            .map(Cable::notice_name)
            .unwrap_or_else(|| abbrev.to_string())
    };
    let mut open: Vec<&Fault> = faults.iter().filter(|f| f.is_open_on(as_of)).collect();
    open.sort_by_key(|f| (f.detected_on, f.id));
    let mut order: Vec<&str> = Vec::new();
    for f in &open {
        if !order.contains(&f.cable.as_str()) {
            order.push(&f.cable);
        }
    }
    let mut s = String::new();
    s.push_str("海纜障礙資訊一覽表\n\n");
    s.push_str(&format!("日期：{}\n\n", roc::format_roc_slash(as_of)));
    s.push_str("序號\t海纜名稱\t障礙發生日期\t障礙情形\t替代路由\t預計修復日期\n");
    if order.is_empty() {
        s.push_str("無\t\t\t\t\t\n");
    }
    for (seq, cable) in order.iter().enumerate() {
        let mut prev_alt: Option<String> = None;
        let mut prev_eta: Option<Eta> = None;
        for f in open.iter().filter(|f| f.cable == *cable) {
            let alt = alternate_routes_text(&f.alternate_routes);
            let alt_cell = if prev_alt.as_deref() == Some(alt.as_str()) {
                String::new()
            } else {
                alt.clone()
            };
            let eta_cell = if prev_eta == Some(f.eta) {
                String::new()
            } else {
                f.eta.to_roc()
            };
            let (seq_cell, name_cell) = if prev_eta.is_none() {
                ((seq + 1).to_string(), name(cable))
            } else {
                (String::new(), String::new())
            };
            let desc = if f.description.is_empty() {
                describe(f.kind, &f.chainage)
            } else {
                f.description.clone()
            };
            let date = f.detected_on.map(roc::format_roc_slash).unwrap_or_default();
            s.push_str(&format!(
                "{seq_cell}\t{name_cell}\t{date}\t{desc}\t{alt_cell}\t{eta_cell}\n"
            ));
            prev_alt = Some(alt);
            prev_eta = Some(f.eta);
        }
    }
    s.push_str("\n註：\n\n");
    s.push_str(&format!("- 1.{ETA_FOOTNOTE}\n"));
    let window_start = as_of - Duration::days(REPAIR_FOOTNOTE_DAYS);
    let mut repaired: Vec<&Fault> = faults
        .iter()
        .filter(|f| {
            f.restored_on
                .is_some_and(|r| r > window_start && r <= as_of)
        })
        .collect();
    repaired.sort_by_key(|f| (f.restored_on, f.id));
    let mut rep_order: Vec<&str> = Vec::new();
    for f in &repaired {
        if !rep_order.contains(&f.cable.as_str()) {
            rep_order.push(&f.cable);
        }
    }
    for (i, cable) in rep_order.iter().enumerate() {
        let parts: Vec<String> = repaired
            .iter()
            .filter(|f| f.cable == *cable)
            .filter_map(|f| {
                let kind = match f.kind {
                    FaultKind::PartialDamage => "部分芯線受損障礙",
                    FaultKind::Cut => "斷纜障礙",
                    FaultKind::Other => "障礙",
                };
                Some(format!(
                    "距{}約 {} 公里處之{}，已於 {} 修復完成",
                    f.chainage.place,
                    f.chainage.km_text(),
                    kind,
                    roc::format_roc_long(f.restored_on?)
                ))
            })
            .collect();
        s.push_str(&format!(
            "- {}.{} {}。\n",
            i + 2,
            name(cable),
            parts.join("；")
        ));
    }
    s.push_str("\n海纜計畫性維修通告\n\n");
    s.push_str(&format!("日期：{}\n\n", roc::format_roc_slash(as_of)));
    s.push_str("序號\t海纜名稱\t預計修復日期\t維修及影響說明\t替代路由\n");
    if maintenance.is_empty() {
        s.push_str("無\t\t\t\t\n");
    }
    for (i, m) in maintenance.iter().enumerate() {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            i + 1,
            name(&m.cable),
            m.eta.to_roc(),
            m.description.replace(['\t', '\n'], " "),
            alternate_routes_text(&m.alternate_routes)
        ));
    }
    let _ = as_of.year();
    s
}

/// A notice at the size limits, for benchmarks: `real` (a notice in the
/// ministry's layout) with TDM2's fault rows repeated, each with a long
/// alternate-route cell, until the text is just under both
/// [`MAX_NOTICE_BYTES`] and [`MAX_NOTICE_LINES`].
pub fn notice_at_the_limit(real: &str) -> String {
    let row = "\t\t114/10/28\t距淡水沙崙約 162 公里處斷纜\t";
    let alt = "臺馬三號海纜、微波備援、衛星備援、".repeat(10);
    let at = real.find("3\t海峽光纜一號").unwrap_or(real.len());
    let (head, tail) = real.split_at(at);
    let mut rows = String::new();
    let room_lines = MAX_NOTICE_LINES.saturating_sub(real.lines().count() + 1);
    for _ in 0..room_lines {
        let line = format!("{row}{alt}\t\n");
        if head.len() + rows.len() + line.len() + tail.len() > MAX_NOTICE_BYTES {
            break;
        }
        rows.push_str(&line);
    }
    format!("{head}{rows}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultStatus;
    use crate::reference::{cables, stations};
    use crate::roc::EtaPrecision;

    const FIXTURE: &str = include_str!("../tests/fixtures/2026-02-14-fault-notice.txt");

    fn parse(text: &str) -> ParsedNotice {
        parse_notice(
            text,
            &cables().expect("cables"),
            &stations().expect("stations"),
        )
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    /// Issue 11.7: a notice cell longer than the form allows is refused with
    /// its line named, like the form would refuse it.
    #[test]
    fn overlong_cells_are_refused_with_their_line() {
        let long = "微波".repeat(crate::fault::MAX_TEXT);
        let text = FIXTURE.replacen("EAC1 海纜\t115/4/30", &format!("{long}\t115/4/30"), 1);
        assert_ne!(text, FIXTURE, "the fixture row was found");
        let p = parse(&text);
        assert!(
            p.errors
                .iter()
                .any(|e| e.line == 10 && e.message.starts_with("alternate route: at most 4000")),
            "{:?}",
            p.errors
        );
        let place = "八".repeat(crate::fault::MAX_PLACE + 1);
        let text = FIXTURE.replacen("距新北八里約 206", &format!("距{place}約 206"), 1);
        let p = parse(&text);
        assert!(
            p.errors
                .iter()
                .any(|e| e.line == 10 && e.message.starts_with("place:")),
            "{:?}",
            p.errors
        );
        assert!(parse(FIXTURE).errors.is_empty());
    }

    #[test]
    fn reads_the_real_notice() {
        let p = parse(FIXTURE);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = &p.notice;
        assert_eq!(n.date, Some(d(2026, 2, 14)));
        assert_eq!(n.faults.len(), 11);
        let mut cables: Vec<&str> = n.faults.iter().map(|f| f.cable.as_str()).collect();
        cables.dedup();
        assert_eq!(
            cables,
            ["EAC1", "TDM2", "TSE-1", "PLCN", "FNAL", "RNAL", "EAC2", "Apricot"]
        );
        let cuts = n.faults.iter().filter(|f| f.kind == FaultKind::Cut).count();
        let partial = n
            .faults
            .iter()
            .filter(|f| f.kind == FaultKind::PartialDamage)
            .count();
        assert_eq!((partial, cuts), (5, 6));

        let eac1b = &n.faults[1];
        assert_eq!(eac1b.line, 11);
        assert_eq!(eac1b.chainage.place, "新北八里");
        assert_eq!(eac1b.chainage.station.as_deref(), Some("bali"));
        assert_eq!(eac1b.chainage.km, 562.0);
        assert_eq!(
            eac1b.eta,
            Eta::day(d(2026, 4, 30)),
            "ETA given once per cable"
        );
        assert!(
            matches!(&eac1b.alternate_routes[..], [AlternateRoute::Cable { cable, .. }] if cable == "C2C")
        );

        // TDM2's later faults inherit the cable's alternate route and ETA.
        let tdm2: Vec<_> = n.faults.iter().filter(|f| f.cable == "TDM2").collect();
        assert_eq!(tdm2.len(), 3);
        assert!(tdm2.iter().all(|f| f.eta == Eta::day(d(2026, 2, 27))));
        assert!(tdm2.iter().all(|f| matches!(&f.alternate_routes[..], [AlternateRoute::Cable { cable, .. }] if cable == "TDM3")));
        assert_eq!(tdm2[1].kind, FaultKind::Cut);
        assert_eq!(tdm2[1].chainage.station.as_deref(), Some("tamsui-shalun"));

        // TSE-1: month ETA and an alternate-route cell spilled onto a later line.
        let tse = n.faults.iter().find(|f| f.cable == "TSE-1").expect("TSE-1");
        assert_eq!(tse.eta.precision, EtaPrecision::Month);
        assert_eq!(tse.eta.to_roc(), "115 年 4 月");
        assert_eq!(
            tse.alternate_routes,
            vec![AlternateRoute::Text {
                text: "由同一海纜其他芯線進行傳輸，不影響訊務。".into()
            }]
        );

        let fnal = n.faults.iter().find(|f| f.cable == "FNAL").expect("FNAL");
        let alts: Vec<&str> = fnal
            .alternate_routes
            .iter()
            .filter_map(|a| match a {
                AlternateRoute::Cable { cable, .. } => Some(cable.as_str()),
                AlternateRoute::Text { .. } => None,
            })
            .collect();
        assert_eq!(alts, ["APG", "EAC1"]);
        let apricot = n
            .faults
            .iter()
            .find(|f| f.cable == "Apricot")
            .expect("Apricot");
        assert_eq!(apricot.chainage.km, 47.7);
        assert_eq!(apricot.detected_on, d(2026, 1, 3));

        assert_eq!(n.repairs.len(), 3);
        assert_eq!(n.repairs[0].cable, "TPE");
        assert_eq!(n.repairs[0].chainage.place, "中國崇明");
        assert_eq!(n.repairs[0].chainage.km, 72.3);
        assert_eq!(n.repairs[0].restored_on, d(2026, 2, 12));
        assert_eq!(n.repairs[1].restored_on, d(2026, 2, 13));
        assert_eq!(n.repairs[2].cable, "SJC2");
        assert_eq!(n.repairs[2].restored_on, d(2026, 2, 14));
        assert_eq!(n.maintenance_date, Some(d(2026, 2, 12)));
        assert!(n.maintenance.is_empty());
        assert_eq!(n.maintenance_done.len(), 1);
        assert_eq!(n.maintenance_done[0].cable, "TPE");
        assert_eq!(n.maintenance_done[0].completed_on, d(2026, 2, 12));
        // Places that are not landing stations are warnings, not errors.
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    }

    #[test]
    fn every_fault_of_the_real_notice_lands_on_its_schematic_route() {
        let cs = cables().expect("cables");
        let st = stations().expect("stations");
        let p = parse(FIXTURE);
        for f in &p.notice.faults {
            let cable = cs.iter().find(|c| c.abbrev == f.cable).expect("cable");
            let sid = f.chainage.station.as_deref().expect("station resolved");
            let s = st.iter().find(|s| s.id == sid).expect("station");
            let at = crate::chainage::place(&cable.route, (s.lon, s.lat), f.chainage.km)
                .unwrap_or_else(|| panic!("{} is placed", f.cable));
            assert!(
                !at.beyond_route,
                "{} {} km lies within the route ({:.0} km)",
                f.cable,
                f.chainage.km,
                crate::chainage::route_length_km(&cable.route)
            );
            let back = crate::chainage::along_route_km(&cable.route, (at.lon, at.lat));
            assert!((back - f.chainage.km).abs() < 0.5, "{} {back}", f.cable);
        }
    }

    #[test]
    fn a_completion_word_before_the_maintenance_marker_does_not_panic() {
        // Found by tests/notice_fuzz.rs: 完成 appearing before 計畫性維修已於.
        let p = parse("海纜計畫性維修通告\n註：修復完成計畫性維修已於 2 月 12 日完成");
        assert!(p.notice.maintenance_done.is_empty());
    }

    #[test]
    fn crlf_and_full_width_brackets_read_the_same() {
        let crlf = FIXTURE.replace('\n', "\r\n").replace("(EAC1)", "（EAC1）");
        let a = parse(FIXTURE);
        let b = parse(&crlf);
        assert!(b.errors.is_empty(), "{:?}", b.errors);
        assert_eq!(a.notice.faults.len(), b.notice.faults.len());
        for (x, y) in a.notice.faults.iter().zip(&b.notice.faults) {
            assert_eq!(
                (&x.cable, x.detected_on, &x.chainage, x.eta),
                (&y.cable, y.detected_on, &y.chainage, y.eta)
            );
        }
    }

    #[test]
    fn every_bad_line_is_named() {
        let bad = FIXTURE
            .replace("臺馬二號海纜 (TDM2)", "臺馬九號海纜 (TDM9)")
            .replace(
                "114/12/28\t距宜蘭頭城約 160 公里處 斷纜\tAPG",
                "115/2/30\t距宜蘭頭城約 160 公里處 斷纜\tAPG",
            )
            .replace("距宜蘭頭城約 348 公里 處斷纜", "宜蘭頭城外海斷纜");
        let p = parse(&bad);
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![12, 18, 19], "{:?}", p.errors);
        assert!(p.errors[0].message.contains("TDM9"));
        assert!(
            p.errors[1].message.contains("348") || p.errors[1].message.contains("宜蘭頭城外海")
        );
        assert!(p.errors[2].message.contains("115/2/30"));
    }

    #[test]
    fn text_that_is_not_a_notice_is_an_error() {
        assert!(!parse("hello\nworld").errors.is_empty());
        assert!(!parse("").errors.is_empty());
    }

    #[test]
    fn chainage_text() {
        assert_eq!(
            parse_chainage_text("距新北八里約 206 公里處發生部分芯線受損障礙"),
            Some(("新北八里".into(), 206.0))
        );
        assert_eq!(
            parse_chainage_text("距宜蘭頭城約 47.7 公里 處斷纜"),
            Some(("宜蘭頭城".into(), 47.7))
        );
        assert_eq!(
            parse_chainage_text("距日本千倉約 2600 公里處之斷纜障礙"),
            Some(("日本千倉".into(), 2600.0))
        );
        assert_eq!(
            parse_chainage_text("距淡水約１５６公里處"),
            Some(("淡水".into(), 156.0))
        );
        assert_eq!(parse_chainage_text("外海斷纜"), None);
    }

    fn as_faults(p: &ParsedNotice) -> Vec<Fault> {
        let mut out: Vec<Fault> = p
            .notice
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| f.open_fault(i as i64 + 1, "test"))
            .collect();
        for (i, r) in p.notice.repairs.iter().enumerate() {
            out.push(Fault {
                id: 100 + i as i64,
                cable: r.cable.clone(),
                detected_on: None,
                kind: r.kind,
                description: String::new(),
                chainage: r.chainage.clone(),
                alternate_routes: vec![],
                eta: Eta::UNKNOWN,
                status: FaultStatus::Restored,
                restored_on: Some(r.restored_on),
                notes: String::new(),
                capacity_lost_pct: None,
                provenance: "test".into(),
                version: 1,
            });
        }
        out
    }

    #[test]
    fn export_then_import_gives_the_same_faults() {
        let p = parse(FIXTURE);
        let faults = as_faults(&p);
        let cs = cables().expect("cables");
        let text = write_notice(d(2026, 2, 14), &faults, &[], &cs);
        let again = parse(&text);
        assert!(again.errors.is_empty(), "{:?}\n{text}", again.errors);
        assert_eq!(again.notice.faults.len(), 11, "{text}");
        for (a, b) in p.notice.faults.iter().zip(&again.notice.faults) {
            assert_eq!(a.cable, b.cable);
            assert_eq!(a.detected_on, b.detected_on);
            assert_eq!(a.kind, b.kind);
            assert_eq!(a.chainage, b.chainage);
            assert_eq!(a.eta, b.eta);
            assert_eq!(a.alternate_routes, b.alternate_routes);
        }
        assert_eq!(again.notice.repairs.len(), 3);
        assert_eq!(
            again.notice.repairs,
            p.notice
                .repairs
                .iter()
                .map(|r| NoticeRepair {
                    line: 0,
                    ..r.clone()
                })
                .zip(&again.notice.repairs)
                .map(|(mut a, b)| {
                    a.line = b.line;
                    a
                })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn export_leaves_out_old_repairs_and_restored_faults() {
        let p = parse(FIXTURE);
        let cs = cables().expect("cables");
        let text = write_notice(d(2026, 2, 25), &as_faults(&p), &[], &cs);
        assert!(
            !text.contains("修復完成"),
            "repairs older than 7 days drop out:\n{text}"
        );
        let text = write_notice(d(2025, 1, 1), &as_faults(&p), &[], &cs);
        assert!(text.contains("無\t"), "nothing was open then:\n{text}");
    }
}
