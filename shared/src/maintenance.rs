//! Planned maintenance (計畫性維修): work announced on a cable, with its
//! expected end and the route that carries the traffic meanwhile.

use serde::{Deserialize, Serialize};

use crate::fault::{parse_alternate_routes, parse_eta_input, FieldError, MAX_TEXT};
use crate::notice::MaintenanceLine;
use crate::reference::CableIndex;

/// A planned-maintenance form as typed: every field a string, so nothing is lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct MaintenanceForm {
    pub cable: String,
    /// `2026-04-30`, `2026-04`, `115/4/30`, `115 年 4 月`, or empty for unknown.
    pub eta: String,
    pub description: String,
    /// One route per line, or separated by 、.
    pub alternate_routes: String,
}

/// A maintenance entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Maintenance {
    pub id: i64,
    #[serde(flatten)]
    pub line: MaintenanceLine,
    /// `planned` or `completed`.
    pub status: String,
    pub completed_on: Option<chrono::NaiveDate>,
    pub version: i64,
}

impl MaintenanceForm {
    /// Checks every field and builds the line, or names every bad field.
    pub fn validate(&self, cables: &CableIndex) -> Result<MaintenanceLine, Vec<FieldError>> {
        let mut errs = Vec::new();
        let cable = match self.cable.trim() {
            "" => {
                errs.push(FieldError::new("cable", "required", "choose a cable"));
                None
            }
            c => {
                let found = cables.resolve(c);
                if found.is_none() {
                    errs.push(FieldError::new(
                        "cable",
                        "unknown_cable",
                        format!("unknown cable {c:?}"),
                    ));
                }
                found
            }
        };
        let eta = match parse_eta_input(&self.eta) {
            Ok(e) => Some(e),
            Err(_) => {
                errs.push(FieldError::new(
                    "eta",
                    "bad_eta",
                    "expected a date (2026-04-30), a month (2026-04) or empty for unknown",
                ));
                None
            }
        };
        let description = self.description.trim();
        if description.is_empty() {
            errs.push(FieldError::new(
                "description",
                "required",
                "describe the work and its effect",
            ));
        } else if description.chars().count() > MAX_TEXT {
            errs.push(FieldError::new(
                "description",
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        if self.alternate_routes.chars().count() > MAX_TEXT {
            errs.push(FieldError::new(
                "alternate_routes",
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        match (cable, eta, errs.is_empty()) {
            (Some(cable), Some(eta), true) => Ok(MaintenanceLine {
                cable,
                eta,
                description: description.to_string(),
                alternate_routes: parse_alternate_routes(&self.alternate_routes, cables),
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::cables;
    use crate::roc::EtaPrecision;

    fn index() -> CableIndex {
        CableIndex::new(&cables().expect("cables"))
    }

    #[test]
    fn a_good_form_becomes_a_line() {
        let f = MaintenanceForm {
            cable: "臺馬三號海纜".into(),
            eta: "115 年 4 月".into(),
            description: "更換中繼器，期間部分電路中斷".into(),
            alternate_routes: "TDM2、微波".into(),
        };
        let m = f.validate(&index()).expect("valid");
        assert_eq!(m.cable, "TDM3");
        assert_eq!(m.eta.precision, EtaPrecision::Month);
        assert_eq!(m.alternate_routes.len(), 2);
    }

    #[test]
    fn every_bad_field_is_named() {
        let f = MaintenanceForm {
            cable: "XYZ9".into(),
            eta: "someday".into(),
            description: "  ".into(),
            alternate_routes: String::new(),
        };
        let errs = f.validate(&index()).expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["cable", "eta", "description"]);
    }
}
