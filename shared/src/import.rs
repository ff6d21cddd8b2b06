//! What importing a notice would change: one plan that both the preview and
//! the import use, so the officer confirms exactly what will be written.
//!
//! Identity: cable + detection date + chainage; a fault known only from a
//! repair footnote is matched on cable + chainage. Importing the same notice
//! twice plans nothing the second time.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::fault::{fault_key, Fault, FaultDraft, FaultStatus};
use crate::notice::{LineIssue, Notice};
use crate::reference::name_key;
use crate::roc::Eta;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ImportChange))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A fault not in the registry yet.
    New,
    /// A known fault whose ETA, alternate routes or wording changed.
    Updated,
    /// A footnote reports the fault repaired.
    Restored,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlannedChange {
    pub kind: ChangeKind,
    /// The notice line the change comes from.
    pub line: usize,
    /// The fault changed, `None` for a new one.
    pub fault_id: Option<i64>,
    /// The version the change was planned against (a write refuses a newer one).
    pub version: Option<i64>,
    pub before: Option<FaultDraft>,
    pub after: FaultDraft,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPlan {
    pub notice_date: Option<NaiveDate>,
    pub changes: Vec<PlannedChange>,
    /// Faults in the notice that are already recorded exactly so.
    pub unchanged: usize,
}

impl ImportPlan {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
}

/// Plans the import of `notice` over the `existing` faults.
pub fn plan_import(notice: &Notice, existing: &[Fault]) -> Result<ImportPlan, Vec<LineIssue>> {
    let mut plan = ImportPlan {
        notice_date: notice.date,
        ..ImportPlan::default()
    };
    let mut errors = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for nf in &notice.faults {
        let key = fault_key(
            &nf.cable,
            Some(nf.detected_on),
            &nf.chainage.place,
            nf.chainage.km,
        );
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            errors.push(LineIssue {
                line: nf.line,
                message: format!("the same fault is listed twice (first on line {first})"),
            });
            continue;
        }
        seen.push((key.clone(), nf.line));
        match existing.iter().find(|f| f.key() == key) {
            None => plan.changes.push(PlannedChange {
                kind: ChangeKind::New,
                line: nf.line,
                fault_id: None,
                version: None,
                before: None,
                after: FaultDraft {
                    cable: nf.cable.clone(),
                    detected_on: Some(nf.detected_on),
                    kind: nf.kind,
                    description: nf.description.clone(),
                    chainage: nf.chainage.clone(),
                    alternate_routes: nf.alternate_routes.clone(),
                    eta: nf.eta,
                    status: FaultStatus::Open,
                    restored_on: None,
                    notes: String::new(),
                    capacity_lost_pct: None,
                },
                fields: Vec::new(),
            }),
            Some(f) => {
                let before = f.draft();
                let after = FaultDraft {
                    kind: nf.kind,
                    description: nf.description.clone(),
                    chainage: nf.chainage.clone(),
                    alternate_routes: nf.alternate_routes.clone(),
                    eta: nf.eta,
                    ..before.clone()
                };
                let fields: Vec<String> = before
                    .changed_fields(&after)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if fields.is_empty() {
                    plan.unchanged += 1;
                } else {
                    plan.changes.push(PlannedChange {
                        kind: ChangeKind::Updated,
                        line: nf.line,
                        fault_id: Some(f.id),
                        version: Some(f.version),
                        before: Some(before),
                        after,
                        fields,
                    });
                }
            }
        }
    }
    for r in &notice.repairs {
        let place = name_key(&r.chainage.place);
        let matching = existing.iter().filter(|f| {
            f.cable == r.cable
                && name_key(&f.chainage.place) == place
                && (f.chainage.km - r.chainage.km).abs() < 1e-9
        });
        // Prefer a fault still active, then the most recently detected.
        let target = matching
            .clone()
            .filter(|f| f.status.is_active())
            .max_by_key(|f| f.detected_on)
            .or_else(|| matching.max_by_key(|f| f.detected_on));
        match target {
            Some(f)
                if f.status == FaultStatus::Restored && f.restored_on == Some(r.restored_on) =>
            {
                plan.unchanged += 1
            }
            Some(f) if f.status == FaultStatus::Closed => plan.unchanged += 1,
            Some(f) => {
                let before = f.draft();
                let after = FaultDraft {
                    status: FaultStatus::Restored,
                    restored_on: Some(r.restored_on),
                    ..before.clone()
                };
                plan.changes.push(PlannedChange {
                    kind: ChangeKind::Restored,
                    line: r.line,
                    fault_id: Some(f.id),
                    version: Some(f.version),
                    fields: before
                        .changed_fields(&after)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    before: Some(before),
                    after,
                })
            }
            None => plan.changes.push(PlannedChange {
                kind: ChangeKind::Restored,
                line: r.line,
                fault_id: None,
                version: None,
                before: None,
                after: FaultDraft {
                    cable: r.cable.clone(),
                    detected_on: None,
                    kind: r.kind,
                    description: String::new(),
                    chainage: r.chainage.clone(),
                    alternate_routes: Vec::new(),
                    eta: Eta::UNKNOWN,
                    status: FaultStatus::Restored,
                    restored_on: Some(r.restored_on),
                    notes: String::new(),
                    capacity_lost_pct: None,
                },
                fields: Vec::new(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notice::parse_notice;
    use crate::reference::{cables, stations};

    const FIXTURE: &str = include_str!("../tests/fixtures/2026-02-14-fault-notice.txt");

    fn apply(plan: &ImportPlan, existing: &mut Vec<Fault>) {
        for c in &plan.changes {
            match c.fault_id {
                None => {
                    let id = existing.len() as i64 + 1;
                    let a = c.after.clone();
                    existing.push(Fault {
                        id,
                        cable: a.cable,
                        detected_on: a.detected_on,
                        kind: a.kind,
                        description: a.description,
                        chainage: a.chainage,
                        alternate_routes: a.alternate_routes,
                        eta: a.eta,
                        status: a.status,
                        restored_on: a.restored_on,
                        notes: a.notes,
                        capacity_lost_pct: None,
                        provenance: "test".into(),
                        version: 1,
                    })
                }
                Some(id) => {
                    let f = existing
                        .iter_mut()
                        .find(|f| f.id == id)
                        .expect("planned id exists");
                    f.eta = c.after.eta;
                    f.status = c.after.status;
                    f.restored_on = c.after.restored_on;
                    f.alternate_routes = c.after.alternate_routes.clone();
                    f.version += 1;
                }
            }
        }
    }

    #[test]
    fn importing_twice_plans_nothing_the_second_time() {
        let p = parse_notice(FIXTURE, &cables().expect("c"), &stations().expect("s"));
        let mut db = Vec::new();
        let plan = plan_import(&p.notice, &db).expect("plan");
        assert_eq!(plan.count(ChangeKind::New), 11);
        assert_eq!(plan.count(ChangeKind::Restored), 3);
        apply(&plan, &mut db);
        let again = plan_import(&p.notice, &db).expect("plan");
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert_eq!(again.unchanged, 14);
    }

    #[test]
    fn a_newer_notice_revises_the_eta() {
        let cs = cables().expect("c");
        let st = stations().expect("s");
        let p = parse_notice(FIXTURE, &cs, &st);
        let mut db = Vec::new();
        apply(&plan_import(&p.notice, &db).expect("plan"), &mut db);
        let newer = FIXTURE.replace("115/2/27", "115/3/15");
        let p2 = parse_notice(&newer, &cs, &st);
        let plan = plan_import(&p2.notice, &db).expect("plan");
        assert_eq!(plan.count(ChangeKind::Updated), 3, "the three TDM2 faults");
        assert!(plan.changes.iter().all(|c| c.fields == ["eta"]));
    }

    #[test]
    fn a_repair_footnote_restores_a_known_fault() {
        let cs = cables().expect("c");
        let st = stations().expect("s");
        let p = parse_notice(FIXTURE, &cs, &st);
        let mut db = Vec::new();
        apply(&plan_import(&p.notice, &db).expect("plan"), &mut db);
        let later = FIXTURE.replace(
            "- 3.東南亞日本二號海纜",
            "- 4.杏子海纜 (Apricot) 距宜蘭頭城約 47.7 公里處之斷纜障礙，已於 115 年 2 月 14 日修復完成。\n- 3.東南亞日本二號海纜",
        );
        let plan = plan_import(&parse_notice(&later, &cs, &st).notice, &db).expect("plan");
        let restored: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Restored)
            .collect();
        assert_eq!(restored.len(), 1);
        let apricot = db.iter().find(|f| f.cable == "Apricot").expect("apricot");
        assert_eq!(restored[0].fault_id, Some(apricot.id));
    }

    #[test]
    fn a_fault_listed_twice_is_an_error() {
        let cs = cables().expect("c");
        let st = stations().expect("s");
        let dup = FIXTURE.replace(
            "\t\t114/12/26\t距新北八里約 562",
            "\t\t114/8/22\t距新北八里約 206 公里處發生部分芯線受損障礙\t\t\n\t\t114/12/26\t距新北八里約 562",
        );
        let p = parse_notice(&dup, &cs, &st);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let errs = plan_import(&p.notice, &[]).expect_err("duplicate");
        assert_eq!(errs[0].line, 11);
    }
}
