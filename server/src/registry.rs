//! The registry: the façade over the storage modules, and the faults, notices
//! and planned maintenance (SQL). Every write appends to the
//! event log and updates the current-state tables in one transaction.
//! REST handlers, server functions and the CLI all call these methods.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use sqlx::{AnyConnection, AnyPool};

use shared::api::{ApiError, AssetDetail, AssetList, FaultDetail, NoticeReport};
use shared::assets::{Asset, AssetDraft, AssetFilter, AssetForm, AssetImportReport, AssetKind};
use shared::auth::{AuditFilter, NewSecret, Principal, Role, TokenInfo, UserInfo};
use shared::event::{kind, Event};
use shared::fault::{Fault, FaultDraft, FaultForm, FaultStatus};
use shared::import::{plan_import, ChangeKind};
use shared::maintenance::{Maintenance, MaintenanceForm};
use shared::map::{AssetMarker, View};
use shared::notice::{parse_notice, write_notice, MaintenanceLine};
use shared::reference::{Cable, CableIndex, Station};

use crate::access::{Access, User};
use crate::assets::Assets;
use crate::assets::{AssetSnapshot, ImportFormat};
use crate::db::Engine;
use crate::live::Live;
use crate::log::{append_event, Log, WriteTx};
use shared::fault::FieldError;
use shared::resilience::contingency::{self, Sweep};
use shared::resilience::{
    as_designed, island_statuses, network, report, Figure, FigureForm, Figures, Inputs, Network,
    Report,
};
use std::collections::BTreeSet;

use crate::rows::{fault_from_row, maintenance_rows, FAULT_COLS};
use crate::store::{date_str, db_err, json_err, now, opt_f64};

mod exercise;
mod feed;
mod notify;

/// Which state the resilience engine reads: reality now or at a moment, or
/// an exercise's layer over reality now.
#[derive(Clone, Copy)]
enum Scope<'a> {
    At(Option<chrono::DateTime<Utc>>),
    In(&'a shared::exercise::Exercise),
}

/// The most links one what-if may cut.
pub const MAX_CUT: usize = 100;

/// The registry of one database: the façade the API handlers, server
/// functions and CLI call. It holds the log and the domain stores and
/// forwards to them; faults, notices and planned maintenance are its own
/// methods below (their SQL lives in this module).
#[derive(Clone)]
pub struct Registry {
    log: Log,
    cables: Arc<Vec<Cable>>,
    stations: Arc<Vec<Station>>,
    /// The backup-asset store, with its snapshot cache (see `assets`).
    assets: Assets,
    /// Users, tokens, kiosks and the audit query (see `access`).
    access: Access,
    /// The live tail of the event log (see `live`).
    live: Live,
    /// One notice parse (and preview plan) at a time, server-wide: a notice
    /// at the size limit costs tens of milliseconds of a core, and two at
    /// once would take both cores from the writes and the live stream.
    notice_work: Arc<tokio::sync::Semaphore>,
    /// Every fault as of the newest fault event (see [`Registry::faults`]).
    fault_cache: Arc<std::sync::Mutex<Option<FaultList>>>,
    /// The repair board now, as of the newest event of any kind and the day
    /// (see [`Registry::repairs_board`]).
    board_cache: Arc<std::sync::Mutex<Option<BoardNow>>>,
}

/// The newest event of any kind: a key no write to faults, repairs, ships or
/// assets leaves unchanged, since each appends its event in its transaction.
const LOG_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM events";

/// The repair board as of the event `seq` on the Taipei day `day` (the
/// model's stopwatches and season count days).
struct BoardNow {
    seq: i64,
    day: NaiveDate,
    board: Arc<shared::repair::RepairsBoard>,
}

/// The newest fault event: the key the fault list is filed under.
const FAULT_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE entity_type = 'fault'";

/// Every fault, in the notice's order, as of the fault event `seq`.
struct FaultList {
    seq: i64,
    faults: Arc<Vec<Fault>>,
}

impl Registry {
    /// Opens the registry and loads the reference cables and stations on
    /// first start (one `reference.loaded` event).
    pub async fn open(pool: AnyPool, engine: Engine) -> Result<Self, ApiError> {
        let cables = shared::reference::cables().map_err(|e| {
            tracing::error!(error = %e, "reference data");
            ApiError::internal()
        })?;
        let stations = shared::reference::stations().map_err(|e| {
            tracing::error!(error = %e, "reference data");
            ApiError::internal()
        })?;
        let log = Log::new(pool, engine);
        let reg = Self {
            assets: Assets::new(log.clone()),
            access: Access::new(log.clone()),
            live: Live::new(&log),
            log,
            cables: Arc::new(cables),
            stations: Arc::new(stations),
            notice_work: Arc::new(tokio::sync::Semaphore::new(1)),
            fault_cache: Default::default(),
            board_cache: Default::default(),
        };
        reg.load_reference().await?;
        Ok(reg)
    }

    pub fn engine(&self) -> Engine {
        self.log.engine()
    }

    /// The live event stream of this server.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// The event log (the live stream reads it).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The backup-asset store.
    pub fn assets(&self) -> &Assets {
        &self.assets
    }

    /// Users, tokens, kiosks and the audit trail.
    pub fn access(&self) -> &Access {
        &self.access
    }

    pub fn pool(&self) -> &AnyPool {
        self.log.pool()
    }

    /// Begins a write: see [`WriteTx`].
    pub(crate) async fn write(&self) -> Result<WriteTx, ApiError> {
        self.log.write().await
    }

    /// Whether the last write failed because storage is full.
    pub fn storage_full(&self) -> bool {
        self.log.storage_full()
    }

    /// How many events the log holds.
    pub async fn event_count(&self) -> Result<i64, ApiError> {
        self.log.event_count().await
    }

    /// The newest `seq` in the log (0 when empty).
    /// Newest committed `seq` minus newest published by the live stream;
    /// `None` while the stream's pump is not running.
    pub async fn pump_lag(&self) -> Result<Option<i64>, ApiError> {
        if !self.live.pumping() {
            return Ok(None);
        }
        let last = self.last_seq().await?;
        Ok(Some((last - self.live.head()).max(0)))
    }

    pub async fn last_seq(&self) -> Result<i64, ApiError> {
        self.log.last_seq().await
    }

    /// Up to `limit` events after `after`, in order.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>, ApiError> {
        self.log.events_after(after, limit).await
    }

    /// Alerts, newest first: the open ones, or all of them.
    pub async fn alerts(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<shared::watch::Alert>, ApiError> {
        crate::watch::alerts(&self.log, open_only, limit).await
    }

    /// Acknowledges an open alert (see [`crate::watch::ack_alert`]).
    pub async fn ack_alert(&self, actor: &str, id: i64) -> Result<shared::watch::Alert, ApiError> {
        crate::watch::ack_alert(&self.log, actor, id).await
    }

    /// Faults and maintenance as they stood at `at`, rebuilt from the log
    /// (a pure fold, [`shared::history::state_at`]).
    pub async fn state_at(
        &self,
        at: chrono::DateTime<Utc>,
    ) -> Result<shared::history::State, ApiError> {
        let events = self.log.record_events_until(at).await?;
        crate::log::fold(&events, at)
    }

    /// The faults now (`as_of: None`) or as they stood at a moment; open
    /// ones only unless `all`.
    pub async fn faults_as_of(
        &self,
        all: bool,
        as_of: Option<chrono::DateTime<Utc>>,
    ) -> Result<Vec<Fault>, ApiError> {
        match as_of {
            None => self.faults(all).await,
            Some(at) => Ok(self.state_at(at).await?.fault_list(!all)),
        }
    }

    /// The duty-watch board as of now.
    pub async fn board(&self) -> Result<shared::watch::Board, ApiError> {
        self.board_as_of(None).await
    }

    /// The duty-watch board now, or as it stood at a moment: the faults and
    /// maintenance then, the alerts raised by then and not yet acknowledged
    /// then, the events up to then. (Islands are computed with today's
    /// figures and assets: those are not rebuilt.)
    pub async fn board_as_of(
        &self,
        as_of: Option<chrono::DateTime<Utc>>,
    ) -> Result<shared::watch::Board, ApiError> {
        self.board_of(as_of, None).await
    }

    /// The board now or at a moment, over `open_faults` where given (an
    /// exercise's overlay) instead of the faults then.
    pub(crate) async fn board_of(
        &self,
        as_of: Option<chrono::DateTime<Utc>>,
        open_faults: Option<Vec<Fault>>,
    ) -> Result<shared::watch::Board, ApiError> {
        // The newest event first: the board is at least as new as its `seq`.
        let seq = match as_of {
            None => self.last_seq().await?,
            Some(at) => self.log.last_seq_until(at).await?,
        };
        let (mut faults, maint) = self.faults_and_maintenance(false, as_of).await?;
        if let Some(f) = open_faults {
            faults = f;
        }
        let state_of = |c: &str| shared::map::cable_state(c, &faults, &maint);
        let states: Vec<_> = self.cables().iter().map(|c| state_of(&c.abbrev)).collect();
        let (net, _) = self.resilience_network(&faults, &maint, None).await?;
        let islands = shared::watch::islands_affected(
            &island_statuses(&net.links, &net.demand),
            &island_statuses(&as_designed(&net.links), &net.demand),
            &net.links,
        );
        let alerts = match as_of {
            None => crate::watch::alerts(&self.log, true, 50).await?,
            Some(at) => crate::watch::alerts_open_at(&self.log, at, 50).await?,
        };
        // Access events are for the audit trail; an exercise's scheduling
        // is not news on a real board.
        let hidden: Vec<String> = shared::auth::ACCESS_ENTITIES
            .iter()
            .chain([&shared::exercise::ENTITY])
            .map(|e| format!("'{e}'"))
            .collect();
        let events = sqlx::query(&format!(
            "SELECT seq, at, actor, kind, entity_type, entity_id, NULL AS before_json, NULL AS after_json \
             FROM events WHERE entity_type NOT IN ({}) AND seq <= $1 ORDER BY seq DESC LIMIT 20",
            hidden.join(", ")
        ))
        .bind(seq)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?
        .iter()
        .map(crate::store::event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(shared::watch::Board {
            seq,
            cables: shared::watch::count_states(&states),
            faults: shared::watch::count_faults(&faults),
            islands,
            alerts,
            events,
        })
    }

    // Resilience: the engine is pure (`shared::resilience`); the state it
    // runs on is loaded here, the figures are stored by `resilience`.

    /// The capacity graph now, and the figures it was built with.
    async fn resilience_network(
        &self,
        faults: &[Fault],
        maintenance: &[MaintenanceLine],
        layer: Option<&shared::exercise::Layer>,
    ) -> Result<(Network, Figures), ApiError> {
        let snap = self.asset_snapshot().await?;
        let mut conn = self.pool().acquire().await.map_err(db_err)?;
        let figures = crate::resilience::figures(&mut conn).await?;
        drop(conn);
        let overlaid;
        let assets = match layer {
            Some(l) if !l.assets.is_empty() => {
                overlaid = l.overlay_assets(snap.assets.clone());
                &overlaid
            }
            _ => &snap.assets,
        };
        let net = network(&Inputs {
            cables: &self.cables,
            stations: &self.stations,
            faults,
            maintenance,
            assets,
            figures: &figures,
        });
        Ok((net, figures))
    }

    /// The faults (open ones unless `all`) and the planned maintenance not
    /// completed, now (`at: None`) or as they stood at a moment.
    pub async fn faults_and_maintenance(
        &self,
        all: bool,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<(Vec<Fault>, Vec<MaintenanceLine>), ApiError> {
        Ok(match at {
            None => (
                self.faults(all).await?,
                self.maintenance()
                    .await?
                    .into_iter()
                    .map(|m| m.line)
                    .collect(),
            ),
            Some(at) => {
                let state = self.state_at(at).await?;
                (state.fault_list(!all), state.open_maintenance())
            }
        })
    }

    /// The capacity network now (`at: None`), or with the faults and
    /// maintenance as they stood at a moment (today's assets and figures).
    async fn network(
        &self,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<(Network, Figures), ApiError> {
        self.network_of(Scope::At(at)).await
    }

    /// The capacity network of a [`Scope`]: reality now or then, or an
    /// exercise's layer over reality now (its faults and asset states).
    async fn network_of(&self, scope: Scope<'_>) -> Result<(Network, Figures), ApiError> {
        match scope {
            Scope::At(at) => {
                let (faults, maint) = self.faults_and_maintenance(false, at).await?;
                self.resilience_network(&faults, &maint, None).await
            }
            Scope::In(ex) => {
                let (faults, maint) = self.faults_and_maintenance(false, None).await?;
                let layer = self.layer(ex).await?;
                let faults = layer.overlay_faults(faults, false);
                self.resilience_network(&faults, &maint, Some(&layer)).await
            }
        }
    }

    /// Every island's figures now.
    pub async fn resilience(&self) -> Result<Report, ApiError> {
        let (net, figures) = self.network(None).await?;
        Ok(report(&net, &figures))
    }

    /// Every island's figures with `cut` (cables by abbreviation or name,
    /// `asset:ID`, `satellite:REGION`) carrying nothing, now or (`at`) over
    /// the faults as they stood at a moment. Writes nothing.
    pub async fn what_if(
        &self,
        cut: &[String],
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<Report, ApiError> {
        self.what_if_of(cut, Scope::At(at)).await
    }

    /// Every island's figures inside an exercise (its layer over reality now).
    pub async fn resilience_in(&self, ex: &shared::exercise::Exercise) -> Result<Report, ApiError> {
        let (net, figures) = self.network_of(Scope::In(ex)).await?;
        Ok(report(&net, &figures))
    }

    /// [`Self::what_if`] inside an exercise.
    pub async fn what_if_in(
        &self,
        ex: &shared::exercise::Exercise,
        cut: &[String],
    ) -> Result<Report, ApiError> {
        self.what_if_of(cut, Scope::In(ex)).await
    }

    /// [`Self::contingencies`] inside an exercise.
    pub async fn contingencies_in(
        &self,
        ex: &shared::exercise::Exercise,
        k: usize,
    ) -> Result<Sweep, ApiError> {
        self.contingencies_of(k, Scope::In(ex)).await
    }

    async fn what_if_of(&self, cut: &[String], scope: Scope<'_>) -> Result<Report, ApiError> {
        if cut.len() > MAX_CUT {
            return Err(ApiError::invalid(vec![FieldError::new(
                "cut",
                "too_many",
                format!("at most {MAX_CUT} links at once"),
            )]));
        }
        let index = self.cable_index();
        let ids: BTreeSet<String> = cut
            .iter()
            .map(|c| {
                let c = c.trim();
                if c.contains(':') {
                    c.to_string()
                } else {
                    index.resolve(c).unwrap_or_else(|| c.to_string())
                }
            })
            .collect();
        let (net, figures) = self.network_of(scope).await?;
        shared::resilience::what_if(&net, &figures, &ids).map_err(|unknown| {
            ApiError::invalid(vec![FieldError::new(
                "cut",
                "unknown",
                format!(
                    "not in the capacity graph: {} (a cable by abbreviation or name, \
                     asset:ID for a microwave link between regions, satellite:REGION)",
                    unknown.join(", ")
                ),
            )])
        })
    }

    /// The N-1 (`k` = 1) or N-2 (`k` = 2) contingency sweep over the state
    /// now, or (`at`) as it stood at a moment.
    pub async fn contingencies(
        &self,
        k: usize,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<Sweep, ApiError> {
        self.contingencies_of(k, Scope::At(at)).await
    }

    async fn contingencies_of(&self, k: usize, scope: Scope<'_>) -> Result<Sweep, ApiError> {
        if !(1..=2).contains(&k) {
            return Err(ApiError::invalid(vec![FieldError::new(
                "k",
                "bad_choice",
                "k is 1 (every single loss) or 2 (every pair)",
            )]));
        }
        let (net, _) = self.network_of(scope).await?;
        tokio::task::spawn_blocking(move || contingency::sweep(&net.links, &net.demand, k))
            .await
            .map_err(|_| ApiError::internal())
    }

    /// Every figure the engine uses, with its basis and source.
    pub async fn figures(&self) -> Result<Vec<Figure>, ApiError> {
        let mut conn = self.pool().acquire().await.map_err(db_err)?;
        Ok(crate::resilience::figures(&mut conn)
            .await?
            .iter()
            .cloned()
            .collect())
    }

    /// See [`crate::resilience::set_figure`].
    pub async fn set_figure(
        &self,
        actor: &str,
        key: &str,
        form: &FigureForm,
        version: i64,
    ) -> Result<Figure, ApiError> {
        crate::resilience::set_figure(&self.log, actor, key, form, version).await
    }

    // Repairs: stages and ships stored by `repairs`, the board built in
    // `shared::repair`.

    /// The repair board: every repair ship with its state and queue, every
    /// open fault with its stage, stopwatch and the model's estimate.
    ///
    /// It is built once per state of the log and day: the fault list shows
    /// the model's dates on every render, and the model (calibration, ship
    /// queues, season) is the same until something is written or the day
    /// turns. The key is read before the inputs, so a write landing during a
    /// build at most files newer figures under an older key, which the next
    /// read replaces.
    pub async fn repairs_board(&self) -> Result<shared::repair::RepairsBoard, ApiError> {
        let seq: i64 = sqlx::query_scalar(LOG_SEQ)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        let day = shared::history::taipei_day(&Utc::now());
        if let Ok(cache) = self.board_cache.lock() {
            if let Some(c) = cache.as_ref().filter(|c| c.seq == seq && c.day == day) {
                return Ok((*c.board).clone());
            }
        }
        // All faults: the restored ones calibrate the model.
        let faults = self.faults(true).await?;
        let board = Arc::new(self.repairs_board_calibrated(&faults, &faults, day).await?);
        if let Ok(mut cache) = self.board_cache.lock() {
            *cache = Some(BoardNow {
                seq,
                day,
                board: board.clone(),
            });
        }
        Ok(Arc::unwrap_or_clone(board))
    }

    /// The board on `today` over `faults`, the model calibrated on `calibrate`.
    async fn repairs_board_calibrated(
        &self,
        faults: &[Fault],
        calibrate: &[Fault],
        today: NaiveDate,
    ) -> Result<shared::repair::RepairsBoard, ApiError> {
        let mut conn = self.pool().acquire().await.map_err(db_err)?;
        let repairs = crate::repairs::repairs(&mut conn).await?;
        let states = crate::repairs::ship_states(&mut conn).await?;
        drop(conn);
        self.repairs_board_with(faults, calibrate, &repairs, &states, today)
            .await
    }

    /// The repair board as it stood at `at`: faults, stages and ship states
    /// then, and the model run as on that day (today's asset registry).
    pub async fn repairs_board_as_of(
        &self,
        at: chrono::DateTime<Utc>,
    ) -> Result<shared::repair::RepairsBoard, ApiError> {
        let state = self.state_at(at).await?;
        let faults = state.fault_list(false);
        let repairs: Vec<_> = state.repairs.into_values().collect();
        let day = shared::history::taipei_day(&at);
        self.repairs_board_with(&faults, &faults, &repairs, &state.ships, day)
            .await
    }

    /// The board over `faults`, the model calibrated on `calibrate` (the
    /// real faults: an exercise's never feed a repair figure).
    async fn repairs_board_with(
        &self,
        faults: &[Fault],
        calibrate: &[Fault],
        repairs: &[shared::repair::Repair],
        states: &std::collections::BTreeMap<i64, (shared::repair::ShipState, i64)>,
        today: NaiveDate,
    ) -> Result<shared::repair::RepairsBoard, ApiError> {
        let snap = self.asset_snapshot().await?;
        let ships: Vec<_> = snap
            .assets
            .iter()
            .filter(|a| a.draft.kind == AssetKind::RepairShip)
            .map(|a| {
                let (state, version) = states
                    .get(&a.id)
                    .copied()
                    .unwrap_or((shared::repair::ShipState::Standby, 0));
                (a.clone(), state, version)
            })
            .collect();
        let position = |f: &Fault| {
            shared::map::fault_position(f, &self.cables, &self.stations)
                .map(|p| (p.lon, p.lat))
                .or_else(|| {
                    let sid = f.chainage.station.as_deref()?;
                    self.stations
                        .iter()
                        .find(|s| s.id == sid)
                        .map(|s| (s.lon, s.lat))
                })
        };
        let international = |cable: &str| {
            self.cables
                .iter()
                .any(|c| c.abbrev == cable && c.kind == shared::reference::CableKind::International)
        };
        let prior =
            shared::repair::calibrated(&shared::repair::own_cases(calibrate, &international));
        Ok(shared::repair::board(&shared::repair::BoardInputs {
            faults,
            repairs,
            ships: &ships,
            position: &position,
            international: &international,
            today,
            prior: &prior,
        }))
    }

    /// Every island's figures as they stood at `at` (the faults and
    /// maintenance then; today's figures and assets).
    pub async fn resilience_as_of(&self, at: chrono::DateTime<Utc>) -> Result<Report, ApiError> {
        let (net, figures) = self.network(Some(at)).await?;
        Ok(report(&net, &figures))
    }

    /// The leadership briefing now (`as_of: None`) or as it stood at a
    /// moment (built in [`shared::briefing::build`]).
    pub async fn briefing(
        &self,
        as_of: Option<chrono::DateTime<Utc>>,
    ) -> Result<shared::briefing::Briefing, ApiError> {
        let at = as_of.unwrap_or_else(Utc::now);
        let (board, report, repairs) = match as_of {
            None => (
                self.board().await?,
                self.resilience().await?,
                self.repairs_board().await?,
            ),
            Some(at) => (
                self.board_as_of(Some(at)).await?,
                self.resilience_as_of(at).await?,
                self.repairs_board_as_of(at).await?,
            ),
        };
        self.briefing_of(at, &board, &report, &repairs, Vec::new())
            .await
    }

    /// The briefing at `at` from its parts, with the log's last 24 hours
    /// (and `more` events, an exercise's) as its changes.
    async fn briefing_of(
        &self,
        at: chrono::DateTime<Utc>,
        board: &shared::watch::Board,
        report: &Report,
        repairs: &shared::repair::RepairsBoard,
        more: Vec<Event>,
    ) -> Result<shared::briefing::Briefing, ApiError> {
        let mut events = self
            .audit(&AuditFilter {
                from: Some(crate::store::stored_time(
                    &(at - chrono::Duration::hours(24)),
                )),
                to: Some(crate::store::stored_time(&at)),
                ..Default::default()
            })
            .await?;
        events.extend(more);
        Ok(shared::briefing::build(&shared::briefing::Inputs {
            at,
            board,
            report,
            repairs,
            events: &events,
        }))
    }

    /// Raises an alert for each open fault whose repair has had no stage
    /// change for 14 days (once per stall; see
    /// [`crate::repairs::raise_stalled`]). Run periodically by `serve`.
    pub async fn check_stalled_repairs(&self) -> Result<usize, ApiError> {
        let board = self.repairs_board().await?;
        let stalled: Vec<_> = board.stalled().collect();
        crate::repairs::raise_stalled(&self.log, &stalled).await
    }

    /// See [`crate::repairs::set_repair`].
    pub async fn set_repair(
        &self,
        actor: &str,
        fault_id: i64,
        form: &shared::repair::RepairForm,
        version: i64,
    ) -> Result<shared::repair::Repair, ApiError> {
        crate::repairs::set_repair(
            &self.log,
            actor,
            fault_id,
            form,
            version,
            shared::history::taipei_day(&Utc::now()),
        )
        .await
    }

    /// See [`crate::repairs::set_ship_state`].
    pub async fn set_ship_state(
        &self,
        actor: &str,
        ship_id: i64,
        state: &str,
        version: i64,
    ) -> Result<shared::repair::ShipState, ApiError> {
        crate::repairs::set_ship_state(&self.log, actor, ship_id, state, version).await
    }

    // Access (users, tokens, kiosks, audit): forwarded to `access`.
    /// See [`crate::access::Access::user_by_name`].
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, ApiError> {
        self.access.user_by_name(name).await
    }

    /// See [`crate::access::Access::user_by_id`].
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, ApiError> {
        self.access.user_by_id(id).await
    }

    /// See [`crate::access::Access::users`].
    pub async fn users(&self) -> Result<Vec<UserInfo>, ApiError> {
        self.access.users().await
    }

    /// See [`crate::access::Access::add_user`].
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<UserInfo, ApiError> {
        self.access.add_user(actor, name, role, password).await
    }

    /// See [`crate::access::Access::disable_user`].
    pub async fn disable_user(&self, actor: &str, name: &str) -> Result<(), ApiError> {
        self.access.disable_user(actor, name).await
    }

    /// See [`crate::access::Access::set_role`].
    pub async fn set_role(&self, actor: &str, name: &str, role: Role) -> Result<(), ApiError> {
        self.access.set_role(actor, name, role).await
    }

    /// See [`crate::access::Access::set_password`].
    pub async fn set_password(
        &self,
        actor: &str,
        name: &str,
        password: &str,
    ) -> Result<User, ApiError> {
        self.access.set_password(actor, name, password).await
    }

    /// See [`crate::access::Access::log_auth`].
    pub async fn log_auth(&self, actor: &str, event: &str, name: &str, detail: serde_json::Value) {
        self.access.log_auth(actor, event, name, detail).await
    }

    /// See [`crate::access::Access::create_token`].
    pub async fn create_token(
        &self,
        actor: &str,
        user: &str,
        label: &str,
        expires_days: Option<i64>,
    ) -> Result<NewSecret, ApiError> {
        self.access
            .create_token(actor, user, label, expires_days)
            .await
    }

    /// See [`crate::access::Access::tokens_of`].
    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>, ApiError> {
        self.access.tokens_of(user_id).await
    }

    /// See [`crate::access::Access::revoke_token`].
    pub async fn revoke_token(&self, actor: &str, user_id: i64, id: i64) -> Result<(), ApiError> {
        self.access.revoke_token(actor, user_id, id).await
    }

    /// See [`crate::access::Access::create_kiosk`].
    pub async fn create_kiosk(
        &self,
        actor: &str,
        name: &str,
        expires_days: i64,
    ) -> Result<NewSecret, ApiError> {
        self.access
            .create_kiosk(actor, name, expires_days, None)
            .await
    }

    /// A kiosk link made for exercise `exercise` (one that exists and has
    /// not ended): it shows the exercise's layer over reality.
    pub async fn create_exercise_kiosk(
        &self,
        actor: &str,
        name: &str,
        expires_days: i64,
        exercise: i64,
    ) -> Result<NewSecret, ApiError> {
        let bad = |m: String| {
            ApiError::invalid(vec![shared::fault::FieldError::new(
                "exercise", "invalid", m,
            )])
        };
        let ex = self.exercise(exercise).await.map_err(|e| match e.error {
            shared::api::ErrorCode::NotFound => bad(format!("there is no exercise #{exercise}")),
            _ => e,
        })?;
        if ex.phase(Utc::now()) == shared::exercise::Phase::Ended {
            return Err(bad(format!("exercise #{exercise} has ended")));
        }
        self.access
            .create_kiosk(actor, name, expires_days, Some(exercise))
            .await
    }

    /// The exercise a kiosk link was made for, if any.
    pub async fn kiosk_exercise(&self, id: i64) -> Result<Option<i64>, ApiError> {
        self.access.kiosk_exercise(id).await
    }

    /// See [`crate::access::Access::kiosks`].
    pub async fn kiosks(&self) -> Result<Vec<TokenInfo>, ApiError> {
        self.access.kiosks().await
    }

    /// See [`crate::access::Access::revoke_kiosk`].
    pub async fn revoke_kiosk(&self, actor: &str, id: i64) -> Result<(), ApiError> {
        self.access.revoke_kiosk(actor, id).await
    }

    /// See [`crate::access::Access::principal_for_secret`].
    pub async fn principal_for_secret(&self, secret: &str) -> Result<Option<Principal>, ApiError> {
        self.access.principal_for_secret(secret).await
    }

    /// See [`crate::access::Access::live_kiosk`].
    pub async fn live_kiosk(&self, id: i64) -> Result<Option<(String, String, String)>, ApiError> {
        self.access.live_kiosk(id).await
    }

    /// See [`crate::access::Access::audit`].
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<Event>, ApiError> {
        self.access.audit(f).await
    }

    // Backup assets: forwarded to `assets`.
    /// See [`crate::assets::Assets::asset_snapshot`].
    pub async fn asset_snapshot(&self) -> Result<Arc<AssetSnapshot>, ApiError> {
        self.assets.asset_snapshot().await
    }

    /// See [`crate::assets::Assets::list_assets`].
    pub async fn list_assets(&self, filter: &AssetFilter) -> Result<AssetList, ApiError> {
        self.assets.list_assets(filter).await
    }

    /// Every asset matching `filter` (for exports), now or (`at`) as they
    /// stood at a moment. See [`crate::assets::Assets::assets_matching`].
    pub async fn assets_matching(
        &self,
        filter: &AssetFilter,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<Vec<Asset>, ApiError> {
        match at {
            None => self.assets.assets_matching(filter).await,
            Some(at) => Ok(self
                .state_at(at)
                .await?
                .assets
                .into_values()
                .filter(|a| filter.matches(a))
                .collect()),
        }
    }

    /// See [`crate::assets::Assets::asset_markers`].
    pub async fn asset_markers(
        &self,
        view: &View,
        zoom: u8,
        kinds: &[AssetKind],
    ) -> Result<Vec<AssetMarker>, ApiError> {
        self.assets.asset_markers(view, zoom, kinds).await
    }

    /// See [`crate::assets::Assets::asset`].
    pub async fn asset(&self, id: i64) -> Result<AssetDetail, ApiError> {
        self.assets.asset(id).await
    }

    /// See [`crate::assets::Assets::asset_as_of`].
    pub async fn asset_as_of(
        &self,
        id: i64,
        at: chrono::DateTime<Utc>,
    ) -> Result<AssetDetail, ApiError> {
        self.assets.asset_as_of(id, at).await
    }

    /// The asset list as it stood at `at`, rebuilt from the event log.
    pub async fn list_assets_as_of(
        &self,
        filter: &AssetFilter,
        at: chrono::DateTime<Utc>,
    ) -> Result<AssetList, ApiError> {
        let state = self.state_at(at).await?;
        Ok(AssetList::of(state.assets.values(), filter))
    }

    /// See [`crate::assets::Assets::create_asset`].
    pub async fn create_asset(&self, actor: &str, form: &AssetForm) -> Result<Asset, ApiError> {
        self.assets.create_asset(actor, form).await
    }

    /// See [`crate::assets::Assets::update_asset`].
    pub async fn update_asset(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError> {
        self.assets.update_asset(actor, id, version, form).await
    }

    /// See [`crate::assets::Assets::import_assets`].
    pub async fn import_assets(
        &self,
        actor: &str,
        format: ImportFormat,
        text: &str,
        write: bool,
    ) -> Result<AssetImportReport, ApiError> {
        self.assets.import_assets(actor, format, text, write).await
    }

    /// See [`crate::assets::Assets::seed_assets`].
    pub async fn seed_assets(
        &self,
        actor: &str,
        drafts: &[AssetDraft],
        source: &str,
    ) -> Result<usize, ApiError> {
        self.assets.seed_assets(actor, drafts, source).await
    }

    /// See [`crate::assets::Assets::seed_demo_assets`].
    pub async fn seed_demo_assets(&self) -> Result<usize, ApiError> {
        self.assets.seed_demo_assets().await
    }

    async fn load_reference(&self) -> Result<(), ApiError> {
        let mut tx = self.write().await?;
        let mut added = Vec::new();
        for c in self.cables.iter() {
            let exists: Option<String> =
                sqlx::query_scalar("SELECT abbrev FROM cables WHERE abbrev = $1")
                    .bind(&c.abbrev)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if exists.is_none() {
                sqlx::query("INSERT INTO cables (abbrev, data_json) VALUES ($1, $2)")
                    .bind(&c.abbrev)
                    .bind(serde_json::to_string(c).map_err(json_err)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                added.push(c.abbrev.clone());
            }
        }
        let mut stations_added = Vec::new();
        for s in self.stations.iter() {
            let exists: Option<String> =
                sqlx::query_scalar("SELECT id FROM stations WHERE id = $1")
                    .bind(&s.id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if exists.is_none() {
                sqlx::query("INSERT INTO stations (id, data_json) VALUES ($1, $2)")
                    .bind(&s.id)
                    .bind(serde_json::to_string(s).map_err(json_err)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                stations_added.push(s.id.clone());
            }
        }
        if !added.is_empty() || !stations_added.is_empty() {
            let after = serde_json::json!({"cables": added, "stations": stations_added});
            append_event(
                &mut tx,
                "system",
                kind::REFERENCE_LOADED,
                "reference",
                "cables-and-stations",
                None::<&()>,
                Some(&after),
            )
            .await?;
        }
        tx.commit().await
    }

    pub fn cables(&self) -> &[Cable] {
        &self.cables
    }

    pub fn stations(&self) -> &[Station] {
        &self.stations
    }

    pub fn cable_index(&self) -> CableIndex {
        CableIndex::new(self.cables.iter())
    }

    /// Faults, oldest detection first; `all` includes restored and closed ones.
    pub async fn faults(&self, all: bool) -> Result<Vec<Fault>, ApiError> {
        let list = self.fault_list().await?;
        Ok(list
            .iter()
            .filter(|f| all || f.status.is_active())
            .cloned()
            .collect())
    }

    /// Every fault, read from the table again only when a fault event was
    /// written since (every change to a fault row is one, in the same
    /// transaction): the list, the map, the board and the resilience figures
    /// ask for it on every render, and on SQLite each row read is a
    /// hand-off to the database thread. One indexed `MAX(seq)` per call
    /// keeps it exact across servers on one PostgreSQL: writers hold the
    /// log's advisory lock, so `seq` order is commit order and a seq seen
    /// committed has every smaller one committed too.
    async fn fault_list(&self) -> Result<Arc<Vec<Fault>>, ApiError> {
        let seq: i64 = sqlx::query_scalar(FAULT_SEQ)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        if let Ok(cache) = self.fault_cache.lock() {
            if let Some(c) = cache.as_ref().filter(|c| c.seq == seq) {
                return Ok(c.faults.clone());
            }
        }
        // The rows and the seq they are filed under, read in one transaction.
        let mut tx = self.pool().begin().await.map_err(db_err)?;
        let seq: i64 = sqlx::query_scalar(FAULT_SEQ)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let faults = sqlx::query(&format!(
            "SELECT {FAULT_COLS} FROM faults ORDER BY detected_on, id"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(fault_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(db_err)?;
        let faults = Arc::new(faults);
        if let Ok(mut cache) = self.fault_cache.lock() {
            *cache = Some(FaultList {
                seq,
                faults: faults.clone(),
            });
        }
        Ok(faults)
    }

    /// The fault as it stood at `at`, rebuilt from its own events up to
    /// then: its history and ETA revisions up to then, no model estimate (the
    /// model speaks of today). A fault not yet logged then is not found.
    pub async fn fault_as_of(
        &self,
        id: i64,
        at: chrono::DateTime<Utc>,
    ) -> Result<FaultDetail, ApiError> {
        let events = self.log.entity_events("fault", id, Some(at)).await?;
        let fault = crate::log::fold(&events, at)?
            .faults
            .remove(&id)
            .ok_or_else(|| ApiError::not_found(format!("no fault #{id} at that moment")))?;
        let eta_history = shared::repair::eta_history(&events);
        Ok(FaultDetail {
            estimate: None,
            fault,
            slip_days: shared::repair::slip_days(&eta_history),
            eta_history,
            events,
        })
    }

    /// The fault of that id as it stands, if there is one.
    pub(crate) async fn fault_row(&self, id: i64) -> Result<Option<Fault>, ApiError> {
        sqlx::query(&format!("SELECT {FAULT_COLS} FROM faults WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(fault_from_row)
            .transpose()
    }

    pub async fn fault(&self, id: i64) -> Result<FaultDetail, ApiError> {
        let fault = self
            .fault_row(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no fault #{id}")))?;
        let events = self.log.entity_events("fault", id, None).await?;
        let eta_history = shared::repair::eta_history(&events);
        // The same estimate as on the repair board: its ship and queue count.
        let estimate = if fault.status.is_active() {
            self.repairs_board()
                .await?
                .faults
                .into_iter()
                .find(|r| r.id == fault.id)
                .and_then(|r| r.estimate)
        } else {
            None
        };
        Ok(FaultDetail {
            estimate,
            fault,
            slip_days: shared::repair::slip_days(&eta_history),
            eta_history,
            events,
        })
    }

    /// The database's own consistency check: `ok`, or what it found.
    /// SQLite runs `PRAGMA integrity_check`; on both engines every fault and
    /// maintenance row and every asset must have at least one event.
    pub async fn integrity_check(&self) -> Result<String, ApiError> {
        let mut problems = Vec::new();
        if self.engine() == Engine::Sqlite {
            let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
            if rows != ["ok"] {
                problems.extend(rows);
            }
        }
        for (table, entity) in [("faults", "fault"), ("assets", "asset")] {
            let orphans: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM events e \
                 WHERE e.entity_type = '{entity}' AND e.entity_id = CAST(t.id AS TEXT))"
            ))
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
            if orphans > 0 {
                problems.push(format!("{orphans} {entity}(s) without an event"));
            }
        }
        Ok(if problems.is_empty() {
            "ok".to_string()
        } else {
            problems.join("\n")
        })
    }

    fn validate(&self, form: &FaultForm) -> Result<FaultDraft, ApiError> {
        form.validate(
            &self.cable_index(),
            &self.stations,
            shared::history::taipei_day(&Utc::now()),
        )
        .map_err(ApiError::invalid)
    }

    /// Logs a new fault from an officer's form.
    pub async fn create_fault(&self, actor: &str, form: &FaultForm) -> Result<Fault, ApiError> {
        let draft = self.validate(form)?;
        let mut tx = self.write().await?;
        let fault = insert_fault(&mut tx, actor, &draft, actor).await?;
        crate::resilience::commit(tx).await?;
        Ok(fault)
    }

    /// Edits a fault; refused with a conflict unless `version` is current.
    pub async fn update_fault(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError> {
        let draft = self.validate(form)?;
        let mut tx = self.write().await?;
        let fault = update_fault_tx(&mut tx, actor, id, version, &draft).await?;
        crate::resilience::commit(tx).await?;
        Ok(fault)
    }

    /// Parses a notice off the async workers (a write lane's thread stays
    /// free for writes), after refusing text larger than any real notice.
    async fn parse(&self, text: &str) -> Result<shared::notice::ParsedNotice, ApiError> {
        self.notice_work(text, |_| Ok(())).await.map(|(p, ())| p)
    }

    /// Parses `text` off the async workers (and off the write lane's
    /// thread), one notice at a time server-wide, then runs `then` on the
    /// parsed notice in the same blocking task.
    async fn notice_work<T: Send + 'static>(
        &self,
        text: &str,
        then: impl FnOnce(&shared::notice::ParsedNotice) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<(shared::notice::ParsedNotice, T), ApiError> {
        shared::notice::check_notice_size(text).map_err(ApiError::too_large)?;
        let _permit = self
            .notice_work
            .acquire()
            .await
            .map_err(|_| ApiError::internal())?;
        let (text, cables, stations) =
            (text.to_string(), self.cables.clone(), self.stations.clone());
        tokio::task::spawn_blocking(move || {
            let parsed = parse_notice(&text, &cables, &stations);
            let more = then(&parsed)?;
            Ok((parsed, more))
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the notice parser did not finish");
            ApiError::internal()
        })?
    }

    /// What importing `text` would change, without writing anything. Parse
    /// and plan run off the async workers; a preview never runs on the write
    /// lane (`lane::is_write`).
    pub async fn preview_notice(&self, text: &str) -> Result<NoticeReport, ApiError> {
        shared::notice::check_notice_size(text).map_err(ApiError::too_large)?;
        let existing = self.faults(true).await?;
        let (parsed, plan) = self
            .notice_work(text, move |parsed| {
                if !parsed.errors.is_empty() {
                    return Err(ApiError::bad_notice(parsed.errors.clone()));
                }
                plan_import(&parsed.notice, &existing).map_err(ApiError::bad_notice)
            })
            .await?;
        Ok(NoticeReport {
            plan,
            warnings: parsed.warnings,
            events_written: 0,
        })
    }

    /// Imports a notice: all of it in one transaction, or nothing.
    pub async fn import_notice(&self, actor: &str, text: &str) -> Result<NoticeReport, ApiError> {
        let parsed = self.parse(text).await?;
        if !parsed.errors.is_empty() {
            return Err(ApiError::bad_notice(parsed.errors));
        }
        let mut tx = self.write().await?;
        let existing: Vec<Fault> = sqlx::query(&format!("SELECT {FAULT_COLS} FROM faults"))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .iter()
            .map(fault_from_row)
            .collect::<Result<_, _>>()?;
        let plan = plan_import(&parsed.notice, &existing).map_err(ApiError::bad_notice)?;
        let provenance = match parsed.notice.date {
            Some(d) => format!("notice {d}"),
            None => "notice".to_string(),
        };
        let mut events = 0;
        let maintenance_new = self.new_maintenance(&mut tx, &parsed.notice).await?;
        let maintenance_done = maintenance_completed_by(&mut tx, &parsed.notice).await?;
        if !plan.changes.is_empty() || !maintenance_new.is_empty() || !maintenance_done.is_empty() {
            let notice_id: i64 = sqlx::query_scalar(
                "INSERT INTO notices (dated, imported_at, actor, body) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(date_str(parsed.notice.date))
            .bind(now())
            .bind(actor)
            .bind(text)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let summary = serde_json::json!({
                "dated": parsed.notice.date,
                "new": plan.count(ChangeKind::New),
                "updated": plan.count(ChangeKind::Updated),
                "restored": plan.count(ChangeKind::Restored),
                "maintenance": maintenance_new.len(),
                "maintenance_completed": maintenance_done.len(),
            });
            append_event(
                &mut tx,
                actor,
                kind::NOTICE_IMPORTED,
                "notice",
                &notice_id.to_string(),
                None::<&()>,
                Some(&summary),
            )
            .await?;
            events += 1;
            for change in &plan.changes {
                match (change.fault_id, change.version) {
                    (Some(id), Some(version)) => {
                        update_fault_tx(&mut tx, actor, id, version, &change.after).await?;
                    }
                    _ => {
                        insert_fault(&mut tx, actor, &change.after, &provenance).await?;
                    }
                }
                events += 1;
            }
            for m in &maintenance_new {
                insert_maintenance(&mut tx, actor, m, &provenance).await?;
                events += 1;
            }
            for (m, completed_on) in &maintenance_done {
                complete_maintenance_tx(&mut tx, actor, m, *completed_on).await?;
                events += 1;
            }
        }
        crate::resilience::commit(tx).await?;
        Ok(NoticeReport {
            plan,
            warnings: parsed.warnings,
            events_written: events,
        })
    }

    /// Planned maintenance rows of the notice not yet recorded.
    async fn new_maintenance(
        &self,
        conn: &mut AnyConnection,
        notice: &shared::notice::Notice,
    ) -> Result<Vec<MaintenanceLine>, ApiError> {
        let known = maintenance_rows(conn, true).await?;
        Ok(notice
            .maintenance
            .iter()
            .map(|m| MaintenanceLine {
                cable: m.cable.clone(),
                eta: m.eta,
                description: m.description.clone(),
                alternate_routes: m.alternate_routes.clone(),
            })
            .filter(|m| !known.iter().any(|k| k.line == *m))
            .collect())
    }

    /// Planned maintenance that is not completed.
    pub async fn maintenance(&self) -> Result<Vec<Maintenance>, ApiError> {
        let mut conn = self.pool().acquire().await.map_err(db_err)?;
        maintenance_rows(&mut conn, false).await
    }

    /// Records planned maintenance from an officer's form.
    pub async fn record_maintenance(
        &self,
        actor: &str,
        form: &MaintenanceForm,
    ) -> Result<Maintenance, ApiError> {
        let line = form
            .validate(&self.cable_index())
            .map_err(ApiError::invalid)?;
        let mut tx = self.write().await?;
        let id = insert_maintenance(&mut tx, actor, &line, actor).await?;
        crate::resilience::commit(tx).await?;
        Ok(Maintenance {
            id,
            line,
            status: "planned".into(),
            completed_on: None,
            version: 1,
        })
    }

    /// Marks planned maintenance completed; refused with a conflict unless
    /// `version` is current.
    pub async fn complete_maintenance(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        completed_on: NaiveDate,
    ) -> Result<Maintenance, ApiError> {
        let mut tx = self.write().await?;
        let before = maintenance_rows(&mut tx, true)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| ApiError::not_found(format!("no maintenance {id}")))?;
        if before.version != version {
            return Err(ApiError::conflict(format!(
                "maintenance {id} was changed by someone else (now version {}); reload it",
                before.version
            )));
        }
        if before.status == "completed" {
            return Err(ApiError::conflict(format!(
                "maintenance {id} is already completed"
            )));
        }
        let after = complete_maintenance_tx(&mut tx, actor, &before, completed_on).await?;
        crate::resilience::commit(tx).await?;
        Ok(after)
    }

    /// The notice in the ministry's layout, dated `dated`: of the faults and
    /// maintenance open now (`at: None`), or as they stood at a moment,
    /// rebuilt from the event log.
    pub async fn export_notice(
        &self,
        dated: NaiveDate,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<String, ApiError> {
        // Every fault: restored ones become the footnotes.
        let (faults, maint) = self.faults_and_maintenance(true, at).await?;
        Ok(write_notice(dated, &faults, &maint, &self.cables))
    }
}

/// Planned maintenance still open that a "計畫性維修已於…完成" footnote of
/// `notice` completes, with the completion date.
async fn maintenance_completed_by(
    conn: &mut AnyConnection,
    notice: &shared::notice::Notice,
) -> Result<Vec<(Maintenance, NaiveDate)>, ApiError> {
    if notice.maintenance_done.is_empty() {
        return Ok(Vec::new());
    }
    let open = maintenance_rows(conn, false).await?;
    Ok(open
        .into_iter()
        .filter_map(|m| {
            notice
                .maintenance_done
                .iter()
                .find(|d| d.cable == m.line.cable)
                .map(|d| (m, d.completed_on))
        })
        .collect())
}

/// Inserts planned maintenance and its event; returns its id.
async fn insert_maintenance(
    tx: &mut WriteTx,
    actor: &str,
    m: &MaintenanceLine,
    provenance: &str,
) -> Result<i64, ApiError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO maintenance (cable, eta_precision, eta_date, description, \
         alternate_routes_json, status, completed_on, provenance, version) \
         VALUES ($1, $2, $3, $4, $5, 'planned', NULL, $6, 1) RETURNING id",
    )
    .bind(&m.cable)
    .bind(m.eta.precision.as_str())
    .bind(date_str(m.eta.date))
    .bind(&m.description)
    .bind(serde_json::to_string(&m.alternate_routes).map_err(json_err)?)
    .bind(provenance)
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    append_event(
        tx,
        actor,
        kind::MAINTENANCE_RECORDED,
        "maintenance",
        &id.to_string(),
        None::<&()>,
        Some(m),
    )
    .await?;
    Ok(id)
}

/// Marks maintenance completed and logs the change.
async fn complete_maintenance_tx(
    tx: &mut WriteTx,
    actor: &str,
    before: &Maintenance,
    completed_on: NaiveDate,
) -> Result<Maintenance, ApiError> {
    let after = Maintenance {
        status: "completed".into(),
        completed_on: Some(completed_on),
        version: before.version + 1,
        ..before.clone()
    };
    sqlx::query(
        "UPDATE maintenance SET status = $1, completed_on = $2, version = $3 \
         WHERE id = $4 AND version = $5",
    )
    .bind(&after.status)
    .bind(completed_on.to_string())
    .bind(after.version)
    .bind(before.id)
    .bind(before.version)
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    append_event(
        tx,
        actor,
        kind::MAINTENANCE_UPDATED,
        "maintenance",
        &before.id.to_string(),
        Some(before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// The stored fault a draft becomes, at `version`.
fn fault_from_draft(id: i64, d: &FaultDraft, provenance: &str, version: i64) -> Fault {
    Fault {
        id,
        cable: d.cable.clone(),
        detected_on: d.detected_on,
        kind: d.kind,
        description: d.description.clone(),
        chainage: d.chainage.clone(),
        alternate_routes: d.alternate_routes.clone(),
        eta: d.eta,
        status: d.status,
        restored_on: d.restored_on,
        notes: d.notes.clone(),
        capacity_lost_pct: d.capacity_lost_pct,
        provenance: provenance.to_string(),
        version,
    }
}

async fn id_with_key(conn: &mut AnyConnection, key: &str) -> Result<Option<i64>, ApiError> {
    sqlx::query_scalar("SELECT id FROM faults WHERE fault_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)
}

async fn insert_fault(
    tx: &mut WriteTx,
    actor: &str,
    d: &FaultDraft,
    provenance: &str,
) -> Result<Fault, ApiError> {
    let key = d.key();
    if let Some(id) = id_with_key(tx.conn(), &key).await? {
        return Err(ApiError::conflict(format!(
            "this fault (same cable, date and place) is already recorded as #{id}"
        )));
    }
    let ts = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO faults (fault_key, cable, detected_on, kind, description, place, station, km, \
         alternate_routes_json, eta_precision, eta_date, status, restored_on, notes, provenance, \
         version, created_at, updated_at, capacity_lost_pct) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16, \
         CAST($17 AS DOUBLE PRECISION)) \
         RETURNING id",
    )
    .bind(&key)
    .bind(&d.cable)
    .bind(date_str(d.detected_on))
    .bind(d.kind.as_str())
    .bind(&d.description)
    .bind(&d.chainage.place)
    .bind(d.chainage.station.clone())
    .bind(d.chainage.km)
    .bind(serde_json::to_string(&d.alternate_routes).map_err(json_err)?)
    .bind(d.eta.precision.as_str())
    .bind(date_str(d.eta.date))
    .bind(d.status.as_str())
    .bind(date_str(d.restored_on))
    .bind(&d.notes)
    .bind(provenance)
    .bind(&ts)
    .bind(opt_f64(d.capacity_lost_pct))
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    let fault = fault_from_draft(id, d, provenance, 1);
    let seq = append_event(
        tx,
        actor,
        kind::FAULT_REPORTED,
        "fault",
        &id.to_string(),
        None::<&()>,
        Some(&fault),
    )
    .await?;
    crate::watch::raise_alerts(tx, seq, None, &fault).await?;
    Ok(fault)
}

async fn update_fault_tx(
    tx: &mut WriteTx,
    actor: &str,
    id: i64,
    version: i64,
    d: &FaultDraft,
) -> Result<Fault, ApiError> {
    let row = sqlx::query(&format!("SELECT {FAULT_COLS} FROM faults WHERE id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await
        .map_err(db_err)?
        .ok_or_else(|| ApiError::not_found(format!("no fault #{id}")))?;
    let before = fault_from_row(&row)?;
    if before.version != version {
        return Err(ApiError::conflict(format!(
            "fault #{id} was changed by someone else since you opened it (you edited version {version}, it is now version {}); reload it, your text is kept",
            before.version
        )));
    }
    if !before.status.can_become(d.status) {
        return Err(ApiError::invalid(vec![shared::fault::FieldError::new(
            "status",
            "bad_transition",
            format!(
                "a {} fault cannot become {}",
                before.status.as_str(),
                d.status.as_str()
            ),
        )]));
    }
    let key = d.key();
    if let Some(other) = id_with_key(tx.conn(), &key).await? {
        if other != id {
            return Err(ApiError::conflict(format!(
                "another fault with the same cable, date and place is already recorded as #{other}"
            )));
        }
    }
    let done = sqlx::query(
        "UPDATE faults SET fault_key = $1, cable = $2, detected_on = $3, kind = $4, description = $5, \
         place = $6, station = $7, km = $8, alternate_routes_json = $9, eta_precision = $10, \
         eta_date = $11, status = $12, restored_on = $13, notes = $14, version = version + 1, \
         updated_at = $15, capacity_lost_pct = CAST($18 AS DOUBLE PRECISION) WHERE id = $16 AND version = $17",
    )
    .bind(&key)
    .bind(&d.cable)
    .bind(date_str(d.detected_on))
    .bind(d.kind.as_str())
    .bind(&d.description)
    .bind(&d.chainage.place)
    .bind(d.chainage.station.clone())
    .bind(d.chainage.km)
    .bind(serde_json::to_string(&d.alternate_routes).map_err(json_err)?)
    .bind(d.eta.precision.as_str())
    .bind(date_str(d.eta.date))
    .bind(d.status.as_str())
    .bind(date_str(d.restored_on))
    .bind(&d.notes)
    .bind(now())
    .bind(id)
    .bind(version)
    .bind(opt_f64(d.capacity_lost_pct))
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(format!(
            "fault #{id} was changed by someone else since you opened it"
        )));
    }
    let after = fault_from_draft(id, d, &before.provenance, version + 1);
    let ev = if d.status == FaultStatus::Restored && before.status != FaultStatus::Restored {
        kind::FAULT_RESTORED
    } else {
        kind::FAULT_UPDATED
    };
    let seq = append_event(
        tx,
        actor,
        ev,
        "fault",
        &id.to_string(),
        Some(&before),
        Some(&after),
    )
    .await?;
    crate::watch::raise_alerts(tx, seq, Some(&before), &after).await?;
    Ok(after)
}
