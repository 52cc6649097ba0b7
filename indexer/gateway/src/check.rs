//! The checks before a delivery (steps 1–4 of the README), in order; the first that fails
//! answers.

use std::time::{SystemTime, UNIX_EPOCH};

use cosmrs::tendermint::Hash;
use datapact_agreements::msg::{AgreementResponse, QueryMsg};
use datapact_chain::{Chain, TxOutcome};
use datapact_consent::msg::{ConsentsInForceResponse, QueryMsg as ConsentQuery};
use datapact_plane::AccessProof;
use datapact_types::agreements::CanAccessResponse;
use datapact_types::events::{action, key};

use crate::refusal::Refusal;

/// What a gateway is and whom it trusts.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The name proofs must carry (`--gateway-id`): a proof for another gateway is refused.
    pub gateway_id: String,
    /// The agreements contract whose `record_access` transactions are redeemed.
    pub agreements: String,
    /// The consent contract the agreements contract asks (for personal data's rows).
    pub consent: String,
    /// The registry (for quality attestations).
    pub registry: String,
    /// The longest a proof may live (seconds from now to its expiry).
    pub max_proof_seconds: u64,
    /// The oldest `record_access` transaction redeemed (seconds from its block to now).
    pub max_record_seconds: u64,
    /// Quality checkers this gateway trusts: when any is named, a version is served only with a
    /// standing passing quality attestation by one of them.
    pub require_quality: Vec<String>,
}

/// A request that passed every check: what to deliver, and to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    pub consumer: String,
    pub agreement_id: u64,
    pub asset_id: u64,
    pub version: u32,
    pub subject: Option<String>,
    /// Upper-case hex, as the chain prints it.
    pub record_tx: String,
    pub nonce: String,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Step 1–2: the proof from the `Authorization` header's value.
pub fn read_proof(
    header: Option<&str>,
    chain: &Chain,
    config: &GatewayConfig,
    asset: u64,
    version: u32,
    now: u64,
) -> Result<(String, datapact_plane::AccessRequest), Refusal> {
    let proof = header
        .and_then(AccessProof::from_header)
        .ok_or(Refusal::NoProof)?
        .map_err(Refusal::Proof)?;
    let verified = proof
        .verify(
            &chain.prefix,
            &config.gateway_id,
            &chain.chain_id,
            now,
            config.max_proof_seconds,
        )
        .map_err(Refusal::Proof)?;
    let r = &verified.request;
    if r.asset_id != asset || r.version != version {
        return Err(Refusal::PathMismatch {
            asked_asset: r.asset_id,
            asked_version: r.version,
            asset,
            version,
        });
    }
    Ok((verified.signer, verified.request))
}

/// Step 3: the `record_access` transaction `tx` records an access by `signer` on the
/// request's agreement and asset, in `agreements`. Returns the subject the access named.
pub fn check_record(
    tx: &TxOutcome,
    agreements: &str,
    signer: &str,
    request: &datapact_plane::AccessRequest,
) -> Result<Option<String>, Refusal> {
    let hash = tx.hash.clone();
    if !tx.ok() {
        return Err(Refusal::RecordFailed {
            tx: hash,
            log: tx.log.clone(),
        });
    }
    let mismatch = |why: String| Refusal::RecordMismatch {
        tx: hash.clone(),
        why,
    };
    let event = tx
        .wasm_events(action::RECORD_ACCESS)
        .find(|e| e.get("_contract_address") == Some(agreements))
        .ok_or_else(|| mismatch(format!("it has no record_access of contract {agreements}")))?;
    let agreement = event.get(key::AGREEMENT_ID).unwrap_or_default();
    if agreement != request.agreement_id.to_string() {
        return Err(mismatch(format!(
            "it is for agreement {agreement}, the proof names {}",
            request.agreement_id
        )));
    }
    let asset = event.get(key::ASSET_ID).unwrap_or_default();
    if asset != request.asset_id.to_string() {
        return Err(mismatch(format!(
            "it is for asset {asset}, the proof names {}",
            request.asset_id
        )));
    }
    let consumer = event.get(key::CONSUMER).unwrap_or_default();
    if consumer != signer {
        return Err(mismatch(format!(
            "it was recorded by {consumer}, the proof is signed by {signer}"
        )));
    }
    Ok(event.get(key::SUBJECT).map(str::to_string))
}

/// Steps 3–4 against the chain: the transaction, its age, and `CanDeliver` now.
pub async fn admit(
    chain: &Chain,
    config: &GatewayConfig,
    signer: String,
    request: datapact_plane::AccessRequest,
    now: u64,
) -> Result<Admitted, Refusal> {
    let unavailable = |e: anyhow::Error| Refusal::Unavailable(format!("{e:#}"));
    let not_found = || Refusal::RecordNotFound(request.record_tx.clone());
    let hash: Hash = request.record_tx.parse().map_err(|_| not_found())?;
    let tx = chain
        .find_tx(hash)
        .await
        .map_err(unavailable)?
        .ok_or_else(not_found)?;
    let subject = check_record(&tx, &config.agreements, &signer, &request)?;
    let recorded_at = chain.block_time(tx.height).await.map_err(unavailable)?;
    let age = now.saturating_sub(recorded_at);
    if age > config.max_record_seconds {
        return Err(Refusal::RecordTooOld {
            tx: tx.hash,
            age,
            max: config.max_record_seconds,
        });
    }
    let verdict: CanAccessResponse = chain
        .smart(
            &config.agreements,
            &QueryMsg::CanDeliver {
                agreement_id: request.agreement_id,
                subject: subject.clone(),
            },
        )
        .await
        .map_err(unavailable)?;
    if let Some(reason) = verdict.reason.filter(|_| !verdict.allowed) {
        return Err(Refusal::Chain {
            agreement_id: request.agreement_id,
            reason,
        });
    }
    Ok(Admitted {
        consumer: signer,
        agreement_id: request.agreement_id,
        asset_id: request.asset_id,
        version: request.version,
        subject,
        record_tx: tx.hash.to_uppercase(),
        nonce: request.nonce,
    })
}

/// The first of `attestors` with a standing passing quality attestation
/// (`datapact_quality::PASSED_CLAIM`) on asset `asset_id` version `version`, if any.
pub async fn quality_passed(
    chain: &Chain,
    registry: &str,
    asset_id: u64,
    version: u32,
    attestors: &[String],
) -> anyhow::Result<Option<String>> {
    use datapact_registry::msg::{AttestationCursor, AttestationsResponse, QueryMsg as RQ};
    let mut start_after = None;
    loop {
        let page: AttestationsResponse = chain
            .smart(
                registry,
                &RQ::Attestations {
                    asset_id,
                    version,
                    start_after,
                    limit: Some(50),
                },
            )
            .await?;
        if let Some(a) = page.attestations.iter().find(|a| {
            a.claim == datapact_quality::PASSED_CLAIM
                && a.revoked_height.is_none()
                && attestors.iter().any(|t| t == a.attestor.as_str())
        }) {
            return Ok(Some(a.attestor.to_string()));
        }
        let Some(last) = page.attestations.last() else {
            return Ok(None);
        };
        start_after = Some(AttestationCursor {
            attestor: last.attestor.to_string(),
            claim: last.claim.clone(),
        });
    }
}

/// The subjects consent is asked for in one query (the consent contract's limit).
const CONSENT_BATCH: usize = 100;

/// Which of `subjects` consent now to the provider of `agreement_id` using its asset for its
/// purpose: the consent contract's `ConsentsInForce`, asked in batches. Order is kept.
pub async fn consents_in_force(
    chain: &Chain,
    config: &GatewayConfig,
    agreement_id: u64,
    subjects: &[String],
) -> Result<Vec<String>, Refusal> {
    let unavailable = |e: anyhow::Error| Refusal::Unavailable(format!("{e:#}"));
    let a: AgreementResponse = chain
        .smart(&config.agreements, &QueryMsg::Agreement { agreement_id })
        .await
        .map_err(unavailable)?;
    let mut in_force = Vec::new();
    for batch in subjects.chunks(CONSENT_BATCH) {
        let r: ConsentsInForceResponse = chain
            .smart(
                &config.consent,
                &ConsentQuery::ConsentsInForce {
                    controller: a.agreement.provider.to_string(),
                    asset_id: a.agreement.asset_id,
                    purpose: a.agreement.purpose.clone(),
                    subjects: batch.to_vec(),
                },
            )
            .await
            .map_err(unavailable)?;
        in_force.extend(r.in_force);
    }
    Ok(in_force)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datapact_chain::TxEvent;

    fn request() -> datapact_plane::AccessRequest {
        datapact_plane::AccessRequest {
            gateway: "g".into(),
            chain_id: "c".into(),
            agreement_id: 7,
            asset_id: 3,
            version: 1,
            record_tx: "AB".into(),
            nonce: "n".into(),
            expires: 0,
        }
    }

    fn tx(code: u32, attrs: &[(&str, &str)]) -> TxOutcome {
        TxOutcome {
            hash: "AB".into(),
            height: 5,
            code,
            log: "failed to execute message".into(),
            gas_wanted: 0,
            gas_used: 0,
            events: vec![TxEvent {
                kind: "wasm".into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }],
        }
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("_contract_address", "wasm1agreements"),
            ("action", "record_access"),
            ("agreement_id", "7"),
            ("asset_id", "3"),
            ("consumer", "wasm1consumer"),
        ]
    }

    fn reason(r: Result<Option<String>, Refusal>) -> &'static str {
        r.err().map_or("admitted", |e| e.reason())
    }

    #[test]
    fn a_record_of_this_access_by_the_signer_is_admitted_with_its_subject() {
        let mut attrs = good();
        attrs.push(("subject", "psn:abc"));
        let got = check_record(
            &tx(0, &attrs),
            "wasm1agreements",
            "wasm1consumer",
            &request(),
        );
        assert_eq!(got.unwrap(), Some("psn:abc".to_string()));
    }

    #[test]
    fn a_record_that_differs_in_any_field_is_refused_as_a_mismatch() {
        let (c, me, r) = ("wasm1agreements", "wasm1consumer", request());
        assert_eq!(
            reason(check_record(&tx(0, &good()), "wasm1other", me, &r)),
            "record_mismatch",
            "another agreements contract"
        );
        assert_eq!(
            reason(check_record(&tx(0, &good()), c, "wasm1stranger", &r)),
            "record_mismatch",
            "recorded by someone else than the signer"
        );
        for (k, v) in [("agreement_id", "8"), ("asset_id", "4"), ("action", "sign")] {
            let attrs: Vec<_> = good()
                .into_iter()
                .map(|(a, b)| if a == k { (a, v) } else { (a, b) })
                .collect();
            assert_eq!(
                reason(check_record(&tx(0, &attrs), c, me, &r)),
                "record_mismatch",
                "{k} = {v}"
            );
        }
        assert_eq!(
            reason(check_record(&tx(5, &good()), c, me, &r)),
            "record_failed",
            "a failed transaction records nothing"
        );
    }
}
