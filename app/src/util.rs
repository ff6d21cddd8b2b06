//! Labels for domain values in the current language.

use shared::assets::{AssetKind, AssetStatus};
use shared::fault::{FaultKind, FaultStatus};
use shared::roc::Eta;

use crate::i18n::*;

/// What a server function that can fail in the domain answers.
pub type ServerResult<T> = Result<Result<T, shared::api::ApiError>, leptos::prelude::ServerFnError>;

pub fn kind_label(i18n: leptos_i18n::I18nContext<Locale>, k: FaultKind) -> &'static str {
    kind_label_in(i18n.get_locale(), k)
}

/// The same in a language already read (a loop reads it once).
pub fn kind_label_in(locale: Locale, k: FaultKind) -> &'static str {
    match k {
        FaultKind::PartialDamage => td_string!(locale, kind_partial_damage),
        FaultKind::Cut => td_string!(locale, kind_cut),
        FaultKind::Other => td_string!(locale, kind_other),
    }
}

pub fn status_label(i18n: leptos_i18n::I18nContext<Locale>, s: FaultStatus) -> &'static str {
    status_label_in(i18n.get_locale(), s)
}

/// The same in a language already read.
pub fn status_label_in(locale: Locale, s: FaultStatus) -> &'static str {
    match s {
        FaultStatus::Open => td_string!(locale, status_open),
        FaultStatus::RepairScheduled => td_string!(locale, status_repair_scheduled),
        FaultStatus::Repairing => td_string!(locale, status_repairing),
        FaultStatus::Restored => td_string!(locale, status_restored),
        FaultStatus::Closed => td_string!(locale, status_closed),
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

/// A field error in the current language, by its stable code; the server's
/// English message is the fallback for a code without a translation.
pub fn field_error_text(
    i18n: leptos_i18n::I18nContext<Locale>,
    code: &str,
    message: &str,
) -> String {
    let text = match code {
        "required" => t_string!(i18n, err_required),
        "unknown_cable" => t_string!(i18n, err_unknown_cable),
        "future_date" => t_string!(i18n, err_future_date),
        "bad_date" => t_string!(i18n, err_bad_date),
        "bad_km" => t_string!(i18n, err_bad_km),
        "bad_eta" => t_string!(i18n, err_bad_eta),
        "before_detected" => t_string!(i18n, err_before_detected),
        "bad_choice" => t_string!(i18n, err_bad_choice),
        "bad_coordinate" => t_string!(i18n, err_bad_coordinate),
        "bad_number" => t_string!(i18n, err_bad_number),
        "not_applicable" => t_string!(i18n, err_not_applicable),
        "too_long" => return format!("{} ({message})", t_string!(i18n, err_too_long)),
        _ => return message.to_string(),
    };
    text.to_string()
}

pub fn asset_kind_label(i18n: leptos_i18n::I18nContext<Locale>, k: AssetKind) -> &'static str {
    match k {
        AssetKind::SatTerminal => t_string!(i18n, ak_sat_terminal),
        AssetKind::SatBackhaul => t_string!(i18n, ak_sat_backhaul),
        AssetKind::SatVehicle => t_string!(i18n, ak_sat_vehicle),
        AssetKind::HardenedBaseStation => t_string!(i18n, ak_hardened_base_station),
        AssetKind::Hub5g => t_string!(i18n, ak_hub_5g),
        AssetKind::Microwave => t_string!(i18n, ak_microwave),
        AssetKind::Haps => t_string!(i18n, ak_haps),
        AssetKind::Ppdr => t_string!(i18n, ak_ppdr),
        AssetKind::RepairShip => t_string!(i18n, ak_repair_ship),
    }
}

pub fn asset_status_label(i18n: leptos_i18n::I18nContext<Locale>, s: AssetStatus) -> &'static str {
    match s {
        AssetStatus::Ready => t_string!(i18n, as_ready),
        AssetStatus::Deployed => t_string!(i18n, as_deployed),
        AssetStatus::Degraded => t_string!(i18n, as_degraded),
        AssetStatus::Offline => t_string!(i18n, as_offline),
        AssetStatus::Maintenance => t_string!(i18n, as_maintenance),
    }
}

/// Text for a `<textarea>`'s initial content. Leptos writes a textarea's
/// children unescaped (it treats it as raw text), so typed text such as
/// `</textarea><script>` must be escaped here; the browser decodes it back.
pub fn textarea_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A map preset's name in the UI language.
pub fn view_label(i18n: leptos_i18n::I18nContext<Locale>, id: &str) -> &'static str {
    match id {
        "region" => t_string!(i18n, map_view_region),
        "matsu" => t_string!(i18n, map_view_matsu),
        "kinmen" => t_string!(i18n, map_view_kinmen),
        "penghu" => t_string!(i18n, map_view_penghu),
        "xiaoliuqiu" => t_string!(i18n, map_view_xiaoliuqiu),
        _ => t_string!(i18n, map_view_taiwan),
    }
}
