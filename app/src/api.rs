//! Server functions: the UI's calls to the server. Domain errors come back
//! as the inner `Result` so forms can show them next to their fields.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};
use shared::api::{ApiError, AssetDetail, AssetList, FaultDetail, NoticeReport};
use shared::assets::{Asset, AssetFilter, AssetForm, AssetImportReport, AssetKind};
use shared::map::AssetMarker;

use crate::util::ServerResult;
#[allow(unused_imports)]
use shared::auth::Capability;
use shared::auth::{AuditFilter, NewSecret, Principal, TokenInfo};
use shared::event::Event;
use shared::fault::{Fault, FaultForm};
use shared::maintenance::{Maintenance, MaintenanceForm};

/// A cable as the UI lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CableBrief {
    pub abbrev: String,
    pub notice_name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultsPage {
    pub faults: Vec<FaultRow>,
    pub cables: Vec<CableBrief>,
    /// For a historical view: the moment shown (`?as_of=`, as the picker writes it).
    pub as_of: Option<String>,
}

/// One line of the fault list: what the table shows and nothing more. The
/// page carries every row to the browser a second time for hydration, so a
/// fault's notes, provenance and chainage stay on its own page. It travels
/// as an array, not an object: 200 rows' field names were a third of the
/// page's hydration data.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct FaultRow {
    pub id: i64,
    pub cable: String,
    pub detected_on: Option<chrono::NaiveDate>,
    pub description: String,
    pub kind: shared::fault::FaultKind,
    pub status: shared::fault::FaultStatus,
    /// The ETA in ISO spelling (`2026-04-30`, `2026-04`), empty when unknown.
    pub eta: String,
    /// The alternate routes as the notice writes them.
    pub alternate: String,
    /// The place named no known landing station.
    pub unresolved: bool,
    /// The repair-time model's dates (open faults, today's view only).
    pub model: Option<ModelDates>,
}

impl FaultRow {
    pub fn of(f: &Fault, model: Option<ModelDates>) -> Self {
        Self {
            id: f.id,
            cable: f.cable.clone(),
            detected_on: f.detected_on,
            description: f.description.clone(),
            kind: f.kind,
            status: f.status,
            eta: f.eta.to_iso(),
            alternate: shared::fault::alternate_routes_text(&f.alternate_routes),
            unresolved: f.chainage.station.is_none(),
            model,
        }
    }
}

/// An open fault's P50 and P90 restoration dates by the repair-time model
/// (an array on the wire, as its row).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct ModelDates {
    pub p50_on: Option<chrono::NaiveDate>,
    pub p90_on: Option<chrono::NaiveDate>,
    /// The officers' ETA is earlier than the model's P10, and why (the
    /// reasons are sent only then, empty otherwise: they are the warning's
    /// tooltip).
    pub optimistic: bool,
    pub reasons: String,
}

#[cfg(feature = "ssr")]
fn backend() -> Result<crate::backend::SharedBackend, ServerFnError> {
    use_context::<crate::backend::SharedBackend>()
        .ok_or_else(|| ServerFnError::new("backend missing from context"))
}

/// The signed-in principal of the request being served, if any.
#[cfg(feature = "ssr")]
fn principal() -> Option<Principal> {
    use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<Principal>().cloned())
}

/// The caller, if they have `cap`. The server's guard has already checked
/// this before the function runs; checking again here keeps each function
/// safe on its own.
#[cfg(feature = "ssr")]
fn caller(cap: Capability) -> Result<Principal, ServerFnError> {
    match principal() {
        Some(p) if p.can(cap) => Ok(p),
        Some(p) => Err(ServerFnError::new(format!(
            "the {} role may not do this",
            p.role
        ))),
        None => Err(ServerFnError::new("sign in first")),
    }
}

/// The exercise the request is in (set by the server from the officer's
/// switch, the header or `?exercise=`), if any.
#[cfg(feature = "ssr")]
fn exercise() -> Option<shared::exercise::Exercise> {
    use_context::<axum::http::request::Parts>().and_then(|p| {
        p.extensions
            .get::<shared::exercise::InExercise>()
            .map(|e| e.0.clone())
    })
}

/// The moment asked for, refused inside an exercise (an exercise is seen
/// as it stands).
#[cfg(feature = "ssr")]
fn moment(as_of: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ServerFnError> {
    let at = parse_as_of(as_of)?;
    if at.is_some() && exercise().is_some() {
        return Err(ServerFnError::new(
            "an exercise is seen as it stands: leave it to look at the past",
        ));
    }
    Ok(at)
}

/// `?as_of=` read as a moment; empty is now.
pub fn parse_as_of(
    as_of: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ServerFnError> {
    as_of
        .filter(|s| !s.trim().is_empty())
        .map(|s| shared::history::parse_as_of(s).map_err(ServerFnError::new))
        .transpose()
}

/// The fault list now, or (`as_of`) as it stood at a moment, rebuilt from
/// the event log.
#[server(prefix = "/api/fn", endpoint = "faults")]
pub async fn list_faults(as_of: Option<String>) -> Result<FaultsPage, ServerFnError> {
    caller(Capability::Read)?;
    let b = backend()?;
    let at = moment(as_of.as_deref())?;
    let ex = exercise();
    let faults = match (at, &ex) {
        (_, Some(ex)) => b.exercise_faults(ex, true).await,
        (None, None) => b.faults(true).await,
        (Some(at), None) => b.faults_as_of(true, at).await,
    }
    .map_err(|e| ServerFnError::new(e.message))?;
    let cables = cable_briefs(&b);
    // The model speaks of today: a historical view shows none of it. In an
    // exercise it is the exercise's board, calibrated on real faults only.
    let board = match (at, &ex) {
        (Some(_), _) => None,
        (None, Some(ex)) => Some(b.repairs_board_in(ex).await),
        (None, None) => Some(b.repairs_board().await),
    };
    let mut model: std::collections::HashMap<i64, ModelDates> = match board {
        None => Default::default(),
        Some(board) => board
            .map_err(|e| ServerFnError::new(e.message))?
            .faults
            .into_iter()
            .map(|r| {
                let dates = ModelDates {
                    p50_on: r.estimate.as_ref().and_then(|e| e.p50_on),
                    p90_on: r.estimate.as_ref().and_then(|e| e.p90_on),
                    optimistic: r.optimistic,
                    reasons: if r.optimistic {
                        r.reasons.join("; ")
                    } else {
                        String::new()
                    },
                };
                (r.id, dates)
            })
            .collect(),
    };
    Ok(FaultsPage {
        faults: faults
            .iter()
            .map(|f| FaultRow::of(f, model.remove(&f.id)))
            .collect(),
        cables,
        as_of: at.map(|t| shared::history::as_of_param(&t)),
    })
}

#[cfg(feature = "ssr")]
fn cable_briefs(b: &crate::backend::SharedBackend) -> Vec<CableBrief> {
    b.cables()
        .iter()
        .map(|c| CableBrief {
            abbrev: c.abbrev.clone(),
            notice_name: c.notice_name(),
            name_en: c.name_en.clone(),
        })
        .collect()
}

/// The cables a fault can be logged on (the fault form's list): the
/// reference list alone, without the faults.
#[server(prefix = "/api/fn", endpoint = "cables")]
pub async fn list_cables() -> Result<Vec<CableBrief>, ServerFnError> {
    caller(Capability::Read)?;
    Ok(cable_briefs(&backend()?))
}

#[server(prefix = "/api/fn", endpoint = "fault")]
pub async fn get_fault(
    id: i64,
    as_of: Option<String>,
) -> Result<Result<FaultDetail, ApiError>, ServerFnError> {
    caller(Capability::Read)?;
    let b = backend()?;
    Ok(match (moment(as_of.as_deref())?, exercise()) {
        (_, Some(ex)) => b.exercise_fault(&ex, id).await,
        (None, None) => b.fault(id).await,
        (Some(at), None) => b.fault_as_of(id, at).await,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveFaultRequest {
    /// `None` logs a new fault.
    pub id: Option<i64>,
    pub version: Option<i64>,
    pub form: FaultForm,
}

#[server(prefix = "/api/fn", endpoint = "save_fault", input = Json)]
pub async fn save_fault(req: SaveFaultRequest) -> Result<Result<Fault, ApiError>, ServerFnError> {
    let who = caller(Capability::WriteData)?.actor();
    let b = backend()?;
    let ex = exercise();
    Ok(match (req.id, req.version, ex) {
        (Some(_), None, _) => Err(ApiError::bad_request(
            "an edit needs the version it was made on",
        )),
        (Some(id), Some(version), Some(ex)) => {
            b.update_fault_in(&ex, &who, id, version, &req.form).await
        }
        (Some(id), Some(version), None) => b.update_fault(&who, id, version, &req.form).await,
        (None, _, Some(ex)) => b.create_fault_in(&ex, &who, &req.form).await,
        (None, _, None) => b.create_fault(&who, &req.form).await,
    })
}

#[server(prefix = "/api/fn", endpoint = "preview_notice", input = Json)]
pub async fn preview_notice(text: String) -> Result<Result<NoticeReport, ApiError>, ServerFnError> {
    caller(Capability::WriteData)?;
    let b = backend()?;
    Ok(match exercise() {
        Some(ex) => b.preview_notice_in(&ex, &text).await,
        None => b.preview_notice(&text).await,
    })
}

#[server(prefix = "/api/fn", endpoint = "import_notice", input = Json)]
pub async fn import_notice(text: String) -> Result<Result<NoticeReport, ApiError>, ServerFnError> {
    let who = caller(Capability::WriteData)?.actor();
    let b = backend()?;
    Ok(match exercise() {
        Some(ex) => b.import_notice_in(&ex, &who, &text).await,
        None => b.import_notice(&who, &text).await,
    })
}

#[server(prefix = "/api/fn", endpoint = "maintenance")]
pub async fn list_maintenance() -> Result<Vec<Maintenance>, ServerFnError> {
    caller(Capability::Read)?;
    backend()?
        .maintenance()
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

#[server(prefix = "/api/fn", endpoint = "record_maintenance", input = Json)]
pub async fn record_maintenance(
    form: MaintenanceForm,
) -> Result<Result<Maintenance, ApiError>, ServerFnError> {
    let who = caller(Capability::WriteData)?.actor();
    Ok(backend()?.record_maintenance(&who, &form).await)
}

#[server(prefix = "/api/fn", endpoint = "complete_maintenance", input = Json)]
pub async fn complete_maintenance(
    id: i64,
    version: i64,
    completed_on: String,
) -> Result<Result<Maintenance, ApiError>, ServerFnError> {
    let who = caller(Capability::WriteData)?.actor();
    let Ok(day) = chrono::NaiveDate::parse_from_str(completed_on.trim(), "%Y-%m-%d") else {
        return Ok(Err(ApiError {
            field: Some("completed_on".into()),
            ..ApiError::bad_request("expected a date such as 2026-02-14")
        }));
    };
    Ok(backend()?
        .complete_maintenance(&who, id, version, day)
        .await)
}

/// Who is signed in (`None` on the sign-in page).
#[server(prefix = "/api/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Principal>, ServerFnError> {
    Ok(principal())
}

#[server(prefix = "/api/fn", endpoint = "audit", input = Json)]
pub async fn audit_events(
    filter: AuditFilter,
) -> Result<Result<Vec<Event>, ApiError>, ServerFnError> {
    caller(Capability::ReadAudit)?;
    Ok(backend()?.audit(&filter).await)
}

#[server(prefix = "/api/fn", endpoint = "my_tokens")]
pub async fn my_tokens() -> Result<Vec<TokenInfo>, ServerFnError> {
    let who = caller(Capability::Account)?;
    backend()?
        .tokens_of(who.id)
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

#[server(prefix = "/api/fn", endpoint = "create_token", input = Json)]
pub async fn create_token(
    label: String,
    expires_days: Option<i64>,
) -> Result<Result<NewSecret, ApiError>, ServerFnError> {
    let who = caller(Capability::Account)?;
    Ok(backend()?
        .create_token(&who.actor(), &who.name, &label, expires_days)
        .await)
}

#[server(prefix = "/api/fn", endpoint = "revoke_token", input = Json)]
pub async fn revoke_token(id: i64) -> Result<Result<(), ApiError>, ServerFnError> {
    let who = caller(Capability::Account)?;
    Ok(backend()?.revoke_token(&who.actor(), who.id, id).await)
}

#[server(prefix = "/api/fn", endpoint = "kiosks")]
pub async fn list_kiosks() -> Result<Vec<TokenInfo>, ServerFnError> {
    caller(Capability::ManageAccess)?;
    backend()?
        .kiosks()
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

#[server(prefix = "/api/fn", endpoint = "create_kiosk", input = Json)]
pub async fn create_kiosk(
    name: String,
    expires_days: i64,
    exercise: Option<i64>,
) -> Result<Result<NewSecret, ApiError>, ServerFnError> {
    let who = caller(Capability::ManageAccess)?;
    Ok(backend()?
        .create_kiosk(&who.actor(), &name, expires_days, exercise)
        .await)
}

#[server(prefix = "/api/fn", endpoint = "revoke_kiosk", input = Json)]
pub async fn revoke_kiosk(id: i64) -> Result<Result<(), ApiError>, ServerFnError> {
    let who = caller(Capability::ManageAccess)?;
    Ok(backend()?.revoke_kiosk(&who.actor(), id).await)
}

/// What the map draws: cables with their state, stations, open faults placed by chainage.
/// Now, or (`as_of`) with the faults and maintenance as they stood at a moment.
#[server(prefix = "/api/fn", endpoint = "map_data")]
pub async fn map_data(as_of: Option<String>) -> Result<shared::map::MapData, ServerFnError> {
    caller(Capability::Read)?;
    let at = moment(as_of.as_deref())?;
    let b = backend()?;
    let err = |e: ApiError| ServerFnError::new(e.message);
    // In an exercise: its faults and island figures (reality's maintenance).
    let ex = exercise();
    let (faults, maint) = match &ex {
        Some(ex) => (
            b.exercise_faults(ex, false).await.map_err(err)?,
            b.maintenance()
                .await
                .map_err(err)?
                .into_iter()
                .map(|m| m.line)
                .collect(),
        ),
        None => b.faults_and_maintenance(false, at).await.map_err(err)?,
    };
    let mut data = shared::map::map_data(&b.cables(), &b.stations(), &faults, &maint);
    let report = match &ex {
        Some(ex) => b.resilience_in(ex, &[]).await,
        None => b.resilience(&[], at).await,
    }
    .map_err(err)?;
    (data.islands, data.carrying) = shared::map::island_layer(&report);
    Ok(data)
}

/// The asset list now, or (`as_of`) as it stood at a moment.
#[server(prefix = "/api/fn", endpoint = "assets", input = Json)]
pub async fn list_assets(filter: AssetFilter, as_of: Option<String>) -> ServerResult<AssetList> {
    caller(Capability::Read)?;
    let at = parse_as_of(as_of.as_deref())?;
    Ok(backend()?.list_assets(&filter, at).await)
}

/// An asset with its history now, or (`as_of`) as it stood at a moment.
#[server(prefix = "/api/fn", endpoint = "asset")]
pub async fn get_asset(id: i64, as_of: Option<String>) -> ServerResult<AssetDetail> {
    caller(Capability::Read)?;
    let at = moment(as_of.as_deref())?;
    Ok(match exercise() {
        Some(ex) => backend()?.exercise_asset(&ex, id).await,
        None => backend()?.asset(id, at).await,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveAssetRequest {
    /// `None` adds a new asset.
    pub id: Option<i64>,
    pub version: Option<i64>,
    pub form: AssetForm,
}

#[server(prefix = "/api/fn", endpoint = "save_asset", input = Json)]
pub async fn save_asset(req: SaveAssetRequest) -> ServerResult<Asset> {
    let who = caller(Capability::WriteData)?.actor();
    let b = backend()?;
    let ex = exercise();
    Ok(match (req.id, req.version, ex) {
        (Some(_), None, _) => Err(ApiError::bad_request(
            "an edit needs the version it was made on",
        )),
        (Some(id), Some(version), Some(ex)) => {
            b.update_asset_in(&ex, &who, id, version, &req.form).await
        }
        (Some(id), Some(version), None) => b.update_asset(&who, id, version, &req.form).await,
        // The exercise records what becomes of the assets there are.
        (None, _, Some(ex)) => Err(ApiError::conflict(format!(
            "assets are not added inside exercise #{} ({}): leave it to add one for real",
            ex.id, ex.name
        ))),
        (None, _, None) => b.create_asset(&who, &req.form).await,
    })
}

/// Previews (`write: false`) or runs an asset import; all or nothing.
#[server(prefix = "/api/fn", endpoint = "import_assets", input = Json)]
pub async fn import_assets(
    text: String,
    format: Option<String>,
    write: bool,
) -> ServerResult<AssetImportReport> {
    let who = caller(Capability::WriteData)?.actor();
    Ok(backend()?
        .import_assets(&who, format.as_deref(), &text, write)
        .await)
}

/// The asset layer for a map view, clustered on the server.
#[server(prefix = "/api/fn", endpoint = "asset_markers", input = Json)]
pub async fn asset_markers(
    view: String,
    zoom: u8,
    bbox: Vec<f64>,
    kinds: Vec<AssetKind>,
) -> Result<Vec<AssetMarker>, ServerFnError> {
    caller(Capability::Read)?;
    let v = shared::map::View::by_id(&view).within(&bbox);
    backend()?
        .asset_markers(&v, zoom.min(6), &kinds)
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

/// The duty-watch board and whether the caller may acknowledge its alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchData {
    pub board: shared::watch::Board,
    /// False in a historical view: the past is not acknowledged.
    pub can_ack: bool,
    /// For a historical view: the moment shown.
    pub as_of: Option<String>,
}

/// The board now, or (`as_of`) as it stood at a moment.
#[server(prefix = "/api/fn", endpoint = "watch_board")]
pub async fn watch_board(as_of: Option<String>) -> Result<WatchData, ServerFnError> {
    let who = caller(Capability::Read)?;
    let at = moment(as_of.as_deref())?;
    let b = backend()?;
    let board = match (at, exercise()) {
        (_, Some(ex)) => b.board_in(&ex).await,
        (None, None) => b.board().await,
        (Some(at), None) => b.board_as_of(at).await,
    }
    .map_err(|e| ServerFnError::new(e.message))?;
    Ok(WatchData {
        board,
        can_ack: at.is_none() && who.can(Capability::Acknowledge),
        as_of: at.map(|t| shared::history::as_of_param(&t)),
    })
}

#[server(prefix = "/api/fn", endpoint = "ack_alert")]
pub async fn ack_alert(id: i64) -> ServerResult<shared::watch::Alert> {
    let who = caller(Capability::Acknowledge)?.actor();
    Ok(match exercise() {
        Some(ex) => backend()?.ack_alert_in(&ex, &who, id).await,
        None => backend()?.ack_alert(&who, id).await,
    })
}

/// The newest event the server has published: a page starts its live stream
/// after it.
#[server(prefix = "/api/fn", endpoint = "live_seq")]
pub async fn live_seq() -> Result<i64, ServerFnError> {
    caller(Capability::Read)?;
    Ok(backend()?.live_head())
}

/// What the resilience page shows: every island's figures (under the
/// what-if when `cut` is not empty), the same figures without the cut to
/// compare with, the N-1 and N-2 sweeps, and the figures behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResilienceData {
    pub report: shared::resilience::Report,
    /// Each island's status and capacity before the what-if's cut.
    pub before: Vec<(shared::resilience::Region, shared::resilience::Status, f64)>,
    pub n1: shared::resilience::contingency::Sweep,
    pub n2: shared::resilience::contingency::Sweep,
    pub figures: Vec<shared::resilience::Figure>,
    /// Whether the reader may change the figures (never in a historical view).
    pub can_edit: bool,
    /// For a historical view: the moment shown.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// The resilience page now or (`as_of`) over the faults as they stood at a
/// moment; `cut` is the what-if.
#[server(prefix = "/api/fn", endpoint = "resilience", input = Json)]
pub async fn resilience_page(
    cut: Vec<String>,
    as_of: Option<String>,
) -> ServerResult<ResilienceData> {
    let who = caller(Capability::Read)?;
    let at = parse_as_of(as_of.as_deref())?;
    let b = backend()?;
    // Inside an exercise: its layer over reality now (never with as_of).
    let ex = exercise();
    let run = async {
        let report_of = |cut: Vec<String>| {
            let (b, ex) = (b.clone(), ex.clone());
            async move {
                match &ex {
                    Some(ex) => b.resilience_in(ex, &cut).await,
                    None => b.resilience(&cut, at).await,
                }
            }
        };
        let sweep = |k: usize| {
            let (b, ex) = (b.clone(), ex.clone());
            async move {
                match &ex {
                    Some(ex) => b.contingencies_in(ex, k).await,
                    None => b.contingencies(k, at).await,
                }
            }
        };
        let report = report_of(cut.clone()).await?;
        let before = if cut.is_empty() {
            report.islands.clone()
        } else {
            report_of(Vec::new()).await?.islands
        }
        .into_iter()
        .map(|i| (i.figures.region, i.figures.status, i.figures.capacity_gbps))
        .collect();
        Ok(ResilienceData {
            report,
            before,
            n1: sweep(1).await?,
            n2: sweep(2).await?,
            figures: b.figures().await?,
            // A figure is not an exercise write: its forms are not shown in one.
            can_edit: at.is_none() && ex.is_none() && who.can(Capability::WriteData),
            as_of: at.map(|t| shared::history::as_of_param(&t)),
        })
    };
    Ok(run.await)
}

/// The repair board and whether the reader may change stages and ships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepairsData {
    pub board: shared::repair::RepairsBoard,
    pub can_edit: bool,
    /// Open faults' cables and ids, for the ship queue's labels.
    pub today: chrono::NaiveDate,
}

#[server(prefix = "/api/fn", endpoint = "repairs")]
pub async fn repairs_page() -> ServerResult<RepairsData> {
    let who = caller(Capability::Read)?;
    let b = backend()?;
    let ex = exercise();
    let board = match &ex {
        Some(ex) => b.repairs_board_in(ex).await,
        None => b.repairs_board().await,
    };
    Ok(board.map(|board| RepairsData {
        board,
        // Stages and ships are reality's: not written from an exercise.
        can_edit: who.can(Capability::WriteData) && ex.is_none(),
        today: shared::history::taipei_day(&chrono::Utc::now()),
    }))
}

/// The leadership briefing, built now or (`as_of`) as it stood at a moment.
#[server(prefix = "/api/fn", endpoint = "briefing")]
pub async fn briefing_page(as_of: Option<String>) -> ServerResult<shared::briefing::Briefing> {
    caller(Capability::Read)?;
    let b = backend()?;
    let at = moment(as_of.as_deref())?;
    Ok(match exercise() {
        Some(ex) => b.briefing_in(&ex).await,
        None => b.briefing(at).await,
    })
}

/// The exercise this screen is in (its banner), if any.
#[server(prefix = "/api/fn", endpoint = "exercise_context")]
pub async fn exercise_context() -> Result<Option<shared::exercise::Context>, ServerFnError> {
    let who = caller(Capability::Read)?;
    Ok(exercise().map(|ex| shared::exercise::Context {
        bound: who.kind == shared::auth::PrincipalKind::Kiosk,
        ..shared::exercise::Context::of(&ex, chrono::Utc::now())
    }))
}

/// An exercise as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseRow {
    pub exercise: shared::exercise::Exercise,
    pub phase: shared::exercise::Phase,
}

/// Every exercise, the newest start first, and the one this screen is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExercisesPage {
    pub exercises: Vec<ExerciseRow>,
    pub current: Option<i64>,
}

#[server(prefix = "/api/fn", endpoint = "exercises")]
pub async fn list_exercises() -> Result<ExercisesPage, ServerFnError> {
    caller(Capability::Read)?;
    let now = chrono::Utc::now();
    let exercises = backend()?
        .exercises()
        .await
        .map_err(|e| ServerFnError::new(e.message))?
        .into_iter()
        .map(|exercise| ExerciseRow {
            phase: exercise.phase(now),
            exercise,
        })
        .collect();
    Ok(ExercisesPage {
        exercises,
        current: exercise().map(|e| e.id),
    })
}

/// Schedules an exercise (admins).
#[server(prefix = "/api/fn", endpoint = "create_exercise", input = Json)]
pub async fn create_exercise(
    form: shared::exercise::ExerciseForm,
) -> ServerResult<shared::exercise::Exercise> {
    let who = caller(Capability::RunExercises)?.actor();
    Ok(backend()?.create_exercise(&who, &form).await)
}

/// An exercise's report: its timeline and response times.
#[server(prefix = "/api/fn", endpoint = "exercise_report")]
pub async fn exercise_report(id: i64) -> ServerResult<shared::exercise::Report> {
    caller(Capability::Read)?;
    Ok(backend()?.exercise_report(id).await)
}

/// The caller's subscriptions and their newest messages with delivery logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationsPage {
    pub subscriptions: Vec<shared::notify::Subscription>,
    pub messages: Vec<shared::notify::Message>,
}

#[server(prefix = "/api/fn", endpoint = "notifications")]
pub async fn my_notifications() -> Result<NotificationsPage, ServerFnError> {
    let who = caller(Capability::Subscribe)?;
    let b = backend()?;
    let err = |e: ApiError| ServerFnError::new(e.message);
    Ok(NotificationsPage {
        subscriptions: b.subscriptions(who.id).await.map_err(err)?,
        messages: b.notifications(who.id, 50).await.map_err(err)?,
    })
}
