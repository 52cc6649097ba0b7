//! Agreements made the way the end-to-end tests need them: an asset with one version, offered
//! for "research", signed by a consumer who pays the price.

use cosmwasm_std::{Binary, Coin, Uint256};

use datapact_agreements::msg::{ExecuteMsg as A, QueryMsg as AQ};
use datapact_agreements::state::OfferTerms;
use datapact_registry::msg::ExecuteMsg as R;
use datapact_types::agreements::CanAccessResponse;
use datapact_types::{AgreementId, AssetId, Sensitivity};

use crate::{hash_hex, Ctx};

pub const DENOM: &str = "udpt";

/// An agreement made for a test: the asset, the agreement, the price paid.
pub struct Deal {
    pub asset_id: AssetId,
    pub agreement_id: AgreementId,
    pub price: u128,
}

/// What a test's offer says.
pub struct DealTerms {
    pub sensitivity: Sensitivity,
    pub cap: Option<u64>,
    pub price: u128,
    pub duration_seconds: u64,
}

impl Default for DealTerms {
    fn default() -> Self {
        Self {
            sensitivity: Sensitivity::Internal,
            cap: None,
            price: 1_000_000,
            duration_seconds: 86_400,
        }
    }
}

/// provider registers an asset with one version and offers it; consumer signs for "research".
pub async fn deal(ctx: &Ctx, provider: &str, consumer: &str, t: DealTerms) -> anyhow::Result<Deal> {
    let out = ctx
        .ok(
            provider,
            "registry",
            &R::RegisterAsset {
                name: format!("e2e asset of {provider}"),
                description: None,
                sensitivity: t.sensitivity,
                tags: vec![],
            },
            &[],
        )
        .await?;
    let asset_id: AssetId = out.wasm_id("register_asset", "asset_id")?;
    ctx.ok(
        provider,
        "registry",
        &R::PublishVersion {
            asset_id,
            content_hash: hash_hex(&format!("content {asset_id}")),
            schema_hash: None,
            uri: None,
            parents: vec![],
        },
        &[],
    )
    .await?;
    let terms = OfferTerms {
        permitted_purposes: vec!["research".into()],
        prohibited_purposes: vec!["marketing".into()],
        duration_seconds: t.duration_seconds,
        access_cap: t.cap,
        price: Coin {
            denom: DENOM.into(),
            amount: Uint256::from(t.price),
        },
        consent_required: t.sensitivity.is_personal(),
        delivery_share_bps: 2_500,
    };
    let out = ctx
        .ok(
            provider,
            "agreements",
            &A::CreateOffer { asset_id, terms },
            &[],
        )
        .await?;
    let offer_id: u64 = out.wasm_id("create_offer", "offer_id")?;
    let out = ctx
        .ok(
            consumer,
            "agreements",
            &A::Sign {
                offer_id,
                purpose: "research".into(),
                consumer_public_key: Binary::from(vec![2u8; 33]),
            },
            &[(t.price, DENOM)],
        )
        .await?;
    let agreement_id = out.wasm_id("sign", "agreement_id")?;
    Ok(Deal {
        asset_id,
        agreement_id,
        price: t.price,
    })
}

/// The RecordAccess of a deal, for `subject`.
pub fn access(d: &Deal, subject: Option<String>) -> A {
    A::RecordAccess {
        agreement_id: d.agreement_id,
        purpose: "research".into(),
        subject,
    }
}

/// What the chain answers a gateway asking about a deal now.
pub async fn can_access(
    ctx: &Ctx,
    consumer: &str,
    d: &Deal,
    subject: Option<String>,
) -> anyhow::Result<CanAccessResponse> {
    ctx.query(
        "agreements",
        &AQ::CanAccess {
            consumer: ctx.addr(consumer),
            asset_id: d.asset_id,
            purpose: "research".into(),
            subject,
        },
    )
    .await
}
