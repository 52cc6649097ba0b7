//! The agreements contract's events.

use datapact_types::events::{action as a, key as k};

use super::attrs::{EventAttrs, Undecodable};
use crate::copy::{PgArray, UnixTime};
use crate::tables::{Access, Agreement, AgreementChange, ConsumerSuspension, Offer, Pos, Rows};

pub fn decode(
    action: &str,
    sender: &str,
    e: &EventAttrs,
    at: Pos,
    out: &mut Rows,
) -> Result<(), Undecodable> {
    match action {
        a::CREATE_OFFER => out.offers.push(Offer {
            at,
            offer_id: e.number(k::OFFER_ID)?,
            asset_id: e.number(k::ASSET_ID)?,
            provider: e.text(k::PROVIDER)?.into(),
            price: e.text(k::PRICE)?.into(),
            consent_required: e.flag(k::CONSENT_REQUIRED)?,
            purposes: PgArray(e.list(k::PURPOSES)?),
            access_cap: e.optional_number(k::ACCESS_CAP)?,
            delivery_share_bps: e.optional_number(k::DELIVERY_SHARE_BPS)?,
        }),
        a::SIGN => out.agreements.push(Agreement {
            at,
            agreement_id: e.number(k::AGREEMENT_ID)?,
            offer_id: e.number(k::OFFER_ID)?,
            asset_id: e.number(k::ASSET_ID)?,
            provider: e.text(k::PROVIDER)?.into(),
            consumer: e.text(k::CONSUMER)?.into(),
            purpose: e.text(k::PURPOSE)?.into(),
            price: e.text(k::PRICE)?.into(),
            expires_at: UnixTime(e.number(k::EXPIRES_AT)?),
        }),
        a::RECORD_ACCESS => out.accesses.push(Access {
            at,
            agreement_id: e.number(k::AGREEMENT_ID)?,
            asset_id: e.number(k::ASSET_ID)?,
            consumer: e.text(k::CONSUMER)?.into(),
            purpose: e.text(k::PURPOSE)?.into(),
            subject: e.optional(k::SUBJECT).map(str::to_string),
            access_count: e.number(k::ACCESS_COUNT)?,
        }),
        a::SUSPEND_CONSUMER | a::LIFT_SUSPENSION => {
            out.consumer_suspensions.push(ConsumerSuspension {
                at,
                consumer: e.text(k::CONSUMER)?.into(),
                alert_seq: e.number(k::ALERT_SEQ)?,
                lifted: action == a::LIFT_SUSPENSION,
            })
        }
        // deposits, suspensions, resumptions, terminations, claims, offer withdrawals
        change => {
            let (amount, refunded) = match change {
                a::CLAIM => (e.optional(k::AMOUNT), None),
                a::TERMINATE => (
                    e.optional(k::PAID_TO_PROVIDER),
                    e.optional(k::REFUNDED_TO_CONSUMER),
                ),
                _ => (None, None),
            };
            out.agreement_changes.push(AgreementChange {
                at,
                agreement_id: e.optional_number(k::AGREEMENT_ID)?,
                offer_id: e.optional_number(k::OFFER_ID)?,
                change: change.into(),
                actor: sender.into(),
                amount: amount.map(str::to_string),
                refunded: refunded.map(str::to_string),
            });
        }
    }
    Ok(())
}
