//! The gateways' redemption ledger (`gateway_redemptions`, migration 0007): a `record_access`
//! transaction is redeemed for one delivery, once, across every gateway sharing the database.
//! The row is committed before the first byte is sent, so a gateway that dies mid-stream
//! cannot be asked again with the same proof.

use sqlx::PgPool;

/// One delivery a gateway is about to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redemption {
    /// The `record_access` transaction's hash (upper-case hex, as the chain prints it).
    pub record_tx: String,
    pub gateway: String,
    pub agreement_id: u64,
    pub consumer: String,
    pub asset_id: u64,
    pub version: u32,
    pub subject: Option<String>,
    pub nonce: String,
}

/// What the ledger answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// This call redeemed the transaction: deliver.
    Now,
    /// It was redeemed before, by `gateway` at `at` (RFC 3339, UTC): refuse.
    Before { gateway: String, at: String },
}

fn int(v: u64, what: &str) -> Result<i64, sqlx::Error> {
    i64::try_from(v).map_err(|_| sqlx::Error::Protocol(format!("{what} {v} exceeds bigint")))
}

/// Redeems `r.record_tx` unless it was redeemed before (atomically: two gateways racing for
/// the same transaction get one `Now` and one `Before`).
pub async fn redeem(pool: &PgPool, r: &Redemption) -> Result<Redeemed, sqlx::Error> {
    let inserted: Option<String> = sqlx::query_scalar(
        "insert into gateway_redemptions \
           (record_tx, gateway, agreement_id, consumer, asset_id, version, subject, nonce) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (record_tx) do nothing returning record_tx",
    )
    .bind(r.record_tx.to_uppercase())
    .bind(&r.gateway)
    .bind(int(r.agreement_id, "agreement id")?)
    .bind(&r.consumer)
    .bind(int(r.asset_id, "asset id")?)
    .bind(i64::from(r.version))
    .bind(&r.subject)
    .bind(&r.nonce)
    .fetch_optional(pool)
    .await?;
    if inserted.is_some() {
        return Ok(Redeemed::Now);
    }
    let (gateway, at): (String, String) = sqlx::query_as(
        "select gateway, to_char(redeemed_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         from gateway_redemptions where record_tx = $1",
    )
    .bind(r.record_tx.to_uppercase())
    .fetch_one(pool)
    .await?;
    Ok(Redeemed::Before { gateway, at })
}

/// Records that the delivery of `record_tx` ended after `bytes` bytes.
pub async fn delivered(pool: &PgPool, record_tx: &str, bytes: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update gateway_redemptions set delivered_bytes = $2, completed_at = now() \
         where record_tx = $1",
    )
    .bind(record_tx.to_uppercase())
    .bind(int(bytes, "byte count")?)
    .execute(pool)
    .await?;
    Ok(())
}

/// One row of the ledger, for operators and tests.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerRow {
    pub record_tx: String,
    pub gateway: String,
    pub agreement_id: i64,
    pub consumer: String,
    pub delivered_bytes: Option<i64>,
}

/// The redemptions of one agreement, oldest first.
pub async fn of_agreement(pool: &PgPool, agreement_id: u64) -> Result<Vec<LedgerRow>, sqlx::Error> {
    sqlx::query_as(
        "select record_tx, gateway, agreement_id, consumer, delivered_bytes \
         from gateway_redemptions where agreement_id = $1 order by redeemed_at, record_tx",
    )
    .bind(int(agreement_id, "agreement id")?)
    .fetch_all(pool)
    .await
}
