//! The registry: the only module that knows SQL. Every write appends to the
//! event log and updates the current-state tables in one transaction.
//! REST handlers, server functions and the CLI all call these methods.

use std::sync::Arc;

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Executor, Row};
use tokio::sync::Mutex;

use shared::api::{ApiError, FaultDetail, NoticeReport};
use shared::event::{kind, Event};
use shared::fault::{Chainage, Fault, FaultDraft, FaultForm, FaultKind, FaultStatus};
use shared::import::{plan_import, ChangeKind};
use shared::maintenance::{Maintenance, MaintenanceForm};
use shared::notice::{parse_notice, write_notice, MaintenanceLine};
use shared::reference::{Cable, CableIndex, Station};
use shared::roc::{Eta, EtaPrecision};

use crate::db::Engine;

/// Errors of the store: domain errors pass through to the caller; database
/// errors are logged here and reported as `internal`.
pub(crate) fn db_err(e: sqlx::Error) -> ApiError {
    tracing::error!(error = %e, "database error");
    if is_storage_full(&e) {
        ApiError::storage_full()
    } else {
        ApiError::internal()
    }
}

/// SQLite's `SQLITE_FULL` (13) or PostgreSQL's `disk_full` (53100).
fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("13" | "53100")),
        sqlx::Error::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}

pub(crate) fn json_err(e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "stored JSON does not parse");
    ApiError::internal()
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn date_str(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

fn parse_date(s: Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    s.map(|s| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
            tracing::error!(error = %e, value = %s, "stored date does not parse");
            ApiError::internal()
        })
    })
    .transpose()
}

const FAULT_COLS: &str = "id, cable, detected_on, kind, description, place, station, km, \
    alternate_routes_json, eta_precision, eta_date, status, restored_on, notes, provenance, version";

fn fault_from_row(r: &AnyRow) -> Result<Fault, ApiError> {
    let get_s = |c: &str| r.try_get::<String, _>(c).map_err(db_err);
    let get_os = |c: &str| r.try_get::<Option<String>, _>(c).map_err(db_err);
    let kind = FaultKind::parse(&get_s("kind")?).unwrap_or(FaultKind::Other);
    let status = FaultStatus::parse(&get_s("status")?).unwrap_or(FaultStatus::Open);
    let precision = EtaPrecision::parse(&get_s("eta_precision")?).unwrap_or(EtaPrecision::Unknown);
    let eta = Eta::from_parts(precision, parse_date(get_os("eta_date")?)?).unwrap_or(Eta::UNKNOWN);
    Ok(Fault {
        id: r.try_get("id").map_err(db_err)?,
        cable: get_s("cable")?,
        detected_on: parse_date(get_os("detected_on")?)?,
        kind,
        description: get_s("description")?,
        chainage: Chainage {
            place: get_s("place")?,
            station: get_os("station")?,
            km: r.try_get("km").map_err(db_err)?,
        },
        alternate_routes: serde_json::from_str(&get_s("alternate_routes_json")?)
            .map_err(json_err)?,
        eta,
        status,
        restored_on: parse_date(get_os("restored_on")?)?,
        notes: get_s("notes")?,
        provenance: get_s("provenance")?,
        version: r.try_get("version").map_err(db_err)?,
    })
}

/// An event row's `at` (stored as RFC 3339 text).
pub(crate) fn event_time(r: &AnyRow) -> Result<chrono::DateTime<Utc>, ApiError> {
    let at: String = r.try_get("at").map_err(db_err)?;
    chrono::DateTime::parse_from_rfc3339(&at)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            tracing::error!(error = %e, "stored event time does not parse");
            ApiError::internal()
        })
}

pub(crate) fn event_from_row(r: &AnyRow) -> Result<Event, ApiError> {
    let parse_json = |c: &str| -> Result<Option<serde_json::Value>, ApiError> {
        r.try_get::<Option<String>, _>(c)
            .map_err(db_err)?
            .map(|s| serde_json::from_str(&s).map_err(json_err))
            .transpose()
    };
    Ok(Event {
        seq: r.try_get("seq").map_err(db_err)?,
        at: event_time(r)?,
        actor: r.try_get("actor").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        entity_type: r.try_get("entity_type").map_err(db_err)?,
        entity_id: r.try_get("entity_id").map_err(db_err)?,
        before: parse_json("before_json")?,
        after: parse_json("after_json")?,
    })
}

/// Appends one event to the log, inside a write transaction: there is no
/// other way to append, so no event can commit outside the writer lock.
pub(crate) async fn append_event(
    tx: &mut WriteTx,
    actor: &str,
    kind: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> Result<i64, ApiError> {
    let enc = |v: Option<&dyn erased::Ser>| -> Result<Option<String>, ApiError> {
        v.map(|v| v.to_json()).transpose().map_err(json_err)
    };
    let before = enc(before.map(|b| b as &dyn erased::Ser))?;
    let after = enc(after.map(|a| a as &dyn erased::Ser))?;
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO events (at, actor, kind, entity_type, entity_id, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(now())
    .bind(actor)
    .bind(kind)
    .bind(entity_type)
    .bind(entity_id)
    .bind(before)
    .bind(after)
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)
}

mod erased {
    pub trait Ser {
        fn to_json(&self) -> Result<String, serde_json::Error>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> Result<String, serde_json::Error> {
            serde_json::to_string(self)
        }
    }
}

/// A write transaction, the only way to append to the log: holds this
/// process's writer lock and, on PostgreSQL, an advisory transaction lock
/// shared by every server, so event `seq`s commit in order (the live stream
/// relies on it). On SQLite it begins `IMMEDIATE`, taking the database's
/// write lock before its first read, so it never fails to upgrade a read
/// lock under load. Committing wakes the live stream.
///
/// A write is acknowledged only after a commit that succeeded. After a
/// failed `COMMIT` (a full disk) the connection is rolled back and closed,
/// never returned to the pool: SQLite may have left its transaction open,
/// and later writes on it would land in a transaction that is never
/// committed. Dropped without a commit, it rolls back (still holding the
/// writer lock until that is done).
pub(crate) struct WriteTx {
    conn: Option<PoolConnection<sqlx::Any>>,
    writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    live: crate::live::Live,
    health: Arc<StorageHealth>,
}

/// The advisory lock key every cablewatch writer takes on PostgreSQL.
const WRITER_LOCK: i64 = 0x6361_626c_6577;

impl WriteTx {
    /// The connection, to run statements in the transaction.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        // Only `commit`, `rollback` and `drop` take the connection, and they consume `self`.
        self.conn
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a WriteTx always holds its connection"))
    }

    /// Commits; `Err` means nothing of the transaction was kept.
    pub(crate) async fn commit(mut self) -> Result<(), ApiError> {
        let Some(mut conn) = self.conn.take() else {
            return Err(ApiError::internal());
        };
        match conn.execute("COMMIT").await {
            Ok(_) => {
                self.health.write_ok();
                self.live.poke();
                Ok(())
            }
            Err(e) => {
                let err = db_err(e);
                self.health.write_failed(&err);
                let _ = conn.execute("ROLLBACK").await;
                // Never reuse a connection whose COMMIT failed.
                conn.close_on_drop();
                drop(conn);
                Err(err)
            }
        }
    }

    /// Rolls back (what an early return does too, by dropping).
    pub(crate) async fn rollback(mut self) -> Result<(), ApiError> {
        if let Some(mut conn) = self.conn.take() {
            if let Err(e) = conn.execute("ROLLBACK").await {
                conn.close_on_drop();
                return Err(db_err(e));
            }
        }
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn
            .as_deref()
            .unwrap_or_else(|| unreachable!("a WriteTx always holds its connection"))
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn()
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let writer = self.writer.take();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if conn.execute("ROLLBACK").await.is_err() {
                        conn.close_on_drop();
                    }
                    drop(conn);
                    drop(writer);
                });
            }
            Err(_) => {
                // No runtime to roll back on: closing the connection rolls back.
                conn.close_on_drop();
            }
        }
    }
}

/// Whether the last write could be stored: a full disk (or another
/// storage failure) is reported by `/api/v1/healthz` until a write succeeds.
#[derive(Default)]
pub(crate) struct StorageHealth {
    full: std::sync::atomic::AtomicBool,
}

impl StorageHealth {
    fn write_ok(&self) {
        self.full.store(false, std::sync::atomic::Ordering::Release);
    }
    fn write_failed(&self, e: &ApiError) {
        if e.error == "storage_full" {
            self.full.store(true, std::sync::atomic::Ordering::Release);
        }
    }
    pub(crate) fn full(&self) -> bool {
        self.full.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The fault registry on one database.
#[derive(Clone)]
pub struct Registry {
    pub(crate) pool: AnyPool,
    engine: Engine,
    /// SQLite allows one writer: writes queue here instead of failing busy.
    pub(crate) write_lock: Arc<Mutex<()>>,
    cables: Arc<Vec<Cable>>,
    stations: Arc<Vec<Station>>,
    /// The asset registry as last read, with its map index (see `assets`).
    pub(crate) asset_cache: crate::assets::AssetCache,
    /// The live tail of the event log (see `live`).
    live: crate::live::Live,
    /// Whether writes can be stored (a full disk says no).
    pub(crate) health: Arc<StorageHealth>,
    /// One notice parse (and preview plan) at a time, server-wide: a notice
    /// at the size limit costs tens of milliseconds of a core, and two at
    /// once would take both cores from the writes and the live stream.
    notice_work: Arc<tokio::sync::Semaphore>,
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
        let reg = Self {
            pool,
            engine,
            write_lock: Arc::new(Mutex::new(())),
            cables: Arc::new(cables),
            stations: Arc::new(stations),
            asset_cache: Default::default(),
            live: Default::default(),
            health: Default::default(),
            notice_work: Arc::new(tokio::sync::Semaphore::new(1)),
        };
        reg.load_reference().await?;
        Ok(reg)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The live event stream of this server.
    pub fn live(&self) -> &crate::live::Live {
        &self.live
    }

    /// Begins a write: see [`WriteTx`].
    pub(crate) async fn write(&self) -> Result<WriteTx, ApiError> {
        let writer = self.write_lock.clone().lock_owned().await;
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let begin = match self.engine {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        };
        conn.execute(begin).await.map_err(db_err)?;
        let mut tx = WriteTx {
            conn: Some(conn),
            writer: Some(writer),
            live: self.live.clone(),
            health: self.health.clone(),
        };
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITER_LOCK)
                .execute(tx.conn())
                .await
                .map_err(db_err)?;
        }
        Ok(tx)
    }

    /// Whether the last write failed because storage is full.
    pub fn storage_full(&self) -> bool {
        self.health.full()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
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
        let sql = if all {
            format!("SELECT {FAULT_COLS} FROM faults ORDER BY detected_on, id")
        } else {
            format!(
                "SELECT {FAULT_COLS} FROM faults WHERE status IN ('open', 'repair_scheduled', 'repairing') \
                 ORDER BY detected_on, id"
            )
        };
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(fault_from_row)
            .collect()
    }

    pub async fn fault(&self, id: i64) -> Result<FaultDetail, ApiError> {
        let row = sqlx::query(&format!("SELECT {FAULT_COLS} FROM faults WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| ApiError::not_found(format!("no fault #{id}")))?;
        let fault = fault_from_row(&row)?;
        let events = sqlx::query(
            "SELECT seq, at, actor, kind, entity_type, entity_id, before_json, after_json \
             FROM events WHERE entity_type = 'fault' AND entity_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(event_from_row)
        .collect::<Result<_, _>>()?;
        Ok(FaultDetail { fault, events })
    }

    /// The database's own consistency check: `ok`, or what it found.
    /// SQLite runs `PRAGMA integrity_check`; on both engines every fault and
    /// maintenance row and every asset must have at least one event.
    pub async fn integrity_check(&self) -> Result<String, ApiError> {
        let mut problems = Vec::new();
        if self.engine == Engine::Sqlite {
            let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_all(&self.pool)
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
            .fetch_one(&self.pool)
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

    /// Number of events in the log.
    pub async fn event_count(&self) -> Result<i64, ApiError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    fn validate(&self, form: &FaultForm) -> Result<FaultDraft, ApiError> {
        form.validate(&self.cable_index(), &self.stations, Utc::now().date_naive())
            .map_err(ApiError::invalid)
    }

    /// Logs a new fault from an officer's form.
    pub async fn create_fault(&self, actor: &str, form: &FaultForm) -> Result<Fault, ApiError> {
        let draft = self.validate(form)?;
        let mut tx = self.write().await?;
        let fault = insert_fault(&mut tx, actor, &draft, actor).await?;
        tx.commit().await?;
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
        tx.commit().await?;
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
        shared::notice::check_notice_size(text).map_err(|m| ApiError::new("too_large", m))?;
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
        shared::notice::check_notice_size(text).map_err(|m| ApiError::new("too_large", m))?;
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
        tx.commit().await?;
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
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
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
        tx.commit().await?;
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
        tx.commit().await?;
        Ok(after)
    }

    /// The notice as it stood on `as_of`, in the ministry's layout.
    pub async fn export_notice(&self, as_of: NaiveDate) -> Result<String, ApiError> {
        let faults = self.faults(true).await?;
        let maint: Vec<MaintenanceLine> = self
            .maintenance()
            .await?
            .into_iter()
            .map(|m| m.line)
            .collect();
        Ok(write_notice(as_of, &faults, &maint, &self.cables))
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

async fn maintenance_rows(
    conn: &mut AnyConnection,
    include_completed: bool,
) -> Result<Vec<Maintenance>, ApiError> {
    let cols = "id, cable, eta_precision, eta_date, description, alternate_routes_json, \
                status, completed_on, version";
    let sql = if include_completed {
        format!("SELECT {cols} FROM maintenance ORDER BY id")
    } else {
        format!("SELECT {cols} FROM maintenance WHERE status <> 'completed' ORDER BY id")
    };
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            let precision =
                EtaPrecision::parse(&r.try_get::<String, _>("eta_precision").map_err(db_err)?)
                    .unwrap_or(EtaPrecision::Unknown);
            let date = parse_date(r.try_get("eta_date").map_err(db_err)?)?;
            Ok(Maintenance {
                id: r.try_get("id").map_err(db_err)?,
                line: MaintenanceLine {
                    cable: r.try_get("cable").map_err(db_err)?,
                    eta: Eta::from_parts(precision, date).unwrap_or(Eta::UNKNOWN),
                    description: r.try_get("description").map_err(db_err)?,
                    alternate_routes: serde_json::from_str(
                        &r.try_get::<String, _>("alternate_routes_json")
                            .map_err(db_err)?,
                    )
                    .map_err(json_err)?,
                },
                status: r.try_get("status").map_err(db_err)?,
                completed_on: parse_date(r.try_get("completed_on").map_err(db_err)?)?,
                version: r.try_get("version").map_err(db_err)?,
            })
        })
        .collect()
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
         version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16) RETURNING id",
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
         updated_at = $15 WHERE id = $16 AND version = $17",
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
