//! Labels for domain values in the current language.

use shared::fault::{FaultKind, FaultStatus};
use shared::roc::Eta;

use crate::i18n::*;

pub fn kind_label(i18n: leptos_i18n::I18nContext<Locale>, k: FaultKind) -> &'static str {
    match k {
        FaultKind::PartialDamage => t_string!(i18n, kind_partial_damage),
        FaultKind::Cut => t_string!(i18n, kind_cut),
        FaultKind::Other => t_string!(i18n, kind_other),
    }
}

pub fn status_label(i18n: leptos_i18n::I18nContext<Locale>, s: FaultStatus) -> &'static str {
    match s {
        FaultStatus::Open => t_string!(i18n, status_open),
        FaultStatus::RepairScheduled => t_string!(i18n, status_repair_scheduled),
        FaultStatus::Repairing => t_string!(i18n, status_repairing),
        FaultStatus::Restored => t_string!(i18n, status_restored),
        FaultStatus::Closed => t_string!(i18n, status_closed),
    }
}

pub fn eta_label(i18n: leptos_i18n::I18nContext<Locale>, e: &Eta) -> String {
    match e.to_iso() {
        s if s.is_empty() => t_string!(i18n, eta_unknown).to_string(),
        s => s,
    }
}

/// Times are stored in UTC and shown in Asia/Taipei (UTC+8, no daylight saving).
pub fn taipei(at: &chrono::DateTime<chrono::Utc>) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600);
    match offset {
        Some(o) => at.with_timezone(&o).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => at.to_rfc3339(),
    }
}
