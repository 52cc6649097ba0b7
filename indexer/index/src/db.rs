//! Postgres: the project's private cluster (when no `DATABASE_URL` is given) and the schema.
//!
//! The private cluster lives under the data folder (`.data/postgres`), listens on 127.0.0.1 only
//! on a port of its own (55432, `DATAPACT_PG_PORT`), and is created with Debian's postgresql
//! binaries. `initdb` refuses to run as root, so as root the cluster belongs to the `postgres`
//! user and is driven through `runuser`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The session advisory locks the writers of a database take, each named once here: one
/// ingester per database, one writing analysis run per database. They must differ — the two
/// run side by side (`ingest --follow` beside `analyze --follow`).
pub mod locks {
    /// "datapact" in ASCII: the ingester's
    pub const INGEST_WRITER: i64 = 0x6461_7461_7061_6374;
    /// "analyzer" in ASCII: a writing analysis run's
    pub const ANALYSIS_RUN: i64 = 0x616e_616c_797a_6572;

    /// A run that replaces the whole content of database `name` (an evaluation, a synthetic
    /// history): the first 8 bytes of SHA-256 of "datapact replacing <name>".
    pub fn replacing(name: &str) -> i64 {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(format!("datapact replacing {name}"));
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        i64::from_be_bytes(b)
    }
}

/// A run's claim on a database whose content it replaces ([`claim_url`]): a session advisory
/// lock ([`locks::replacing`]) on a connection of its own, held until [`Claim::release`] or
/// drop, so a second such run on the same database is refused instead of writing over the
/// first's rows (or, for an evaluation, dropping the database under it).
pub struct Claim {
    conn: sqlx::PgConnection,
}

impl Claim {
    /// Lets the database go (closing the connection releases the lock).
    pub async fn release(self) -> anyhow::Result<()> {
        use sqlx::Connection;
        self.conn
            .close()
            .await
            .context("releasing a database claim")
    }
}

/// Claims the database a URL names, for a run that replaces its content; refused, changing
/// nothing, while another run holds it. The lock is taken in the server's `postgres` database
/// (the same host, port and user), keyed by the database's name, so that it holds across a
/// drop and re-creation of that database and whichever way a run names it; where `postgres`
/// cannot be reached, in the database itself.
pub async fn claim_url(url: &str) -> anyhow::Result<Claim> {
    let opts: PgConnectOptions = url
        .parse()
        .with_context(|| "not a Postgres URL (postgres://user@host:port/db)")?;
    let name = opts.get_database().unwrap_or(DB_USER).to_string();
    let mut conn = match opts.clone().database("postgres").connect().await {
        Ok(c) => c,
        Err(_) => opts
            .connect()
            .await
            .with_context(|| format!("cannot connect to Postgres at {}", redact(url)))?,
    };
    let got: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(locks::replacing(&name))
        .fetch_one(&mut conn)
        .await
        .context("claiming the database")?;
    if !got {
        bail!(
            "another run (an eval or a synthetic history) is replacing the content of database \
             {name} right now, and nothing was changed: wait for it to finish, or give this run \
             a database of its own with --database-url"
        );
    }
    Ok(Claim { conn })
}

const DB_NAME: &str = "datapact";
const DB_USER: &str = "datapact";

/// A Postgres cluster owned by the project.
#[derive(Clone, Debug)]
pub struct PgCluster {
    pub dir: PathBuf,
    pub port: u16,
}

impl PgCluster {
    pub fn from_env() -> Self {
        let data = std::env::var_os("DATAPACT_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".data"));
        let port = std::env::var("DATAPACT_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(55432);
        Self::new(data.join("postgres"), port)
    }

    pub fn new(dir: PathBuf, port: u16) -> Self {
        let dir = if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir().map(|c| c.join(&dir)).unwrap_or(dir)
        };
        Self { dir, port }
    }

    pub fn url(&self) -> String {
        format!("postgres://{DB_USER}@127.0.0.1:{}/{DB_NAME}", self.port)
    }

    /// The same database as the read-only role `datapact_reader` (created by the migrations).
    pub fn reader_url(&self) -> String {
        format!(
            "postgres://datapact_reader@127.0.0.1:{}/{DB_NAME}",
            self.port
        )
    }

    fn pgdata(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// Debian keeps the server binaries under /usr/lib/postgresql/<major>/bin.
    fn bin(&self, tool: &str) -> anyhow::Result<PathBuf> {
        if let Some(dir) = std::env::var_os("PG_BIN") {
            return Ok(PathBuf::from(dir).join(tool));
        }
        let mut majors: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
            .collect();
        majors.sort();
        match majors.pop() {
            Some((_, dir)) if dir.join("bin").join(tool).is_file() => Ok(dir.join("bin").join(tool)),
            _ => bail!(
                "Postgres server binaries ({tool}) not found under /usr/lib/postgresql: install them \
                 (`apt-get install postgresql`), set PG_BIN to their folder, or point DATABASE_URL at a server"
            ),
        }
    }

    fn as_root() -> bool {
        // SAFETY-free check: the effective uid of this process, from /proc
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Uid:"))
                    .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
            })
            .unwrap_or(false)
    }

    /// Runs a Postgres tool, as the `postgres` user when we are root.
    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let bin = self.bin(tool)?;
        let mut cmd = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let out = cmd
            .args(args)
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "{tool} {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(())
    }

    fn initialized(&self) -> bool {
        self.pgdata().join("PG_VERSION").is_file()
    }

    fn init(&self) -> anyhow::Result<()> {
        fs::create_dir_all(self.pgdata())?;
        if Self::as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status()
                .context("chown")?;
            anyhow::ensure!(
                status.success(),
                "cannot hand {} to the postgres user",
                self.dir.display()
            );
        }
        let pgdata = self.pgdata().to_string_lossy().to_string();
        self.run(
            "initdb",
            &[
                "-D",
                &pgdata,
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
        )?;
        // only local TCP, its own socket folder, and settings for bulk loads that keep durability;
        // WAL is capped at 1 GB (it was 4 GB: with the tests' cluster beside it, CI's disk filled)
        let conf = format!(
            "\n# datapact\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             shared_buffers = '256MB'\nmax_wal_size = '1GB'\nwal_compression = on\n\
             checkpoint_timeout = '15min'\nmax_connections = 50\n",
            self.port,
            self.pgdata().display()
        );
        let mut text = fs::read_to_string(self.pgdata().join("postgresql.conf"))?;
        text.push_str(&conf);
        fs::write(self.pgdata().join("postgresql.conf"), text)?;
        Ok(())
    }

    /// Whether the cluster answers on its port now (it is never started by asking).
    pub fn accepting(&self) -> bool {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(300),
        )
        .is_ok()
    }

    /// Starts the cluster (creating it first if needed) and its database; returns its URL.
    /// A cluster already running is reused.
    pub async fn ensure_running(&self) -> anyhow::Result<String> {
        if !self.accepting() {
            if !self.initialized() {
                tracing::info!(
                    "creating a private Postgres cluster in {}",
                    self.dir.display()
                );
                self.init()?;
            }
            let pgdata = self.pgdata().to_string_lossy().to_string();
            let log = self.log_file();
            if Self::as_root() && !log.exists() {
                fs::write(&log, "")?;
                let _ = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&log)
                    .status();
            }
            let log = log.to_string_lossy().to_string();
            self.run(
                "pg_ctl",
                &["-D", &pgdata, "-l", &log, "-w", "-t", "60", "start"],
            )
            .with_context(|| format!("starting Postgres (its log: {log})"))?;
            tracing::info!("Postgres started on 127.0.0.1:{}", self.port);
        }
        self.create_database().await?;
        Ok(self.url())
    }

    async fn create_database(&self) -> anyhow::Result<()> {
        let admin = format!("postgres://{DB_USER}@127.0.0.1:{}/postgres", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut conn = loop {
            match admin.parse::<PgConnectOptions>()?.connect().await {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!("waiting for Postgres: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e).context("connecting to the private Postgres cluster"),
            }
        };
        let exists: Option<i32> =
            sqlx::query_scalar("select 1 from pg_database where datname = $1")
                .bind(DB_NAME)
                .fetch_optional(&mut conn)
                .await?;
        if exists.is_none() {
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {DB_NAME}")))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Drops and recreates database `name` (letters, digits, underscores); returns its URL.
    pub async fn fresh_database(&self, name: &str) -> anyhow::Result<String> {
        self.database(name, true).await
    }

    /// A claim on database `name` of the cluster ([`claim_url`]; it need not exist yet), held
    /// across [`PgCluster::fresh_database`]'s drop: take it first.
    pub async fn claim(&self, name: &str) -> anyhow::Result<Claim> {
        self.ensure_running().await?;
        claim_url(&format!(
            "postgres://{DB_USER}@127.0.0.1:{}/{name}",
            self.port
        ))
        .await
    }

    /// Database `name` (letters, digits, underscores), created if missing and otherwise left
    /// as it is; returns its URL.
    pub async fn ensure_database(&self, name: &str) -> anyhow::Result<String> {
        self.database(name, false).await
    }

    async fn database(&self, name: &str, fresh: bool) -> anyhow::Result<String> {
        anyhow::ensure!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database name {name:?}: use lowercase letters, digits and underscores"
        );
        self.ensure_running().await?;
        let admin = format!("postgres://{DB_USER}@127.0.0.1:{}/postgres", self.port);
        let mut conn = admin.parse::<PgConnectOptions>()?.connect().await?;
        if fresh {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop database if exists {name} with (force)"
            )))
            .execute(&mut conn)
            .await?;
        }
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(name)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                .execute(&mut conn)
                .await?;
        }
        Ok(format!(
            "postgres://{DB_USER}@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    /// Restarts a running cluster (fast: open connections are cut, as in a server restart).
    pub fn restart(&self) -> anyhow::Result<()> {
        let pgdata = self.pgdata().to_string_lossy().to_string();
        let log = self.log_file().to_string_lossy().to_string();
        self.run(
            "pg_ctl",
            &["-D", &pgdata, "-l", &log, "-m", "fast", "-w", "restart"],
        )
    }

    /// Stops the cluster (fast shutdown). Not running is not an error.
    pub fn stop(&self) -> anyhow::Result<bool> {
        if !self.initialized() || !self.accepting() {
            return Ok(false);
        }
        let pgdata = self.pgdata().to_string_lossy().to_string();
        self.run("pg_ctl", &["-D", &pgdata, "-m", "fast", "-w", "stop"])?;
        Ok(true)
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }
}

/// The database to use: `DATABASE_URL` when given, else the private cluster (started if needed).
pub async fn database_url(explicit: Option<&str>) -> anyhow::Result<String> {
    match explicit {
        Some(url) => Ok(url.to_string()),
        None => PgCluster::from_env().ensure_running().await,
    }
}

/// Connects and brings the schema up to date.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let opts: PgConnectOptions = url
        .parse()
        .with_context(|| "DATABASE_URL is not a Postgres URL (postgres://user@host:port/db)")?;
    // the server's NOTICEs ("relation _sqlx_migrations already exists, skipping") are not news
    let opts = opts.options([("client_min_messages", "warning")]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await
        .with_context(|| format!("cannot connect to Postgres at {}", redact(url)))?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Applies the migrations. Migration 4 sets up the cluster's read-only role, which every
/// database of the cluster shares: two databases migrated at once can update its settings
/// together, and Postgres fails the later with "tuple concurrently updated" (seen when tests
/// created two databases at once). Each migration is one transaction, so the failed one left
/// nothing behind and is applied again, after the other has committed.
async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut attempt = 0;
    loop {
        match MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 5 && concurrent_catalog_update(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(e).context("applying the schema migrations"),
        }
    }
}

/// Whether a migration lost a race with another database's on a catalog row of the cluster.
fn concurrent_catalog_update(e: &sqlx::migrate::MigrateError) -> bool {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::Execute(sqlx::Error::Database(db))
        | M::ExecuteMigration(sqlx::Error::Database(db), _) => {
            db.message() == "tuple concurrently updated"
        }
        _ => false,
    }
}

/// Checks, reading only, that the database holds the schema this build expects: what a
/// read-only role can do instead of migrating.
pub async fn check_schema(pool: &PgPool) -> anyhow::Result<()> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let has_table: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .fetch_one(pool)
        .await
        .context("reading the database's schema version")?;
    let applied: Option<i64> = if has_table {
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(pool)
            .await
            .context("reading the database's schema version")?
    } else {
        None
    };
    match applied {
        Some(v) if v >= latest => Ok(()),
        found => anyhow::bail!(
            "the database holds {} (this build needs schema version {latest}): run `datapact \
             ingest` once with a role that may create tables (it applies the migrations), then \
             serve with the read-only role",
            found.map_or("no datapact schema".to_string(), |v| format!(
                "schema version {v}"
            ))
        ),
    }
}

/// The chain id every synthetic history carries, before its seed (`datapact-sim synth`, the
/// evaluation, the benchmarks).
pub const SYNTHETIC_CHAIN_PREFIX: &str = "datapact-synth-";

/// Empties the index for a synthetic history. A database whose checkpoint names a chain that is
/// not synthetic holds an index of that chain, which is refused unless `scratch` says, in so
/// many words, that it may go.
pub async fn replace_with_synthetic(pool: &PgPool, scratch: bool) -> anyhow::Result<()> {
    let held: Option<(String, i64)> =
        sqlx::query_as("select chain_id, height from checkpoint where id = 1")
            .fetch_optional(pool)
            .await
            .context("reading what the database holds")?;
    if let Some((chain, height)) = held {
        if !chain.starts_with(SYNTHETIC_CHAIN_PREFIX) && !scratch {
            anyhow::bail!(
                "this database holds the index of chain {chain} (up to height {height}), and a \
                 synthetic history replaces a database's content: nothing was changed. Give a \
                 scratch database (--database-url postgres://…/scratch), or add --scratch to \
                 replace this index"
            );
        }
    }
    truncate_all(pool).await
}

/// Empties every table the ingester writes, and the checkpoint (for a fresh synthetic history).
pub async fn truncate_all(pool: &PgPool) -> anyhow::Result<()> {
    let tables: Vec<&str> = crate::tables::TABLES
        .iter()
        .map(|(t, _)| *t)
        .chain(["checkpoint"])
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "truncate {}",
        tables.join(", ")
    )))
    .execute(pool)
    .await
    .context("emptying the index tables")?;
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact("postgres://u@h:5/db"), "postgres://u@h:5/db");
        assert_eq!(redact("not a url"), "not a url");
    }
}
