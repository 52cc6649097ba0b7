//! `datapact sentinel`: anomalies at or above a severity become `ReportAlert`s on the audit
//! contract, signed with the sentinel's key; the chain's own rules then respond (an alert at the
//! audit policy's threshold suspends the subject's agreements).
//!
//! Exactly once, across restarts and crashes: each anomaly is named by (role, actor, window,
//! kind); its report's canonical JSON is hashed into the alert's evidence hash; the signed
//! transaction and its hash are stored *before* broadcasting. After a crash a pending report's
//! transaction is looked up by hash; if the chain does not have it, the very same bytes are
//! broadcast again, which the chain can include at most once (one sequence, one inclusion).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use cosmwasm_std::Decimal;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use datapact_audit::msg::{ExecuteMsg as AuditMsg, QueryMsg as AuditQuery, RolesResponse};
use datapact_chain::keys::Wallet;
use datapact_chain::tx::{execute_msg, Sender, TxOutcome};
use datapact_chain::Deployment;
use datapact_chain::{Chain, ChainError};
use datapact_types::Severity;

/// Gas for one `ReportAlert` (it may call the agreements contract to suspend).
const GAS: u64 = 900_000;

#[derive(Clone, Debug)]
pub struct SentinelConfig {
    /// report anomalies of at least this severity
    pub min_severity: Severity,
    /// between polls of the anomalies table
    pub interval: Duration,
    /// at most this many reports per minute
    pub per_minute: u32,
    /// print what would be sent; send and store nothing
    pub dry_run: bool,
    /// one pass, then return
    pub once: bool,
    /// report only anomalies of runs whose manifest is anchored on chain (the evidence then
    /// points into a run anyone can verify)
    pub require_anchor: bool,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        Self {
            min_severity: parse_severity(datapact_analytics::SENTINEL_DEFAULT_SEVERITY)
                .unwrap_or(Severity::High),
            interval: Duration::from_secs(2),
            per_minute: 30,
            dry_run: false,
            once: false,
            require_anchor: true,
        }
    }
}

/// One anomaly to report.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Candidate {
    pub role: String,
    pub actor: String,
    pub window_start: i64,
    pub window_end: i64,
    pub kind: String,
    pub method: String,
    pub score: f64,
    pub severity: String,
    pub explanation: String,
    pub first_height: i64,
    pub last_height: i64,
    pub txs: Vec<String>,
    pub targets: Vec<String>,
    pub model_version: String,
    /// the run that found it, and that run's manifest hash (docs/runs.md)
    pub run_id: i64,
    pub manifest_sha256: Option<String>,
}

/// The columns a [`Candidate`] is read from (anomalies `a`, analytics_runs `ar`), as a literal
/// for `concat!`.
macro_rules! candidate_columns {
    () => { "a.role, a.actor, extract(epoch from a.window_start)::bigint as window_start, \
    extract(epoch from a.window_end)::bigint as window_end, a.kind, a.method, a.score, a.severity, \
    a.explanation, a.first_height, a.last_height, a.txs, a.targets, a.model_version, a.run_id, ar.manifest_sha256"
    };
}

impl Candidate {
    /// The report's canonical JSON: keys sorted, no spaces, the score as a fixed decimal.
    pub fn canonical(&self) -> String {
        let v = json!({
            "role": self.role,
            "actor": self.actor,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "kind": self.kind,
            "method": self.method,
            "score": format!("{:.4}", self.score),
            "severity": self.severity,
            "explanation": self.explanation,
            "first_height": self.first_height,
            "last_height": self.last_height,
            "txs": self.txs,
            "targets": self.targets,
            "model_version": self.model_version,
            "run": {"id": self.run_id, "manifest_sha256": self.manifest_sha256},
        });
        // serde_json's map is ordered by key: the serialization is canonical
        v.to_string()
    }

    pub fn evidence_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }

    /// The `ReportAlert` message for this anomaly.
    pub fn message(&self) -> anyhow::Result<AuditMsg> {
        let severity = parse_severity(&self.severity)?;
        let score: Decimal = format!("{:.4}", self.score.clamp(0.0, 1.0))
            .parse()
            .map_err(|e| anyhow::anyhow!("the score as a decimal: {e}"))?;
        // an asset target (laundering) names the asset on chain
        let asset_id = self
            .targets
            .iter()
            .find_map(|t| datapact_analytics::target::asset_of(t));
        Ok(AuditMsg::ReportAlert {
            kind: self.kind.clone(),
            severity,
            subject: self.actor.clone(),
            asset_id,
            evidence_hash: self.evidence_hash(),
            score,
            model_version: self.model_version.clone(),
        })
    }
}

mod evidence;
pub use evidence::{evidence_of_run, EvidenceCheck};

pub fn parse_severity(s: &str) -> anyhow::Result<Severity> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| anyhow::anyhow!("severity {s:?}: use info, low, medium, high or critical"))
}

fn severity_rank(s: &str) -> i32 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassStats {
    pub reported: u32,
    pub recovered: u32,
    pub dry_run: u32,
    pub waiting: u32,
}

pub struct Sentinel {
    chain: Chain,
    audit: String,
    sender: Sender,
    cfg: SentinelConfig,
    /// report times in the last minute (the rate limit)
    sent: Vec<Instant>,
}

impl Sentinel {
    /// Loads the key's account and checks, before anything else, that the audit contract
    /// knows it as a sentinel: a wrong key is an error now, not at the first alert.
    pub async fn new(
        chain: Chain,
        d: &Deployment,
        wallet: Wallet,
        cfg: SentinelConfig,
    ) -> anyhow::Result<Self> {
        let audit = d.address("audit")?.to_string();
        let roles: RolesResponse = chain
            .smart(&audit, &AuditQuery::Roles {})
            .await
            .context("reading the audit contract's sentinels")?;
        let addr = wallet.addr();
        if !roles.sentinels.iter().any(|s| s.as_str() == addr) {
            bail!(
                "the key's address {addr} is not a sentinel of the audit contract {audit} \
                 (sentinels: {}): use the sentinel's key, or have the admin add it with UpdateRoles",
                roles
                    .sentinels
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let sender = Sender::load(&chain, wallet)
            .await
            .with_context(|| format!("loading the sentinel account {addr}"))?;
        Ok(Self {
            chain,
            audit,
            sender,
            cfg,
            sent: Vec::new(),
        })
    }

    pub fn address(&self) -> String {
        self.sender.addr()
    }

    /// Runs passes until stopped (or once).
    pub async fn run(&mut self, pool: &PgPool) -> anyhow::Result<PassStats> {
        let mut total = PassStats::default();
        loop {
            let s = self.pass(pool).await?;
            total.reported += s.reported;
            total.recovered += s.recovered;
            total.dry_run += s.dry_run;
            total.waiting = s.waiting;
            if self.cfg.once {
                return Ok(total);
            }
            tokio::time::sleep(self.cfg.interval).await;
        }
    }

    /// Anomalies at or above the severity that are not reported yet and that no analyst's
    /// feedback covers, highest score first.
    pub async fn candidates(&self, pool: &PgPool, limit: i64) -> anyhow::Result<Vec<Candidate>> {
        // what analysts' feedback covers (suppressions, false-positive verdicts) is not reported
        let rows: Vec<Candidate> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {} from anomalies a join analytics_runs ar on ar.run_id = a.run_id \
             left join run_anchors ra on ra.run_id = a.run_id \
             left join sentinel_reports r on r.role = a.role and r.actor = a.actor \
                  and r.window_start = a.window_start and r.kind = a.kind \
             where r.actor is null and a.superseded_by is null and (ra.run_id is not null or not $2) \
             and {} order by a.score desc, a.anomaly_id limit $1",
            candidate_columns!(),
            datapact_analytics::feedback::uncovered_sql()
        )))
        .bind(limit * 4)
        .bind(self.cfg.require_anchor)
        .fetch_all(pool)
        .await
        .context("reading the anomalies")?;
        let min = severity_rank(self.cfg.min_severity.as_str());
        Ok(rows
            .into_iter()
            .filter(|c| severity_rank(&c.severity) >= min)
            .take(limit as usize)
            .collect())
    }

    /// One pass: recover pending reports, then report new anomalies within the rate limit.
    pub async fn pass(&mut self, pool: &PgPool) -> anyhow::Result<PassStats> {
        let mut stats = PassStats::default();
        if !self.cfg.dry_run {
            stats.recovered = self.recover(pool).await?;
        }
        let candidates = self.candidates(pool, 50).await?;
        for c in candidates {
            self.sent.retain(|t| t.elapsed() < Duration::from_secs(60));
            if self.sent.len() >= self.cfg.per_minute as usize {
                stats.waiting += 1;
                continue;
            }
            if self.cfg.dry_run {
                println!(
                    "would report {} {} ({} {}, score {:.3}): evidence {} from {}",
                    c.role,
                    c.actor,
                    c.kind,
                    c.severity,
                    c.score,
                    c.evidence_hash(),
                    c.canonical()
                );
                stats.dry_run += 1;
                continue;
            }
            self.report(pool, &c).await?;
            self.sent.push(Instant::now());
            stats.reported += 1;
        }
        Ok(stats)
    }

    async fn report(&mut self, pool: &PgPool, c: &Candidate) -> anyhow::Result<()> {
        let msg = execute_msg(&self.sender.addr(), &self.audit, &c.message()?, &[])?;
        let bytes = self
            .sender
            .sign(&self.chain, vec![msg], GAS, "datapact sentinel")?;
        let hash = hex::encode_upper(Sha256::digest(&bytes));
        // stored before it leaves: a crash from here on finds it pending
        sqlx::query(
            "insert into sentinel_reports (role, actor, window_start, kind, score, severity, evidence_hash, \
             report_text, status, sender, tx_hash, tx_bytes, sequence) \
             values ($1, $2, to_timestamp($3), $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12)",
        )
        .bind(&c.role)
        .bind(&c.actor)
        .bind(c.window_start as f64)
        .bind(&c.kind)
        .bind(c.score)
        .bind(&c.severity)
        .bind(c.evidence_hash())
        .bind(c.canonical())
        .bind(self.sender.addr())
        .bind(&hash)
        .bind(base64::engine::general_purpose::STANDARD.encode(&bytes))
        .bind(self.sender.sequence as i64)
        .execute(pool)
        .await
        .context("recording the report before sending it")?;
        self.sender.sequence += 1;
        let outcome = self.broadcast_and_wait(&bytes, &hash).await?;
        if std::env::var_os("DATAPACT_SENTINEL_CRASH_AFTER_BROADCAST").is_some() {
            // fault injection for the crash test: die between broadcast and recording
            std::process::abort();
        }
        self.record(pool, &hash, &outcome).await?;
        tracing::info!(
            "reported {} {} ({}, {}) in tx {hash} at height {}",
            c.role,
            c.actor,
            c.kind,
            c.severity,
            outcome.height
        );
        Ok(())
    }

    /// Broadcasts signed bytes (again, after a crash) and waits for their block.
    async fn broadcast_and_wait(&self, bytes: &[u8], hash: &str) -> anyhow::Result<TxOutcome> {
        match self.chain.broadcast(bytes.to_vec()).await {
            Ok(_) => {}
            // already in the mempool from an earlier attempt: it will be included once
            Err(e) if e.to_string().contains("already exists in cache") => {}
            Err(e) => return Err(e),
        }
        let h: cosmrs::tendermint::Hash = hash
            .parse()
            .map_err(|e| anyhow::anyhow!("tx hash {hash}: {e}"))?;
        self.chain.wait_tx(h, Duration::from_secs(60)).await
    }

    async fn record(&self, pool: &PgPool, hash: &str, o: &TxOutcome) -> anyhow::Result<()> {
        if !o.ok() {
            bail!(
                "the audit contract refused the alert in tx {hash} (code {}): {}",
                o.code,
                o.log
            );
        }
        let seq: Option<i64> = o
            .wasm_attr("report_alert", "entry_seq")
            .and_then(|v| v.parse().ok());
        let suspended = o.wasm_attr("report_alert", "suspended") == Some("true");
        sqlx::query(
            "update sentinel_reports set status = 'reported', alert_seq = $2, height = $3, suspended = $4, \
             reported_at = now() where tx_hash = $1",
        )
        .bind(hash)
        .bind(seq)
        .bind(o.height as i64)
        .bind(suspended)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Settles reports a crash left pending; returns how many.
    async fn recover(&mut self, pool: &PgPool) -> anyhow::Result<u32> {
        let pending: Vec<(String, String, i64)> = sqlx::query_as(
            "select tx_hash, tx_bytes, sequence from sentinel_reports where status = 'pending' and sender = $1 \
             order by sequence",
        )
        .bind(self.sender.addr())
        .fetch_all(pool)
        .await?;
        let mut n = 0;
        for (hash, b64, _seq) in pending {
            let h: cosmrs::tendermint::Hash = hash
                .parse()
                .map_err(|e| anyhow::anyhow!("tx hash {hash}: {e}"))?;
            // on chain already? then only the recording was lost
            if let Ok(o) = self.chain.wait_tx(h, Duration::from_millis(300)).await {
                tracing::info!(
                    "found pending report tx {hash} on chain at height {}",
                    o.height
                );
                self.record(pool, &hash, &o).await?;
                n += 1;
                continue;
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .context("stored tx bytes")?;
            match self.broadcast_and_wait(&bytes, &hash).await {
                Ok(o) => {
                    tracing::info!(
                        "re-sent pending report tx {hash}: included at height {}",
                        o.height
                    );
                    self.record(pool, &hash, &o).await?;
                    n += 1;
                }
                Err(e)
                    if matches!(
                        e.downcast_ref::<ChainError>(),
                        Some(ChainError::CheckTx { code: 32, .. })
                    ) =>
                {
                    // its sequence went to another transaction and it is not on chain: it was
                    // never included; forget it, the anomaly is reported afresh
                    tracing::warn!("pending report tx {hash} was never included; reporting again");
                    sqlx::query("delete from sentinel_reports where tx_hash = $1")
                        .bind(&hash)
                        .execute(pool)
                        .await?;
                }
                Err(e) => return Err(e.context(format!("re-sending pending report tx {hash}"))),
            }
        }
        // the account's sequence after whatever went through
        let (_, seq) = self.chain.account(&self.sender.addr()).await?;
        self.sender.sequence = seq;
        Ok(n)
    }
}

/// A responder's action on an alert.
pub enum Response {
    Acknowledge,
    Resolve(String),
    Lift,
}

/// Sends a responder's message to the audit contract and waits for its block.
pub async fn respond(
    chain: &Chain,
    d: &Deployment,
    wallet: Wallet,
    alert_seq: u64,
    action: Response,
) -> anyhow::Result<TxOutcome> {
    let audit = d.address("audit")?;
    let msg = match action {
        Response::Acknowledge => AuditMsg::Acknowledge { alert_seq },
        Response::Resolve(resolution) => AuditMsg::Resolve {
            alert_seq,
            resolution,
        },
        Response::Lift => AuditMsg::LiftSuspension { alert_seq },
    };
    let mut sender = Sender::load(chain, wallet).await?;
    let any = execute_msg(&sender.addr(), audit, &msg, &[])?;
    let o = sender.exec(chain, vec![any], GAS).await?;
    Ok(o.into_ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_severity_is_the_one_the_evaluation_chose() {
        assert_eq!(
            SentinelConfig::default().min_severity.as_str(),
            datapact_analytics::SENTINEL_DEFAULT_SEVERITY
        );
    }

    fn candidate() -> Candidate {
        Candidate {
            role: "consumer".into(),
            actor: "wasm1x".into(),
            window_start: 100,
            window_end: 160,
            kind: "consumer_behaviour".into(),
            method: "model".into(),
            score: 0.93456,
            severity: "high".into(),
            explanation: "960 accesses".into(),
            first_height: 5,
            last_height: 9,
            txs: vec![],
            targets: vec!["asset:7@2".into()],
            model_version: "m1".into(),
            run_id: 3,
            manifest_sha256: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn the_canonical_report_has_sorted_keys_and_a_stable_hash() {
        let c = candidate();
        let text = c.canonical();
        assert!(
            text.starts_with(r#"{"actor":"wasm1x","explanation""#),
            "{text}"
        );
        assert!(text.contains(r#""score":"0.9346""#));
        assert!(!text.contains(' ') || text.contains("960 accesses"));
        assert_eq!(c.evidence_hash(), c.clone().evidence_hash());
        assert_eq!(c.evidence_hash().len(), 64);
        let mut d = c.clone();
        d.score = 0.5;
        assert_ne!(
            c.evidence_hash(),
            d.evidence_hash(),
            "the hash covers the score"
        );
        let mut e = c.clone();
        e.manifest_sha256 = Some("cd".repeat(32));
        assert_ne!(
            c.evidence_hash(),
            e.evidence_hash(),
            "the hash covers the run's manifest"
        );
        assert!(text.contains(&format!(
            r#""run":{{"id":3,"manifest_sha256":"{}"}}"#,
            "ab".repeat(32)
        )));
    }

    #[test]
    fn the_alert_message_carries_severity_score_asset_and_evidence() {
        let c = candidate();
        match c.message().unwrap() {
            AuditMsg::ReportAlert {
                severity,
                score,
                asset_id,
                evidence_hash,
                subject,
                ..
            } => {
                assert_eq!(severity, Severity::High);
                assert_eq!(score.to_string(), "0.9346");
                assert_eq!(asset_id, Some(7));
                assert_eq!(evidence_hash, c.evidence_hash());
                assert_eq!(subject, "wasm1x");
            }
            _ => panic!("not a ReportAlert"),
        }
        let mut bad = c;
        bad.severity = "apocalyptic".into();
        assert!(bad
            .message()
            .unwrap_err()
            .to_string()
            .contains("use info, low"));
    }
}
