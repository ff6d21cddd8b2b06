//! The event log: the write transaction (the only way to append an event),
//! appending, and reading the log back. Every store writes through
//! [`Log::write`]; the live stream reads through [`Log::live_events_after`].

use std::sync::Arc;

use serde::Serialize;
use shared::api::ApiError;
use shared::event::Event;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Executor, Row};
use tokio::sync::{Mutex, Notify};

use crate::db::Engine;
use crate::store::{db_err, event_from_row, json_err, now, StorageHealth};

/// The counter of events appended to the log and committed (exercise
/// layers not counted), exported by `metrics`.
pub const EVENTS_WRITTEN: &str = "cablewatch_events_written_total";

/// The log of one database: its pool, engine, this process's writer lock
/// and the storage health. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    pool: AnyPool,
    engine: Engine,
    /// SQLite allows one writer: writes queue here instead of failing busy.
    write_lock: Arc<Mutex<()>>,
    /// Whether writes can be stored (a full disk says no).
    health: Arc<StorageHealth>,
    /// Notified after every commit (the live pump waits on it).
    committed: Arc<Notify>,
    /// Notified after every commit too, for the notification sender (a
    /// `Notify` wakes one waiter: each has its own).
    outbox: Arc<Notify>,
}

impl Log {
    pub fn new(pool: AnyPool, engine: Engine) -> Self {
        Self {
            pool,
            engine,
            write_lock: Arc::new(Mutex::new(())),
            health: Default::default(),
            committed: Arc::new(Notify::new()),
            outbox: Arc::new(Notify::new()),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// What a commit notifies (the live pump's wake-up).
    pub(crate) fn committed(&self) -> Arc<Notify> {
        self.committed.clone()
    }

    /// What a commit notifies for the notification sender.
    pub(crate) fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// Begins a write: see [`WriteTx`].
    pub(crate) async fn write(&self) -> Result<WriteTx, ApiError> {
        let writer = tokio::time::timeout(WRITE_WAIT, self.write_lock.clone().lock_owned())
            .await
            .map_err(|_| {
                tracing::warn!("a write waited its limit for this server's writer lock");
                ApiError::busy()
            })?;
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let begin = match self.engine {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        };
        conn.execute(begin).await.map_err(db_err)?;
        let mut tx = WriteTx {
            conn: Some(conn),
            writer: Some(writer),
            committed: self.committed.clone(),
            outbox: self.outbox.clone(),
            health: self.health.clone(),
            appended: 0,
        };
        if self.engine == Engine::Postgres {
            // Another server's writer holds the lock at most this long
            // before this write gives up with `busy` (never waits forever).
            tx.conn()
                .execute(WRITER_LOCK_WAIT_SQL)
                .await
                .map_err(db_err)?;
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

    /// How many events the log holds.
    pub async fn event_count(&self) -> Result<i64, ApiError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    /// The newest `seq` in the log (0 when empty).
    pub async fn last_seq(&self) -> Result<i64, ApiError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    /// Up to `limit` events after `after`, in order.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>, ApiError> {
        sqlx::query(
            "SELECT seq, at, actor, kind, entity_type, entity_id, before_json, after_json \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    /// For each record the history folds (fault, maintenance line, repair
    /// stage, ship state, asset), its last event up to and including `at`, in log
    /// order: what [`shared::history::state_at`] folds into the state at
    /// that moment. A record's earlier events are never read, so the cost
    /// follows the number of records, not the length of the log.
    pub async fn record_events_until(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Event>, ApiError> {
        // One row per record: a fault's own events and its repair stage
        // (`repair.updated`), an asset's own events and its ship state
        // (`ship.updated`), are two records of one entity, hence the third
        // grouping term. The covering index `events_record_at` answers the
        // inner query without reading a stored snapshot.
        let mut q = sqlx::query(
            "SELECT seq, at, actor, kind, entity_type, entity_id, NULL AS before_json, after_json \
             FROM events WHERE seq IN ( \
               SELECT MAX(seq) FROM events \
               WHERE kind IN ($1, $2, $3, $4, $5, $6, $7, $8, $9) AND at <= $10 \
               GROUP BY entity_type, entity_id, \
                 CASE WHEN kind = $11 THEN 1 WHEN kind = $12 THEN 2 ELSE 0 END) \
             ORDER BY seq",
        );
        for k in shared::history::KINDS {
            q = q.bind(k);
        }
        q.bind(crate::store::stored_time(&at))
            .bind(shared::event::kind::REPAIR_UPDATED)
            .bind(shared::event::kind::SHIP_UPDATED)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(event_from_row)
            .collect()
    }

    /// One entity's events in order: all of them, or (`until`) those at or
    /// before a moment.
    pub async fn entity_events(
        &self,
        entity_type: &str,
        entity_id: i64,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Event>, ApiError> {
        const COLS: &str =
            "SELECT seq, at, actor, kind, entity_type, entity_id, before_json, after_json \
             FROM events WHERE entity_type = $1 AND entity_id = $2";
        let sql = match until {
            None => format!("{COLS} ORDER BY seq"),
            Some(_) => format!("{COLS} AND at <= $3 ORDER BY seq"),
        };
        let mut q = sqlx::query(&sql)
            .bind(entity_type)
            .bind(entity_id.to_string());
        if let Some(at) = until {
            q = q.bind(crate::store::stored_time(&at));
        }
        q.fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(event_from_row)
            .collect()
    }

    /// The newest `seq` at or before `at` (0 when none).
    pub async fn last_seq_until(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64, ApiError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE at <= $1")
            .bind(crate::store::stored_time(&at))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    /// Up to `limit` events after `after`, in order, as the live stream
    /// sends them (without actor and before/after: not even read).
    pub async fn live_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<shared::event::LiveEvent>, ApiError> {
        sqlx::query(
            "SELECT seq, at, kind, entity_type, entity_id \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok(shared::event::LiveEvent {
                seq: r.try_get("seq").map_err(db_err)?,
                at: crate::store::event_time(r)?,
                kind: r.try_get("kind").map_err(db_err)?,
                entity_type: r.try_get("entity_type").map_err(db_err)?,
                entity_id: r.try_get("entity_id").map_err(db_err)?,
            })
        })
        .collect()
    }
}

/// The state at `at` folded from `events` (see [`shared::history::state_at`]);
/// a log that does not fold is logged and answered as an internal error.
pub fn fold(
    events: &[Event],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<shared::history::State, ApiError> {
    shared::history::state_at(events, at).map_err(|e| {
        tracing::error!(error = %e, "the event log does not fold");
        ApiError::internal()
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
    .inspect(|_| tx.appended += 1)
}

/// Appends one event to an exercise's layer (`exercise_events`), inside a
/// write transaction like [`append_event`]. Never to `events`: no real view
/// reads an exercise's events. `inject` is the script inject it plays
/// (unique per exercise: a second play of the same inject fails).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_layer_event(
    tx: &mut WriteTx,
    exercise_id: i64,
    inject: Option<usize>,
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
    let inject = inject.map(|i| i64::try_from(i).unwrap_or(i64::MAX));
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO exercise_events (exercise_id, inject, at, actor, kind, entity_type, entity_id, \
         before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
    )
    .bind(exercise_id)
    .bind(inject)
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

/// An exercise's layer events, in order, read on `conn` (inside a write, the
/// write's own connection).
pub(crate) async fn layer_events(
    conn: &mut AnyConnection,
    exercise_id: i64,
) -> Result<Vec<shared::exercise::LayerEvent>, ApiError> {
    sqlx::query(
        "SELECT seq, inject, at, actor, kind, entity_type, entity_id, before_json, after_json \
         FROM exercise_events WHERE exercise_id = $1 ORDER BY seq",
    )
    .bind(exercise_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        let inject: Option<i64> = r.try_get("inject").map_err(db_err)?;
        Ok(shared::exercise::LayerEvent {
            event: event_from_row(r)?,
            inject: inject.and_then(|i| usize::try_from(i).ok()),
        })
    })
    .collect()
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
/// lock under load. Committing wakes the live stream
/// (through [`Log::committed`]).
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
    committed: Arc<Notify>,
    outbox: Arc<Notify>,
    health: Arc<StorageHealth>,
    /// Events appended to the log in this transaction (for the metrics).
    appended: u64,
}

/// The advisory lock key every cablewatch writer takes on PostgreSQL.
const WRITER_LOCK: i64 = 0x6361_626c_6577;

/// How long a write waits for the writers ahead of it (this server's lock,
/// then, on PostgreSQL, the other servers'): less than the request timeout,
/// so the writer hears `busy` (503) rather than a timeout.
const WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(20);
const WRITER_LOCK_WAIT_SQL: &str = "SET LOCAL lock_timeout = '20s'";

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
                if self.appended > 0 {
                    metrics::counter!(EVENTS_WRITTEN).increment(self.appended);
                }
                // Wakes the live pump (`Live` waits on the same `Notify`).
                self.committed.notify_one();
                self.outbox.notify_one();
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
