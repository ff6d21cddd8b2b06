//! The façade's exercise methods: reality loaded here, the layer laid over
//! it (`shared::exercise`), the layer written by `crate::exercises`.

use chrono::Utc;
use shared::api::{ApiError, FaultDetail};
use shared::assets::{Asset, AssetForm};
use shared::exercise::{Exercise, ExerciseForm, Layer, Report};
use shared::fault::{Fault, FaultDraft, FaultForm, FieldError};
use shared::watch::{Alert, Board};

use super::Registry;
use crate::exercises::{self, FaultWrite};

impl Registry {
    /// Every exercise, the newest start first.
    pub async fn exercises(&self) -> Result<Vec<Exercise>, ApiError> {
        exercises::list(self.pool()).await
    }

    /// One exercise, or not found.
    pub async fn exercise(&self, id: i64) -> Result<Exercise, ApiError> {
        exercises::get(self.pool(), id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no exercise #{id}")))
    }

    /// Schedules an exercise. Every inject's fault is checked now, as it
    /// will be logged (a blank detection date is the day the inject plays),
    /// and every bad field named (`injects[2].fault.cable`).
    pub async fn create_exercise(
        &self,
        actor: &str,
        form: &ExerciseForm,
    ) -> Result<Exercise, ApiError> {
        // Every bad field at once: the script's faults are checked even when
        // the times are wrong (as if it started now).
        let checked = form.validate(Utc::now());
        let starts = shared::history::parse_as_of(&form.starts_at).unwrap_or_else(|_| Utc::now());
        let probe = Exercise {
            id: 0,
            name: form.name.clone(),
            starts_at: starts,
            ends_at: starts,
            injects: form.injects.clone(),
            created_by: actor.to_string(),
            created_at: Utc::now(),
        };
        let mut errs = checked.as_ref().err().cloned().unwrap_or_default();
        for i in 0..probe.injects.len() {
            if let Err(fields) = self.inject_draft(&probe, i) {
                errs.extend(fields.into_iter().map(|f| {
                    FieldError::new(
                        &format!("injects[{i}].fault.{}", f.field),
                        &f.code,
                        f.message,
                    )
                }));
            }
        }
        let draft = match checked {
            Ok(d) if errs.is_empty() => d,
            _ => return Err(ApiError::invalid(errs)),
        };
        exercises::create(&self.log, actor, &draft).await
    }

    /// Inject `i`'s fault, checked as it will be logged when it plays.
    fn inject_draft(&self, ex: &Exercise, i: usize) -> Result<FaultDraft, Vec<FieldError>> {
        let Some(at) = ex.due_at(i) else {
            return Err(vec![FieldError::new(
                "",
                "no_such_inject",
                "no such inject",
            )]);
        };
        let day = shared::history::taipei_day(&at);
        let mut form = ex.injects[i].fault.clone();
        if form.detected_on.trim().is_empty() {
            form.detected_on = day.to_string();
        }
        form.validate(&self.cable_index(), self.stations(), day)
    }

    /// The exercise's layer, folded.
    pub async fn layer(&self, ex: &Exercise) -> Result<Layer, ApiError> {
        exercises::layer(self.pool(), ex.id).await
    }

    /// The faults in an exercise: reality with its layer over it.
    pub async fn exercise_faults(&self, ex: &Exercise, all: bool) -> Result<Vec<Fault>, ApiError> {
        let real = self.faults(all).await?;
        Ok(self.layer(ex).await?.overlay_faults(real, all))
    }

    /// A fault in an exercise: the layer's record with the real events and
    /// the layer's after them, or the real fault where the layer has none.
    pub async fn exercise_fault(&self, ex: &Exercise, id: i64) -> Result<FaultDetail, ApiError> {
        let layer = self.layer(ex).await?;
        let Some(fault) = layer.faults.get(&id).cloned() else {
            return self.fault(id).await;
        };
        let mut events = if id > 0 {
            self.log.entity_events("fault", id, None).await?
        } else {
            Vec::new()
        };
        events.extend(
            layer
                .events
                .iter()
                .filter(|e| e.event.entity_type == "fault" && e.event.entity_id == id.to_string())
                .map(|e| e.event.clone()),
        );
        let eta_history = shared::repair::eta_history(&events);
        Ok(FaultDetail {
            fault,
            slip_days: shared::repair::slip_days(&eta_history),
            eta_history,
            events,
            estimate: None,
        })
    }

    /// An asset in an exercise: the layer's state over the real record (its
    /// history is reality's: the layer's changes are on the exercise's
    /// report).
    pub async fn exercise_asset(
        &self,
        ex: &Exercise,
        id: i64,
    ) -> Result<shared::api::AssetDetail, ApiError> {
        let mut detail = self.asset(id).await?;
        if let Some(a) = self.layer(ex).await?.assets.get(&id) {
            detail.asset = a.clone();
        }
        Ok(detail)
    }

    /// Logs a fault in an exercise.
    pub async fn create_fault_in(
        &self,
        ex: &Exercise,
        actor: &str,
        form: &FaultForm,
    ) -> Result<Fault, ApiError> {
        let draft = self.validate(form)?;
        let real_open = self.faults(false).await?;
        exercises::write_fault(
            &self.log,
            ex,
            actor,
            None,
            FaultWrite::New,
            &draft,
            None,
            real_open,
        )
        .await
    }

    /// Changes a fault in an exercise (a real one is shadowed by the layer,
    /// never changed).
    pub async fn update_fault_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError> {
        let draft = self.validate(form)?;
        let real = if id > 0 {
            self.fault_row(id).await?
        } else {
            None
        };
        let real_open = self.faults(false).await?;
        exercises::write_fault(
            &self.log,
            ex,
            actor,
            None,
            FaultWrite::Change { id, version },
            &draft,
            real,
            real_open,
        )
        .await
    }

    /// The repair board inside an exercise: its faults (reality with the
    /// layer over it) with reality's stages and ships; the model is
    /// calibrated on real faults only.
    pub async fn repairs_board_in(
        &self,
        ex: &Exercise,
    ) -> Result<shared::repair::RepairsBoard, ApiError> {
        let real = self.faults(true).await?;
        let faults = self.layer(ex).await?.overlay_faults(real.clone(), true);
        let today = shared::history::taipei_day(&chrono::Utc::now());
        self.repairs_board_calibrated(&faults, &real, today).await
    }

    /// The briefing inside an exercise: its watch board, island figures and
    /// repair board, and the last day's changes of reality and of the
    /// exercise together.
    pub async fn briefing_in(&self, ex: &Exercise) -> Result<shared::briefing::Briefing, ApiError> {
        let board = self.board_in(ex).await?;
        let report = self.resilience_in(ex).await?;
        let repairs = self.repairs_board_in(ex).await?;
        let layer = self.layer(ex).await?.events.into_iter().map(|e| e.event);
        self.briefing_of(Utc::now(), &board, &report, &repairs, layer.collect())
            .await
    }

    /// What importing `text` into exercise `ex` would change: planned
    /// against the exercise's faults (reality with the layer over it).
    pub async fn preview_notice_in(
        &self,
        ex: &Exercise,
        text: &str,
    ) -> Result<shared::api::NoticeReport, ApiError> {
        let parsed = self.parse(text).await?;
        if !parsed.errors.is_empty() {
            return Err(ApiError::bad_notice(parsed.errors));
        }
        let existing = self.exercise_faults(ex, true).await?;
        let plan =
            shared::import::plan_import(&parsed.notice, &existing).map_err(ApiError::bad_notice)?;
        Ok(shared::api::NoticeReport {
            plan,
            warnings: with_maintenance_left_out(parsed.warnings, &parsed.notice),
            events_written: 0,
        })
    }

    /// Imports a notice into exercise `ex`: all of it or nothing, into the
    /// layer only (reality, its notices table and its maintenance are not
    /// touched). The notice's planned maintenance is not played, and the
    /// report's warnings say so line by line.
    pub async fn import_notice_in(
        &self,
        ex: &Exercise,
        actor: &str,
        text: &str,
    ) -> Result<shared::api::NoticeReport, ApiError> {
        let parsed = self.parse(text).await?;
        if !parsed.errors.is_empty() {
            return Err(ApiError::bad_notice(parsed.errors));
        }
        let real_all = self.faults(true).await?;
        let (plan, events_written) =
            exercises::import_notice(&self.log, ex, actor, &parsed.notice, real_all).await?;
        Ok(shared::api::NoticeReport {
            plan,
            warnings: with_maintenance_left_out(parsed.warnings, &parsed.notice),
            events_written,
        })
    }

    /// Acknowledges an exercise's alert. A real alert is acknowledged in
    /// reality, never from inside an exercise.
    pub async fn ack_alert_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
    ) -> Result<Alert, ApiError> {
        if id > 0 {
            return Err(ApiError::conflict(format!(
                "alert #{id} is real: acknowledge it outside the exercise"
            )));
        }
        exercises::ack(&self.log, ex, actor, id).await
    }

    /// Records a backup asset's state in an exercise: checked like a real
    /// edit, stored in the layer only (no real capacity changes).
    pub async fn update_asset_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError> {
        let draft = form.validate().map_err(ApiError::invalid)?;
        let layer = self.layer(ex).await?;
        let before = match layer.assets.get(&id) {
            Some(a) => a.clone(),
            None => self.asset(id).await?.asset,
        };
        if before.version != version {
            return Err(ApiError::conflict(format!(
                "asset #{id} was changed by someone else since you opened it (you edited version {version}, it is now version {}); reload it, your text is kept",
                before.version
            )));
        }
        let after = Asset {
            id,
            draft,
            source: before.source.clone(),
            version: before.version + 1,
        };
        exercises::write_asset(&self.log, ex, actor, &before, &after).await?;
        Ok(after)
    }

    /// The duty-watch board in an exercise: its counts over reality with the
    /// layer's faults, its alerts and reality's, newest first.
    pub async fn board_in(&self, ex: &Exercise) -> Result<Board, ApiError> {
        let layer = self.layer(ex).await?;
        let real_faults = self.faults(true).await?;
        let faults = layer.overlay_faults(real_faults, false);
        let mut board = self.board_of(None, Some(faults)).await?;
        let mut alerts = layer.alert_list(true);
        alerts.append(&mut board.alerts);
        alerts.sort_by_key(|a| std::cmp::Reverse(a.raised_at));
        alerts.truncate(50);
        board.alerts = alerts;
        Ok(board)
    }

    /// The report of an exercise: its timeline and response times.
    pub async fn exercise_report(&self, id: i64) -> Result<Report, ApiError> {
        let ex = self.exercise(id).await?;
        let layer = self.layer(&ex).await?;
        Ok(shared::exercise::report(&ex, &layer, Utc::now()))
    }

    /// Plays every inject that is due in every running exercise; returns
    /// how many were played. Each plays in its own write, once (the layer
    /// holds which were played; the table refuses a second).
    pub async fn play_injects(&self) -> Result<usize, ApiError> {
        let now = Utc::now();
        let mut played = 0;
        for ex in exercises::running(self.pool(), now).await? {
            let layer = self.layer(&ex).await?;
            for i in ex.due(now, &layer.played) {
                match self.play(&ex, i).await {
                    Ok(()) => played += 1,
                    Err(e) => tracing::warn!(
                        exercise = ex.id,
                        inject = i,
                        error = %e.message,
                        "an inject could not be played"
                    ),
                }
            }
        }
        Ok(played)
    }

    async fn play(&self, ex: &Exercise, i: usize) -> Result<(), ApiError> {
        let draft = self.inject_draft(ex, i).map_err(ApiError::invalid)?;
        let real_open = self.faults(false).await?;
        let actor = format!("exercise:{}", ex.id);
        let what = match ex.injects[i].updates {
            None => FaultWrite::New,
            Some(u) => {
                let layer = self.layer(ex).await?;
                let id = layer.fault_of_inject(u).ok_or_else(|| {
                    ApiError::conflict(format!(
                        "inject {u}, whose fault inject {i} changes, has not played"
                    ))
                })?;
                let version = layer.faults.get(&id).map_or(1, |f| f.version);
                FaultWrite::Change { id, version }
            }
        };
        exercises::write_fault(
            &self.log,
            ex,
            &actor,
            Some(i),
            what,
            &draft,
            None,
            real_open,
        )
        .await?;
        Ok(())
    }
}

/// The parser's warnings, and one for each planned-maintenance line of the
/// notice and each completion it reports, which an exercise does not play.
fn with_maintenance_left_out(
    mut warnings: Vec<shared::notice::LineIssue>,
    notice: &shared::notice::Notice,
) -> Vec<shared::notice::LineIssue> {
    warnings.extend(notice.maintenance.iter().map(|m| shared::notice::LineIssue {
        line: m.line,
        message: format!(
            "planned maintenance on {} is not played in an exercise (an exercise has faults, alerts and asset states only)",
            m.cable
        ),
    }));
    warnings.extend(notice.maintenance_done.iter().map(|m| shared::notice::LineIssue {
        line: m.line,
        message: format!(
            "the completion of planned maintenance on {} is not played in an exercise (an exercise has faults, alerts and asset states only)",
            m.cable
        ),
    }));
    warnings.sort_by_key(|w| w.line);
    warnings
}
