//! The consent contract's events.

use datapact_types::events::{action as a, key as k};

use super::attrs::{EventAttrs, Undecodable};
use crate::copy::{PgArray, UnixTime};
use crate::tables::{Consent, ConsentWithdrawal, Pos, Rows};

pub fn decode(
    action: &str,
    _sender: &str,
    e: &EventAttrs,
    at: Pos,
    out: &mut Rows,
) -> Result<(), Undecodable> {
    match action {
        a::GRANT | a::GRANT_SIGNED => out.consents.push(Consent {
            at,
            consent_id: e.number(k::CONSENT_ID)?,
            subject: e.text(k::SUBJECT)?.into(),
            controller: e.text(k::CONTROLLER)?.into(),
            scope: e.text(k::SCOPE)?.into(),
            purposes: PgArray(e.list(k::PURPOSES)?),
            legal_basis: e.text(k::LEGAL_BASIS)?.into(),
            method: e.text(k::METHOD)?.into(),
            expires_at: e.optional_number(k::EXPIRES_AT)?.map(UnixTime),
        }),
        a::WITHDRAW | a::WITHDRAW_SIGNED => out.consent_withdrawals.push(ConsentWithdrawal {
            at,
            consent_id: e.number(k::CONSENT_ID)?,
            subject: e.text(k::SUBJECT)?.into(),
            controller: e.text(k::CONTROLLER)?.into(),
            signed: action == a::WITHDRAW_SIGNED,
        }),
        // which wallet acts for a pseudonym: kept in `events`, no table reads it
        a::BIND_PSEUDONYM => {}
        other => return Err(Undecodable(format!("no table for consent action {other}"))),
    }
    Ok(())
}
