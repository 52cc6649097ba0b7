//! The data subject's side: give and withdraw consent from a wallet, list one's consents, and
//! sign a consent off chain (for a subject without a wallet) that anyone can relay.

use cosmwasm_std::{Binary, Timestamp};
use datapact_chain::tx::Sender;
use datapact_chain::{Chain, Deployment};
use datapact_consent::msg::{
    ConsentsResponse, ExecuteMsg as ConsentMsg, NonceResponse, QueryMsg as CQ,
};
use datapact_types::consent::{
    key_subject_id, AssetScope, ConsentRecord, ConsentSignDoc, ConsentTerms, LegalBasis,
    SignedAction,
};
use datapact_types::events::{action, key};
use k256::ecdsa::signature::hazmat::PrehashSigner;
use serde::{Deserialize, Serialize};

use super::exec;

/// What a subject consents to.
#[derive(Clone, Debug)]
pub struct ConsentAsk {
    /// The provider (controller) the consent is given to.
    pub controller: String,
    /// One asset, or every asset of the controller when `None`.
    pub asset_id: Option<u64>,
    pub purposes: Vec<String>,
    /// Days until the consent lapses by itself; never when `None`.
    pub days: Option<u64>,
}

impl ConsentAsk {
    fn terms(&self, now: u64) -> ConsentTerms {
        ConsentTerms {
            controller: self.controller.clone(),
            scope: match self.asset_id {
                Some(asset_id) => AssetScope::Asset { asset_id },
                None => AssetScope::AllOfController {},
            },
            purposes: self.purposes.clone(),
            legal_basis: LegalBasis::Consent,
            expires_at: self
                .days
                .map(|d| Timestamp::from_seconds(now + d.saturating_mul(86_400))),
        }
    }
}

/// A consent or a withdrawal signed off chain: what `relay` sends as `GrantSigned` or
/// `WithdrawSigned`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedConsent {
    pub chain_id: String,
    pub contract: String,
    /// The subject id the chain records (`key:<hex of the public key>`).
    pub subject: String,
    /// A grant with its terms, or the withdrawal of one of the subject's consents.
    pub action: SignedAction,
    pub nonce: u64,
    pub public_key: Binary,
    pub signature: Binary,
}

/// The id of the consent a transaction created or withdrew.
fn consent_id(o: &datapact_chain::TxOutcome, act: &str) -> anyhow::Result<u64> {
    o.wasm_id(act, key::CONSENT_ID)
}

/// The sender consents (as its own address).
pub async fn grant(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    ask: &ConsentAsk,
) -> anyhow::Result<(u64, String)> {
    let now = chain.block_time(chain.latest_height().await?).await?;
    let o = exec(
        chain,
        sender,
        deployment.address("consent")?,
        &ConsentMsg::Grant {
            subject: None,
            terms: ask.terms(now),
        },
        &[],
    )
    .await?;
    Ok((consent_id(&o, action::GRANT)?, o.hash))
}

/// The sender withdraws one of its consents; every delivery after this block is refused.
pub async fn withdraw(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    consent_id: u64,
) -> anyhow::Result<String> {
    let o = exec(
        chain,
        sender,
        deployment.address("consent")?,
        &ConsentMsg::Withdraw { consent_id },
        &[],
    )
    .await?;
    Ok(o.hash)
}

/// Every consent `subject` gave (the newest 100 first pages, oldest first).
pub async fn consents(
    chain: &Chain,
    deployment: &Deployment,
    subject: &str,
) -> anyhow::Result<Vec<ConsentRecord>> {
    let contract = deployment.address("consent")?;
    let mut out = Vec::new();
    let mut start_after = None;
    while out.len() < 1_000 {
        let page: ConsentsResponse = chain
            .smart(
                contract,
                &CQ::BySubject {
                    subject: subject.to_string(),
                    start_after,
                    limit: Some(100),
                },
            )
            .await?;
        let Some(last) = page.consents.last() else {
            break;
        };
        start_after = Some(last.id);
        out.extend(page.consents);
    }
    Ok(out)
}

/// Signs a consent with a bare secp256k1 key (no wallet, no funds): the chain id, the consent
/// contract and the key's next nonce are read from the chain; nothing is sent.
pub async fn sign_consent(
    chain: &Chain,
    deployment: &Deployment,
    key: &k256::ecdsa::SigningKey,
    ask: &ConsentAsk,
) -> anyhow::Result<SignedConsent> {
    let now = chain.block_time(chain.latest_height().await?).await?;
    let action = SignedAction::Grant {
        terms: ask.terms(now),
    };
    sign_action(chain, deployment, key, action).await
}

/// Signs the withdrawal of consent `consent_id` with the subject's key, for anyone to relay.
pub async fn sign_withdrawal(
    chain: &Chain,
    deployment: &Deployment,
    key: &k256::ecdsa::SigningKey,
    consent_id: u64,
) -> anyhow::Result<SignedConsent> {
    sign_action(
        chain,
        deployment,
        key,
        SignedAction::Withdraw { consent_id },
    )
    .await
}

async fn sign_action(
    chain: &Chain,
    deployment: &Deployment,
    key: &k256::ecdsa::SigningKey,
    action: SignedAction,
) -> anyhow::Result<SignedConsent> {
    let contract = deployment.address("consent")?.to_string();
    let public = key
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec();
    let subject = key_subject_id(&public);
    let nonce: NonceResponse = chain
        .smart(
            &contract,
            &CQ::Nonce {
                subject: subject.clone(),
            },
        )
        .await?;
    let doc = ConsentSignDoc {
        chain_id: chain.chain_id.clone(),
        contract: contract.clone(),
        nonce: nonce.next_nonce,
        action,
    };
    let digest = doc
        .digest()
        .map_err(|e| anyhow::anyhow!("the sign doc: {e}"))?;
    let signature: k256::ecdsa::Signature = key
        .sign_prehash(&digest)
        .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    let signature = signature.normalize_s().unwrap_or(signature);
    Ok(SignedConsent {
        chain_id: doc.chain_id,
        contract,
        subject,
        action: doc.action,
        nonce: doc.nonce,
        public_key: Binary::from(public),
        signature: Binary::from(signature.to_bytes().to_vec()),
    })
}

/// A new subject key (hex secp256k1 secret) for `sign_consent`.
pub fn new_subject_key() -> (k256::ecdsa::SigningKey, String) {
    let key = k256::ecdsa::SigningKey::random(&mut k256::elliptic_curve::rand_core::OsRng);
    let hex = hex::encode(key.to_bytes());
    (key, hex)
}

/// Reads a subject key written by [`new_subject_key`] (64 hex digits).
pub fn read_subject_key(text: &str) -> anyhow::Result<k256::ecdsa::SigningKey> {
    let bytes = hex::decode(text.trim()).map_err(|_| {
        anyhow::anyhow!("a subject key is 64 hex digits (make one with `datapact subject keygen`)")
    })?;
    k256::ecdsa::SigningKey::from_slice(&bytes).map_err(|_| {
        anyhow::anyhow!("not a secp256k1 secret key (make one with `datapact subject keygen`)")
    })
}

/// Sends a signed consent or withdrawal from any wallet (the relayer pays the fee, the key's
/// holder decides). Returns the consent's id and the transaction.
pub async fn relay(
    chain: &Chain,
    deployment: &Deployment,
    sender: &mut Sender,
    signed: &SignedConsent,
) -> anyhow::Result<(u64, String)> {
    let contract = deployment.address("consent")?;
    if signed.contract != contract || signed.chain_id != chain.chain_id {
        anyhow::bail!(
            "the consent was signed for contract {} on chain {}, this is {} on {}: sign it again for this chain",
            signed.contract,
            signed.chain_id,
            contract,
            chain.chain_id
        );
    }
    let (nonce, public_key, signature) = (
        signed.nonce,
        signed.public_key.clone(),
        signed.signature.clone(),
    );
    let (msg, act) = match &signed.action {
        SignedAction::Grant { terms } => (
            ConsentMsg::GrantSigned {
                terms: terms.clone(),
                nonce,
                public_key,
                signature,
            },
            action::GRANT_SIGNED,
        ),
        SignedAction::Withdraw { consent_id } => (
            ConsentMsg::WithdrawSigned {
                consent_id: *consent_id,
                nonce,
                public_key,
                signature,
            },
            action::WITHDRAW_SIGNED,
        ),
        SignedAction::BindWallet { .. } => anyhow::bail!(
            "this file binds a pseudonym to a wallet; `relay` sends signed grants and withdrawals"
        ),
    };
    let o = exec(chain, sender, contract, &msg, &[]).await?;
    Ok((consent_id(&o, act)?, o.hash))
}
