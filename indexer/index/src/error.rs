//! What can stop the ingester, and which of it is worth retrying.

/// An ingest failure. [`IngestError::is_retryable`] says whether waiting and trying again can
/// help (the node or Postgres is away for a while) or whether a person must act.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The node does not answer, or answered with an error, for a block.
    #[error("reading block {height} from the node: {detail}")]
    Rpc { height: u64, detail: String },
    /// The node's status call failed.
    #[error("reading the node's status: {detail}")]
    Status { detail: String },
    /// The node no longer has the block: it prunes its history.
    #[error(
        "block {height} is below the node's earliest block {earliest} (it prunes its history): \
         start at --from {earliest} or later, or use an archive node"
    )]
    Pruned { height: u64, earliest: u64 },
    /// The database already indexes another chain.
    #[error(
        "this database indexes chain {indexed}, but the node serves {served}: \
         use another database (DATABASE_URL) or another node (--rpc)"
    )]
    ChainMismatch { indexed: String, served: String },
    /// Starting after the checkpoint would leave heights unindexed.
    #[error(
        "--from {from} would leave heights {next}..{from} unindexed (the checkpoint is at {checkpoint}): \
         start at or below {next}, or use a fresh database"
    )]
    Gap {
        from: u64,
        next: u64,
        checkpoint: u64,
    },
    /// The deployment file lacks something the ingester needs.
    #[error("{0}")]
    Config(String),
    /// Another ingester holds the database's writer lock.
    #[error(
        "another `datapact ingest` is writing to this database (it holds the writer lock): stop \
         it (`make demo-stop` stops the demo's follower) or let it finish; two writers would collide"
    )]
    Busy,
    /// A database call failed.
    #[error("{context}")]
    Db {
        context: String,
        #[source]
        source: sqlx::Error,
    },
}

impl IngestError {
    pub fn db(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let context = context.into();
        move |source| IngestError::Db { context, source }
    }

    /// True when the same call may succeed later without anyone changing anything: the node or
    /// the database is unreachable, restarting, or timed out.
    pub fn is_retryable(&self) -> bool {
        match self {
            IngestError::Rpc { .. } | IngestError::Status { .. } => true,
            IngestError::Pruned { .. }
            | IngestError::ChainMismatch { .. }
            | IngestError::Gap { .. }
            | IngestError::Config(_)
            | IngestError::Busy => false,
            IngestError::Db { source, .. } => db_is_transient(source),
        }
    }
}

/// Connection trouble, server restarts and serialization conflicts are transient; a constraint
/// violation or a bad statement is a bug that retrying would only repeat.
pub fn db_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect
            // now; 40001/40P01: serialization failure, deadlock; 53: insufficient resources
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "40001"
                || code == "40P01"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pruned_node_a_chain_mismatch_and_a_gap_are_not_retried() {
        assert!(!IngestError::Pruned {
            height: 3,
            earliest: 100
        }
        .is_retryable());
        assert!(!IngestError::ChainMismatch {
            indexed: "a".into(),
            served: "b".into()
        }
        .is_retryable());
        assert!(!IngestError::Gap {
            from: 9,
            next: 5,
            checkpoint: 4
        }
        .is_retryable());
    }

    #[test]
    fn an_unreachable_node_or_database_is_retried_and_a_bad_statement_is_not() {
        assert!(IngestError::Rpc {
            height: 1,
            detail: "connection refused".into()
        }
        .is_retryable());
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(IngestError::db("writing")(io).is_retryable());
        assert!(IngestError::db("writing")(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!IngestError::db("writing")(sqlx::Error::RowNotFound).is_retryable());
        let msg = IngestError::Pruned {
            height: 3,
            earliest: 100,
        }
        .to_string();
        assert!(msg.contains("--from 100"), "{msg}");
    }
}
