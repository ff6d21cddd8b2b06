//! The backup-asset registry (SQL). Like faults, every change is an event in
//! the log written in the same transaction as the `assets` row; imports are
//! all-or-nothing. Reads go through a snapshot cached until the event log
//! moves (any server's write moves it, so several servers stay correct), and
//! the map's cluster index is built once per snapshot.

use std::sync::{Arc, Mutex, OnceLock};

use shared::api::{ApiError, AssetDetail, AssetList};
use shared::assets::{
    parse_csv, parse_geojson, Asset, AssetDraft, AssetFilter, AssetForm, AssetImportReport,
    AssetKind, SOURCE_REFERENCE, SOURCE_SYNTHETIC,
};
use shared::cluster::AssetIndex;
use shared::event::kind;
use shared::map::{AssetMarker, View};
use sqlx::{AnyConnection, Row};

use crate::log::{append_event, Log, WriteTx};
use crate::rows::{asset_from_row as from_row, ASSET_COLS as COLS};
use crate::store::{db_err, now, opt_f64};

/// The assets as of one point of the event log.
pub struct AssetSnapshot {
    /// The newest event's sequence number when this was read.
    pub seq: i64,
    pub assets: Vec<Asset>,
    index: OnceLock<AssetIndex>,
}

impl AssetSnapshot {
    /// The map's cluster index, built on first use.
    pub fn index(&self) -> &AssetIndex {
        self.index.get_or_init(|| AssetIndex::new(&self.assets))
    }
}

pub type AssetCache = Arc<Mutex<Option<Arc<AssetSnapshot>>>>;

async fn id_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<(i64, i64)>, ApiError> {
    let row = sqlx::query("SELECT id, version FROM assets WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.map(|r| {
        Ok((
            r.try_get("id").map_err(db_err)?,
            r.try_get("version").map_err(db_err)?,
        ))
    })
    .transpose()
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a draft's fields as `$1`–`$15`, in the column order INSERT and
/// UPDATE share. Statements binding them are not cached (`persistent(false)`):
/// through `Any`, a NULL and a number bound to the same parameter give
/// PostgreSQL different types, and a cached statement keeps the first one
/// ("incorrect binary data format").
fn bind_draft<'q>(q: AnyQuery<'q>, d: &'q AssetDraft) -> AnyQuery<'q> {
    q.bind(&d.name)
        .bind(d.kind.as_str())
        .bind(d.status.as_str())
        .bind(d.lon)
        .bind(d.lat)
        .bind(opt_f64(d.end.map(|e| e.0)))
        .bind(opt_f64(d.end.map(|e| e.1)))
        .bind(&d.region)
        .bind(opt_f64(d.capacity_mbps))
        .bind(d.orbit.map(|o| o.as_str()))
        .bind(&d.operator)
        .bind(&d.programme)
        .bind(&d.home_port)
        .bind(&d.zone)
        .bind(&d.notes)
}

fn name_taken(name: &str, other: i64) -> ApiError {
    ApiError {
        field: Some("name".into()),
        ..ApiError::conflict(format!(
            "the name {name:?} is already used by asset #{other}"
        ))
    }
}

async fn insert(
    tx: &mut WriteTx,
    actor: &str,
    d: &AssetDraft,
    source: &str,
) -> Result<Asset, ApiError> {
    if let Some((id, _)) = id_by_name(tx.conn(), &d.name).await? {
        return Err(name_taken(&d.name, id));
    }
    let ts = now();
    let id: i64 = bind_draft(
        sqlx::query(
            "INSERT INTO assets (name, kind, status, lon, lat, end_lon, end_lat, region, capacity_mbps, \
             orbit, operator, programme, home_port, zone, notes, source, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, CAST($6 AS DOUBLE PRECISION), CAST($7 AS DOUBLE PRECISION), $8, \
             CAST($9 AS DOUBLE PRECISION), $10, $11, $12, $13, $14, $15, $16, 1, $17, $17) \
             RETURNING id",
        ),
        d,
    )
    .bind(source)
    .bind(&ts)
    .persistent(false)
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?
    .try_get("id")
    .map_err(db_err)?;
    let asset = Asset {
        id,
        draft: d.clone(),
        source: source.to_string(),
        version: 1,
    };
    append_event(
        tx,
        actor,
        kind::ASSET_CREATED,
        "asset",
        &id.to_string(),
        None::<&()>,
        Some(&asset),
    )
    .await?;
    Ok(asset)
}

async fn load(conn: &mut AnyConnection, id: i64) -> Result<Asset, ApiError> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM assets WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| ApiError::not_found(format!("no asset #{id}")))?;
    from_row(&row)
}

async fn update(
    tx: &mut WriteTx,
    actor: &str,
    id: i64,
    version: i64,
    d: &AssetDraft,
) -> Result<Asset, ApiError> {
    let before = load(tx.conn(), id).await?;
    if before.version != version {
        return Err(ApiError::conflict(format!(
            "asset #{id} was changed by someone else since you opened it (you edited version {version}, it is now version {}); reload it, your text is kept",
            before.version
        )));
    }
    if let Some((other, _)) = id_by_name(tx.conn(), &d.name).await? {
        if other != id {
            return Err(name_taken(&d.name, other));
        }
    }
    let done = bind_draft(
        sqlx::query(
            "UPDATE assets SET name = $1, kind = $2, status = $3, lon = $4, lat = $5, \
             end_lon = CAST($6 AS DOUBLE PRECISION), end_lat = CAST($7 AS DOUBLE PRECISION), region = $8, \
             capacity_mbps = CAST($9 AS DOUBLE PRECISION), orbit = $10, operator = $11, programme = $12, \
             home_port = $13, zone = $14, notes = $15, version = version + 1, updated_at = $16 \
             WHERE id = $17 AND version = $18",
        ),
        d,
    )
    .bind(now())
    .bind(id)
    .bind(version)
    .persistent(false)
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(format!(
            "asset #{id} was changed by someone else since you opened it"
        )));
    }
    let after = Asset {
        id,
        draft: d.clone(),
        source: before.source.clone(),
        version: version + 1,
    };
    append_event(
        tx,
        actor,
        kind::ASSET_UPDATED,
        "asset",
        &id.to_string(),
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// The import formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    GeoJson,
}

impl ImportFormat {
    /// `csv` or `geojson`; otherwise judged by the first character of the text.
    pub fn detect(name: Option<&str>, text: &str) -> Self {
        match name.map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Self::Csv,
            Some("geojson") | Some("json") => Self::GeoJson,
            _ if text.trim_start().starts_with('{') => Self::GeoJson,
            _ => Self::Csv,
        }
    }
}

/// The newest asset event: the key the asset snapshot is filed under.
const ASSET_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE entity_type = 'asset'";

/// The backup-asset store: writes through the log, reads through a
/// snapshot filed under the newest asset event. Cheap to clone.
#[derive(Clone)]
pub struct Assets {
    log: Log,
    cache: AssetCache,
}

impl Assets {
    pub fn new(log: Log) -> Self {
        Self {
            log,
            cache: Default::default(),
        }
    }

    async fn write(&self) -> Result<WriteTx, ApiError> {
        self.log.write().await
    }

    /// The assets as of the newest asset event, read again only when an asset
    /// changed (a sign-in or a fault edit keeps the cache and its index).
    pub async fn asset_snapshot(&self) -> Result<Arc<AssetSnapshot>, ApiError> {
        let seq: i64 = sqlx::query_scalar(ASSET_SEQ)
            .fetch_one(self.log.pool())
            .await
            .map_err(db_err)?;
        if let Some(s) = self.cached_assets() {
            if s.seq == seq {
                return Ok(s);
            }
        }
        // Read the rows and the log position in one transaction, so the
        // snapshot is never newer or older than the seq it is filed under.
        let mut tx = self.log.pool().begin().await.map_err(db_err)?;
        let seq: i64 = sqlx::query_scalar(ASSET_SEQ)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let assets = sqlx::query(&format!("SELECT {COLS} FROM assets ORDER BY id"))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(db_err)?;
        let snap = Arc::new(AssetSnapshot {
            seq,
            assets,
            index: OnceLock::new(),
        });
        if let Ok(mut c) = self.cache.lock() {
            *c = Some(snap.clone());
        }
        Ok(snap)
    }

    fn cached_assets(&self) -> Option<Arc<AssetSnapshot>> {
        self.cache.lock().ok().and_then(|c| c.clone())
    }

    /// The list page (see [`AssetList::of`]).
    pub async fn list_assets(&self, filter: &AssetFilter) -> Result<AssetList, ApiError> {
        let snap = self.asset_snapshot().await?;
        Ok(AssetList::of(&snap.assets, filter))
    }

    /// Every asset matching `filter` (for exports).
    pub async fn assets_matching(&self, filter: &AssetFilter) -> Result<Vec<Asset>, ApiError> {
        let snap = self.asset_snapshot().await?;
        Ok(snap
            .assets
            .iter()
            .filter(|a| filter.matches(a))
            .cloned()
            .collect())
    }

    /// The asset layer of the map for a view, clustered.
    pub async fn asset_markers(
        &self,
        view: &View,
        zoom: u8,
        kinds: &[AssetKind],
    ) -> Result<Vec<AssetMarker>, ApiError> {
        let snap = self.asset_snapshot().await?;
        let snap2 = snap.clone();
        let view = *view;
        let kinds = kinds.to_vec();
        // Building the index is CPU work: off the async workers.
        tokio::task::spawn_blocking(move || {
            snap2.index().markers(&snap2.assets, &view, zoom, &kinds)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "clustering failed");
            ApiError::internal()
        })
    }

    pub async fn asset(&self, id: i64) -> Result<AssetDetail, ApiError> {
        let mut conn = self.log.pool().acquire().await.map_err(db_err)?;
        let asset = load(&mut conn, id).await?;
        drop(conn);
        let events = self.log.entity_events("asset", id, None).await?;
        Ok(AssetDetail { asset, events })
    }

    /// The asset as it stood at `at`, with its events up to then, rebuilt
    /// from them; one not yet created then is not found.
    pub async fn asset_as_of(
        &self,
        id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<AssetDetail, ApiError> {
        let events = self.log.entity_events("asset", id, Some(at)).await?;
        let asset = crate::log::fold(&events, at)?
            .assets
            .remove(&id)
            .ok_or_else(|| ApiError::not_found(format!("no asset #{id} at that moment")))?;
        Ok(AssetDetail { asset, events })
    }

    pub async fn create_asset(&self, actor: &str, form: &AssetForm) -> Result<Asset, ApiError> {
        let draft = form.validate().map_err(ApiError::invalid)?;
        let mut tx = self.write().await?;
        let a = insert(&mut tx, actor, &draft, actor).await?;
        crate::resilience::commit(tx).await?;
        Ok(a)
    }

    /// Edits an asset; refused with a conflict unless `version` is current.
    pub async fn update_asset(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError> {
        let draft = form.validate().map_err(ApiError::invalid)?;
        let mut tx = self.write().await?;
        let a = update(&mut tx, actor, id, version, &draft).await?;
        crate::resilience::commit(tx).await?;
        Ok(a)
    }

    /// Imports CSV or GeoJSON: every row valid or nothing is written (every
    /// bad line named). A name already in the registry updates that asset
    /// if anything differs; the same file twice writes nothing the second time.
    pub async fn import_assets(
        &self,
        actor: &str,
        format: ImportFormat,
        text: &str,
        write: bool,
    ) -> Result<AssetImportReport, ApiError> {
        let drafts = match format {
            ImportFormat::Csv => parse_csv(text),
            ImportFormat::GeoJson => parse_geojson(text),
        }
        .map_err(ApiError::bad_import)?;
        let mut tx = self.write().await?;
        let mut report = AssetImportReport {
            written: write,
            ..Default::default()
        };
        let source = format!("import:{actor}");
        for d in &drafts {
            match id_by_name(&mut tx, &d.name).await? {
                None => {
                    report.created += 1;
                    if write {
                        insert(&mut tx, actor, d, &source).await?;
                    }
                }
                Some((id, version)) => {
                    if load(&mut tx, id).await?.draft == *d {
                        report.unchanged += 1;
                    } else {
                        report.updated += 1;
                        if write {
                            update(&mut tx, actor, id, version, d).await?;
                        }
                    }
                }
            }
        }
        if write && report.created + report.updated > 0 {
            append_event(
                &mut tx,
                actor,
                kind::ASSETS_IMPORTED,
                "import",
                match format {
                    ImportFormat::Csv => "csv",
                    ImportFormat::GeoJson => "geojson",
                },
                None::<&()>,
                Some(&report),
            )
            .await?;
            crate::resilience::commit(tx).await?;
        } else {
            tx.rollback().await?;
        }
        Ok(report)
    }

    /// Loads `drafts` as new assets from `source` (demo or generated data),
    /// skipping names already present. Returns how many were added.
    pub async fn seed_assets(
        &self,
        actor: &str,
        drafts: &[AssetDraft],
        source: &str,
    ) -> Result<usize, ApiError> {
        let mut tx = self.write().await?;
        let mut added = 0;
        for d in drafts {
            if id_by_name(&mut tx, &d.name).await?.is_none() {
                insert(&mut tx, actor, d, source).await?;
                added += 1;
            }
        }
        crate::resilience::commit(tx).await?;
        Ok(added)
    }

    /// The demo inventory (synthetic) and the public facts (reference), once.
    pub async fn seed_demo_assets(&self) -> Result<usize, ApiError> {
        let demo = tokio::task::spawn_blocking(shared::inventory::demo_inventory)
            .await
            .map_err(|_| ApiError::internal())?;
        let refs = shared::inventory::reference_assets();
        Ok(self
            .seed_assets("system:demo", &demo, SOURCE_SYNTHETIC)
            .await?
            + self
                .seed_assets("system:reference", &refs, SOURCE_REFERENCE)
                .await?)
    }
}
