//! The forecasts' reads: counts per key and step up to the run's last height, and the
//! agreements' state then.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use polars::prelude::*;
use sqlx::PgPool;

use super::{copy_bytes, parse_csv};
use crate::features::{i64_col, str_col};
use crate::manifest::{self, Digest};

/// An agreement as the forecasts see it at the run's last height.
#[derive(Clone, Debug, PartialEq)]
pub struct AgreementState {
    pub agreement_id: i64,
    pub asset_id: i64,
    pub provider: String,
    pub consumer: String,
    /// the offer's access cap, if any
    pub cap: Option<i64>,
    /// accesses recorded so far
    pub used: i64,
    /// unix seconds
    pub expires_at: Option<i64>,
    /// terminated agreements are not forecast
    pub terminated: bool,
}

/// What the forecasts read: counts per key and step (`step` = unix seconds / step length), for
/// every step up to the run's last height, and the agreements' state then.
#[derive(Clone, Debug, Default)]
pub struct SeriesInputs {
    pub step_seconds: i64,
    /// the step the run's last block falls in: the first one forecast
    pub origin: i64,
    /// (agreement, step, accesses)
    pub accesses: Vec<(i64, i64, i64)>,
    /// (asset, step, agreements signed)
    pub signed: Vec<(i64, i64, i64)>,
    /// (scope: `asset:N` or `controller:<address>`, step, consents withdrawn)
    pub withdrawals: Vec<(String, i64, i64)>,
    pub agreements: Vec<AgreementState>,
    /// each read's digest, by name (`series_accesses`, ...)
    pub digests: BTreeMap<String, Digest>,
}

impl SeriesInputs {
    /// (asset, step, accesses): the agreements' accesses summed per asset.
    pub fn asset_accesses(&self) -> Vec<(i64, i64, i64)> {
        let asset_of: HashMap<i64, i64> = self
            .agreements
            .iter()
            .map(|a| (a.agreement_id, a.asset_id))
            .collect();
        self.accesses
            .iter()
            .filter_map(|(ag, s, n)| Some((*asset_of.get(ag)?, *s, *n)))
            .collect()
    }

    /// Reads the counts up to `to_height` in steps of `step_seconds`.
    pub async fn load(pool: &PgPool, to_height: i64, step_seconds: i64) -> anyhow::Result<Self> {
        use DataType::*;
        let (t, s) = (to_height, step_seconds.max(1));
        let step = format!("extract(epoch from b.time)::bigint / {s}");
        let origin: Option<i64> = sqlx::query_scalar(
            "select extract(epoch from b.time)::bigint / $2 from blocks b \
             where b.height = (select max(height) from blocks where height <= $1)",
        )
        .bind(t)
        .bind(s)
        .fetch_optional(pool)
        .await
        .context("reading the last block's time")?;
        let mut digests = BTreeMap::new();
        let mut read =
            async |name: &str, query: std::string::String, schema: &[(&str, DataType)]| {
                let bytes = copy_bytes(pool, &query).await?;
                digests.insert(name.to_string(), manifest::digest_copy(&query, &[&bytes]));
                parse_csv(&bytes, schema)
            };
        let count_schema = [("key", Int64), ("step", Int64), ("n", Int64)];
        let accesses = read(
            "series_accesses",
            format!(
                "select a.agreement_id, {step}, count(*) from accesses a join blocks b on b.height = a.height \
                 where a.height <= {t} group by 1, 2"
            ),
            &count_schema,
        )
        .await?;
        let signed = read(
            "series_signed",
            format!(
                "select g.asset_id, {step}, count(*) from agreements g join blocks b on b.height = g.height \
                 where g.height <= {t} group by 1, 2"
            ),
            &count_schema,
        )
        .await?;
        let withdrawals = read(
            "series_withdrawals",
            format!(
                "select case when c.scope like 'asset:%' then c.scope else 'controller:' || c.controller end, {step}, count(*) \
                 from consent_withdrawals w join consents c on c.consent_id = w.consent_id \
                 join blocks b on b.height = w.height where w.height <= {t} group by 1, 2"
            ),
            &[("key", String), ("step", Int64), ("n", Int64)],
        )
        .await?;
        let agreements = read(
            "series_agreements",
            format!(
                "select g.agreement_id, g.asset_id, g.provider, g.consumer, o.access_cap, \
                 extract(epoch from g.expires_at)::bigint, coalesce(u.used, 0), \
                 exists (select 1 from agreement_changes c where c.agreement_id = g.agreement_id \
                 and c.change = '{}' and c.height <= {t})::text \
                 from agreements g join offers o on o.offer_id = g.offer_id \
                 left join (select agreement_id, max(access_count) as used from accesses where height <= {t} group by 1) u \
                 on u.agreement_id = g.agreement_id where g.height <= {t}",
                datapact_types::events::action::TERMINATE
            ),
            &[
                ("agreement_id", Int64),
                ("asset_id", Int64),
                ("provider", String),
                ("consumer", String),
                ("cap", Int64),
                ("expires_at", Int64),
                ("used", Int64),
                ("terminated", Boolean),
            ],
        )
        .await?;
        let g = &agreements;
        let (id, asset, used) = (
            i64_col(g, "agreement_id")?,
            i64_col(g, "asset_id")?,
            i64_col(g, "used")?,
        );
        let (provider, consumer) = (str_col(g, "provider")?, str_col(g, "consumer")?);
        // cap and expiry may be absent; a missing one is not a zero
        let (cap, exp, term) = (
            g.column("cap")?.i64()?,
            g.column("expires_at")?.i64()?,
            g.column("terminated")?.bool()?,
        );
        let mut states: Vec<AgreementState> = (0..g.height())
            .map(|i| AgreementState {
                agreement_id: id[i],
                asset_id: asset[i],
                provider: provider[i].clone(),
                consumer: consumer[i].clone(),
                cap: cap.get(i),
                used: used[i],
                expires_at: exp.get(i),
                terminated: term.get(i).unwrap_or(false),
            })
            .collect();
        states.sort_by_key(|a| a.agreement_id);
        Ok(Self {
            step_seconds: s,
            origin: origin.unwrap_or(0),
            accesses: counts(i64_col(&accesses, "key")?, &accesses)?,
            signed: counts(i64_col(&signed, "key")?, &signed)?,
            withdrawals: counts(str_col(&withdrawals, "key")?, &withdrawals)?,
            agreements: states,
            digests,
        })
    }
}

/// (key, step, n) rows of a count read, sorted; `keys` is its key column.
fn counts<K: Ord>(keys: Vec<K>, df: &DataFrame) -> anyhow::Result<Vec<(K, i64, i64)>> {
    let mut v: Vec<(K, i64, i64)> = keys
        .into_iter()
        .zip(i64_col(df, "step")?)
        .zip(i64_col(df, "n")?)
        .map(|((k, s), n)| (k, s, n))
        .collect();
    v.sort_unstable();
    Ok(v)
}
