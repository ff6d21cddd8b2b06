//! The figures the resilience engine rests on: peak demand per island,
//! design capacity per cable, satellite capacity per dish where a record
//! has none, and the share of capacity a partial fault or a degraded asset
//! takes away. Each is public (with its source) or an estimate (with its
//! reasoning); the defaults are compiled in from `data/resilience-figures.csv`
//! and officers replace them (stored as events, see the server).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fault::{FieldError, MAX_TEXT};
use crate::reference::ReferenceError;

const FIGURES_CSV: &str = include_str!("../../data/resilience-figures.csv");

/// The largest capacity or demand a figure may hold: 10 Pbit/s.
pub const MAX_MBPS: f64 = 1e10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Mbps,
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Published: `source` says where.
    Public,
    /// Not published: `source` gives the reasoning.
    Estimate,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Estimate => "estimate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "public" => Some(Self::Public),
            "estimate" => Some(Self::Estimate),
            _ => None,
        }
    }
}

/// One figure: `demand:matsu`, `cable:TDM2`, `orbit:LEO`,
/// `lost:partial_damage`, `kept:degraded_asset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figure {
    pub key: String,
    /// `None`: no figure.
    pub value: Option<f64>,
    pub unit: Unit,
    pub basis: Basis,
    /// The source of a public figure, the reasoning of an estimate.
    pub source: String,
    /// Who set it last: `default` for the compiled-in table, else the officer.
    #[serde(default)]
    pub set_by: String,
    /// Bumped by every officer edit (0: the default).
    #[serde(default)]
    pub version: i64,
}

/// Every figure, by key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    map: BTreeMap<String, Figure>,
}

impl Figures {
    /// The compiled-in table.
    pub fn defaults() -> Result<Figures, ReferenceError> {
        let file = "resilience-figures.csv";
        let mut rdr = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(FIGURES_CSV.as_bytes());
        let mut map = BTreeMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| ReferenceError {
                file,
                line: 0,
                message: e.to_string(),
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            let bad = |message: String| ReferenceError {
                file,
                line,
                message,
            };
            let get = |i: usize| rec.get(i).unwrap_or("").trim();
            let unit = match get(2) {
                "mbps" => Unit::Mbps,
                "percent" => Unit::Percent,
                u => return Err(bad(format!("unknown unit {u:?}"))),
            };
            let basis =
                Basis::parse(get(3)).ok_or_else(|| bad(format!("unknown basis {:?}", get(3))))?;
            let value = match get(1) {
                "" => None,
                v => Some(
                    v.parse::<f64>()
                        .map_err(|e| bad(format!("value {v:?}: {e}")))?,
                ),
            };
            let key = get(0).to_string();
            map.insert(
                key.clone(),
                Figure {
                    key,
                    value,
                    unit,
                    basis,
                    source: get(4).to_string(),
                    set_by: "default".into(),
                    version: 0,
                },
            );
        }
        Ok(Figures { map })
    }

    /// The defaults with officers' figures laid over them (unknown keys are
    /// ignored: a figure the table no longer has).
    pub fn with(mut self, overrides: impl IntoIterator<Item = Figure>) -> Figures {
        for f in overrides {
            if let Some(slot) = self.map.get_mut(&f.key) {
                *slot = Figure {
                    unit: slot.unit,
                    ..f
                };
            }
        }
        self
    }

    pub fn get(&self, key: &str) -> Option<&Figure> {
        self.map.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Figure> {
        self.map.values()
    }

    /// A figure in Mbit/s, if there is one.
    pub fn mbps(&self, key: &str) -> Option<u64> {
        self.map
            .get(key)
            .filter(|f| f.unit == Unit::Mbps)
            .and_then(|f| f.value)
            .map(|v| v.round() as u64)
    }

    /// Whether the figure under `key` is an estimate.
    pub fn is_estimate(&self, key: &str) -> bool {
        self.map.get(key).is_none_or(|f| f.basis == Basis::Estimate)
    }

    /// A share as a fraction 0..=1 (0 without a figure).
    pub fn fraction(&self, key: &str) -> f64 {
        self.map
            .get(key)
            .filter(|f| f.unit == Unit::Percent)
            .and_then(|f| f.value)
            .map_or(0.0, |v| (v / 100.0).clamp(0.0, 1.0))
    }

    /// Peak demand of a region.
    pub fn demand(&self, region: super::Region) -> Option<u64> {
        self.mbps(&format!("demand:{}", region.id()))
    }
}

/// An officer's edit of one figure, every field as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct FigureForm {
    pub value: String,
    pub basis: String,
    pub source: String,
}

impl FigureForm {
    pub fn from_figure(f: &Figure) -> Self {
        Self {
            value: f.value.map(|v| v.to_string()).unwrap_or_default(),
            basis: f.basis.as_str().into(),
            source: f.source.clone(),
        }
    }

    /// Checks the edit of `current` (its key and unit stay), or names every
    /// bad field.
    pub fn validate(&self, current: &Figure) -> Result<Figure, Vec<FieldError>> {
        let mut errs = Vec::new();
        let value = match self.value.trim() {
            "" => None,
            v => {
                let max = match current.unit {
                    Unit::Mbps => MAX_MBPS,
                    Unit::Percent => 100.0,
                };
                match v.parse::<f64>() {
                    Ok(x) if x.is_finite() && (0.0..=max).contains(&x) => Some(x),
                    _ => {
                        errs.push(FieldError::new(
                            "value",
                            "bad_number",
                            match current.unit {
                                Unit::Mbps => "expected Mbit/s, 0 or more (empty: no figure)",
                                Unit::Percent => "expected a percentage from 0 to 100",
                            },
                        ));
                        None
                    }
                }
            }
        };
        let basis = Basis::parse(&self.basis);
        if basis.is_none() {
            errs.push(FieldError::new(
                "basis",
                "bad_choice",
                "choose public (give the source) or estimate (give the reasoning)",
            ));
        }
        let source = self.source.trim();
        if source.is_empty() {
            errs.push(FieldError::new(
                "source",
                "required",
                "say where the figure comes from, or how it was estimated",
            ));
        } else if source.chars().count() > MAX_TEXT {
            errs.push(FieldError::new(
                "source",
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Figure {
            key: current.key.clone(),
            value,
            unit: current.unit,
            basis: basis.unwrap_or(Basis::Estimate),
            source: source.to_string(),
            set_by: current.set_by.clone(),
            version: current.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::Region;

    #[test]
    fn the_table_has_every_region_and_cable_with_a_basis_and_a_source() {
        let f = Figures::defaults().expect("compiled-in table parses");
        for r in Region::ALL {
            let d = f.get(&format!("demand:{}", r.id()));
            assert!(d.is_some(), "demand of {r:?}");
        }
        let cables = crate::reference::cables().expect("cables");
        for c in &cables {
            let fig = f.get(&format!("cable:{}", c.abbrev));
            assert!(
                fig.is_some_and(|x| x.value.is_some()),
                "capacity of {}",
                c.abbrev
            );
        }
        assert!(
            f.iter().all(|x| !x.source.is_empty()),
            "every figure says why"
        );
        assert_eq!(f.demand(Region::Matsu), Some(9_500));
        assert!(!f.is_estimate("demand:matsu"));
        assert!(f.is_estimate("demand:kinmen"));
        assert_eq!(
            f.mbps("cable:TDM2").unwrap_or(0) + f.mbps("cable:TDM3").unwrap_or(0),
            1_310_000,
            "TDM2 + TDM3 = 1,310 Gbps (MODA)"
        );
        assert!((f.fraction("lost:partial_damage") - 0.5).abs() < 1e-9);
    }

    #[test]
    fn an_officer_edit_is_checked_and_laid_over_the_default() {
        let f = Figures::defaults().expect("table");
        let cur = f.get("demand:kinmen").cloned().expect("kinmen");
        let bad = FigureForm {
            value: "-3".into(),
            basis: "guess".into(),
            source: " ".into(),
        }
        .validate(&cur)
        .expect_err("three bad fields");
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["value", "basis", "source"]);
        let pct = f.get("lost:partial_damage").cloned().expect("pct");
        assert!(FigureForm {
            value: "101".into(),
            basis: "estimate".into(),
            source: "x".into()
        }
        .validate(&pct)
        .is_err());
        let new = FigureForm {
            value: "12000".into(),
            basis: "public".into(),
            source: "county report".into(),
        }
        .validate(&cur)
        .expect("valid");
        let f = f.with([Figure {
            set_by: "user:officer".into(),
            version: 1,
            ..new
        }]);
        assert_eq!(f.demand(Region::Kinmen), Some(12_000));
        assert!(!f.is_estimate("demand:kinmen"));
        let cleared = FigureForm {
            value: String::new(),
            basis: "estimate".into(),
            source: "unknown".into(),
        }
        .validate(&cur)
        .expect("an empty value is no figure");
        assert_eq!(cleared.value, None);
    }
}
