//! The audit contract's events.

use datapact_types::events::{action as a, key as k};

use super::attrs::{EventAttrs, Undecodable};
use crate::tables::{Alert, AuditChange, Pos, Rows};

pub fn decode(
    action: &str,
    sender: &str,
    e: &EventAttrs,
    at: Pos,
    out: &mut Rows,
) -> Result<(), Undecodable> {
    match action {
        a::REPORT_ALERT => out.alerts.push(Alert {
            at,
            alert_seq: e.number(k::ENTRY_SEQ)?,
            sentinel: sender.into(),
            kind: e.text(k::KIND)?.into(),
            severity: e.text(k::SEVERITY)?.into(),
            subject: e.text(k::SUBJECT)?.into(),
            asset_id: e.optional_number(k::ASSET_ID)?,
            evidence_hash: e.text(k::EVIDENCE_HASH)?.into(),
            score: e.text(k::SCORE)?.into(),
            model_version: e.text(k::MODEL_VERSION)?.into(),
            entry_hash: e.text(k::ENTRY_HASH)?.into(),
            suspended: e.flag(k::SUSPENDED)?,
        }),
        // acknowledgements, resolutions, lifts, role and policy changes
        change => out.audit_changes.push(AuditChange {
            at,
            alert_seq: e.optional_number(k::ALERT_SEQ)?,
            change: change.into(),
            actor: sender.into(),
            attrs: e.json(),
        }),
    }
    Ok(())
}
