//! The port the server functions call (server side only). The server crate
//! implements it on its registry, so the UI never sees SQL and REST handlers
//! and server functions share one service.

use std::sync::Arc;

use shared::api::{ApiError, AssetDetail, AssetList, FaultDetail, NoticeReport};
use shared::assets::{Asset, AssetFilter, AssetForm, AssetImportReport, AssetKind};
use shared::auth::{AuditFilter, NewSecret, TokenInfo};
use shared::event::Event;
use shared::exercise::{Exercise, ExerciseForm};
use shared::fault::{Fault, FaultForm};
use shared::maintenance::{Maintenance, MaintenanceForm};
use shared::map::{AssetMarker, View};
use shared::reference::Cable;

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn faults(&self, all: bool) -> Result<Vec<Fault>, ApiError>;
    /// The leadership briefing now, or as it stood at a moment.
    async fn briefing(
        &self,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<shared::briefing::Briefing, ApiError>;
    /// The faults as they stood at `at`, rebuilt from the event log.
    async fn faults_as_of(
        &self,
        all: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Fault>, ApiError>;
    /// The faults (open ones unless `all`) and the open planned maintenance,
    /// now or (`at`) as they stood at a moment.
    async fn faults_and_maintenance(
        &self,
        all: bool,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(Vec<Fault>, Vec<shared::notice::MaintenanceLine>), ApiError>;
    fn cables(&self) -> Vec<Cable>;
    fn stations(&self) -> Vec<shared::reference::Station>;
    async fn fault(&self, id: i64) -> Result<FaultDetail, ApiError>;
    /// The fault as it stood at `at`, rebuilt from its events up to then.
    async fn fault_as_of(
        &self,
        id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<FaultDetail, ApiError>;
    async fn create_fault(&self, actor: &str, form: &FaultForm) -> Result<Fault, ApiError>;
    async fn update_fault(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError>;
    async fn preview_notice(&self, text: &str) -> Result<NoticeReport, ApiError>;
    async fn import_notice(&self, actor: &str, text: &str) -> Result<NoticeReport, ApiError>;
    async fn maintenance(&self) -> Result<Vec<Maintenance>, ApiError>;
    async fn record_maintenance(
        &self,
        actor: &str,
        form: &MaintenanceForm,
    ) -> Result<Maintenance, ApiError>;
    async fn complete_maintenance(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        completed_on: chrono::NaiveDate,
    ) -> Result<Maintenance, ApiError>;
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<Event>, ApiError>;
    async fn tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>, ApiError>;
    async fn create_token(
        &self,
        actor: &str,
        user: &str,
        label: &str,
        expires_days: Option<i64>,
    ) -> Result<NewSecret, ApiError>;
    async fn revoke_token(&self, actor: &str, user_id: i64, id: i64) -> Result<(), ApiError>;
    async fn kiosks(&self) -> Result<Vec<TokenInfo>, ApiError>;
    /// A user's subscriptions to alerts.
    async fn subscriptions(
        &self,
        user_id: i64,
    ) -> Result<Vec<shared::notify::Subscription>, ApiError>;
    /// A user's newest notification messages, with their delivery logs.
    async fn notifications(
        &self,
        user_id: i64,
        limit: i64,
    ) -> Result<Vec<shared::notify::Message>, ApiError>;
    /// A kiosk link; `exercise`: made for that exercise.
    async fn create_kiosk(
        &self,
        actor: &str,
        name: &str,
        expires_days: i64,
        exercise: Option<i64>,
    ) -> Result<NewSecret, ApiError>;
    async fn revoke_kiosk(&self, actor: &str, id: i64) -> Result<(), ApiError>;
    /// The asset list now, or (`at`) as it stood at a moment.
    async fn list_assets(
        &self,
        filter: &AssetFilter,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<AssetList, ApiError>;
    /// An asset with its history now, or (`at`) as it stood at a moment.
    async fn asset(
        &self,
        id: i64,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<AssetDetail, ApiError>;
    async fn create_asset(&self, actor: &str, form: &AssetForm) -> Result<Asset, ApiError>;
    async fn update_asset(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError>;
    /// `format`: `csv`, `geojson`, or `None` to judge from the text.
    async fn import_assets(
        &self,
        actor: &str,
        format: Option<&str>,
        text: &str,
        write: bool,
    ) -> Result<AssetImportReport, ApiError>;
    async fn asset_markers(
        &self,
        view: &View,
        zoom: u8,
        kinds: &[AssetKind],
    ) -> Result<Vec<AssetMarker>, ApiError>;
    /// The newest event the live stream has published.
    fn live_head(&self) -> i64;
    /// The duty-watch board.
    async fn board(&self) -> Result<shared::watch::Board, ApiError>;
    /// The duty-watch board as it stood at a moment.
    async fn board_as_of(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<shared::watch::Board, ApiError>;
    /// Acknowledges an alert (an event with actor and time).
    async fn ack_alert(&self, actor: &str, id: i64) -> Result<shared::watch::Alert, ApiError>;
    /// Every island's figures now (or, `at`, over the faults as they stood
    /// at a moment), or with `cut` carrying nothing (a what-if: nothing is
    /// written).
    async fn resilience(
        &self,
        cut: &[String],
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<shared::resilience::Report, ApiError>;
    /// The N-1 (`k` = 1) or N-2 (`k` = 2) contingency sweep, now or at a moment.
    async fn contingencies(
        &self,
        k: usize,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<shared::resilience::contingency::Sweep, ApiError>;
    /// [`Self::resilience`] inside an exercise: its layer over reality now.
    async fn resilience_in(
        &self,
        ex: &shared::exercise::Exercise,
        cut: &[String],
    ) -> Result<shared::resilience::Report, ApiError>;
    /// [`Self::contingencies`] inside an exercise.
    async fn contingencies_in(
        &self,
        ex: &shared::exercise::Exercise,
        k: usize,
    ) -> Result<shared::resilience::contingency::Sweep, ApiError>;
    /// The repair board: ships with their queues, open faults with their stage.
    async fn repairs_board(&self) -> Result<shared::repair::RepairsBoard, ApiError>;
    /// Every figure the resilience engine uses.
    async fn figures(&self) -> Result<Vec<shared::resilience::Figure>, ApiError>;

    // Exercises: an exercise is a layer over reality (`shared::exercise`);
    // these read reality with the layer over it, and write into the layer.
    /// Every exercise, the newest start first.
    async fn exercises(&self) -> Result<Vec<Exercise>, ApiError>;
    async fn create_exercise(&self, actor: &str, form: &ExerciseForm)
        -> Result<Exercise, ApiError>;
    async fn exercise_report(&self, id: i64) -> Result<shared::exercise::Report, ApiError>;
    async fn exercise_faults(&self, ex: &Exercise, all: bool) -> Result<Vec<Fault>, ApiError>;
    async fn exercise_fault(&self, ex: &Exercise, id: i64) -> Result<FaultDetail, ApiError>;
    async fn exercise_asset(&self, ex: &Exercise, id: i64) -> Result<AssetDetail, ApiError>;
    async fn create_fault_in(
        &self,
        ex: &Exercise,
        actor: &str,
        form: &FaultForm,
    ) -> Result<Fault, ApiError>;
    async fn update_fault_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError>;
    async fn repairs_board_in(
        &self,
        ex: &Exercise,
    ) -> Result<shared::repair::RepairsBoard, ApiError>;
    async fn briefing_in(&self, ex: &Exercise) -> Result<shared::briefing::Briefing, ApiError>;
    async fn preview_notice_in(&self, ex: &Exercise, text: &str) -> Result<NoticeReport, ApiError>;
    async fn import_notice_in(
        &self,
        ex: &Exercise,
        actor: &str,
        text: &str,
    ) -> Result<NoticeReport, ApiError>;
    async fn ack_alert_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
    ) -> Result<shared::watch::Alert, ApiError>;
    async fn update_asset_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError>;
    async fn board_in(&self, ex: &Exercise) -> Result<shared::watch::Board, ApiError>;
}

pub type SharedBackend = Arc<dyn Backend>;
