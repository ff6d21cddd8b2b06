//! Connecting to the database: SQLite (embedded default) or PostgreSQL,
//! through sqlx's `Any` driver so one SQL module serves both. Only the
//! migrations differ per engine.

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Removes the password from a database URL so it can be logged.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn engine_of(url: &str) -> Result<Engine, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(DbError::UnsupportedUrl(redact(url)))
    }
}

/// Opens (creating and migrating) the database at `url`.
pub async fn connect(url: &str) -> Result<(AnyPool, Engine), DbError> {
    sqlx::any::install_default_drivers();
    let engine = engine_of(url)?;
    let mut url = url.to_string();
    let mut pool_opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
    if engine == Engine::Sqlite {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        if memory {
            // Each connection to an in-memory database is a separate database.
            pool_opts = pool_opts
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
                .split('?')
                .next()
                .unwrap_or("")
                .to_string();
            if let Some(dir) = Path::new(&path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            pool_opts = pool_opts.max_connections(8);
        }
        pool_opts = pool_opts.after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL for concurrent readers; FULL so an acknowledged write survives a crash.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .await?;
                Ok(())
            })
        });
    } else {
        pool_opts = pool_opts.max_connections(16).after_connect(|conn, _meta| {
            Box::pin(async move {
                // A transaction left open (a task stuck or lost mid-write)
                // would hold the writer lock of every server: PostgreSQL
                // ends it after a minute, rolling it back.
                conn.execute("SET idle_in_transaction_session_timeout = '60s'")
                    .await?;
                Ok(())
            })
        });
    }
    let pool = pool_opts.connect(&url).await.map_err(DbError::Connect)?;
    match engine {
        Engine::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
        Engine::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
    }
    Ok((pool, engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://cw:s3cret@db:5432/cablewatch"),
            "postgres://cw:***@db:5432/cablewatch"
        );
        assert_eq!(
            redact("sqlite://data/cablewatch.db"),
            "sqlite://data/cablewatch.db"
        );
    }
}
