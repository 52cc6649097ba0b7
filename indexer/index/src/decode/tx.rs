//! A transaction's body: its wasm executes, and a failed `RecordAccess` read as a refused
//! attempt through the agreements contract's own message type.

use base64::Engine;
use cosmrs::proto::cosmwasm::wasm::v1::MsgExecuteContract;
use cosmrs::proto::prost::Message;
use datapact_agreements::msg::ExecuteMsg as AgreementsMsg;
use datapact_types::agreements::Refusal;

use crate::tables::DeniedAttempt;

/// One `MsgExecuteContract` of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Execute {
    pub sender: String,
    pub contract: String,
    /// the message as JSON (base64 text when it is not JSON)
    pub msg: serde_json::Value,
}

impl Execute {
    /// The message's name: the key of its JSON object (`record_access`).
    pub fn action(&self) -> Option<String> {
        self.msg.as_object()?.keys().next().cloned()
    }
}

/// The wasm executes in a transaction's bytes (base64), or why they could not be read.
pub fn executes(bytes_b64: &str) -> Result<Vec<Execute>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bytes_b64)
        .map_err(|e| format!("tx bytes are not base64: {e}"))?;
    let raw = cosmrs::proto::cosmos::tx::v1beta1::TxRaw::decode(bytes.as_slice())
        .map_err(|e| format!("not a TxRaw: {e}"))?;
    let body = cosmrs::proto::cosmos::tx::v1beta1::TxBody::decode(raw.body_bytes.as_slice())
        .map_err(|e| format!("undecodable tx body: {e}"))?;
    let mut out = Vec::new();
    for m in body.messages {
        if m.type_url != "/cosmwasm.wasm.v1.MsgExecuteContract" {
            continue;
        }
        let exec = MsgExecuteContract::decode(m.value.as_slice())
            .map_err(|e| format!("undecodable MsgExecuteContract: {e}"))?;
        let msg = serde_json::from_slice(&exec.msg).unwrap_or_else(|_| {
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(&exec.msg))
        });
        out.push(Execute {
            sender: exec.sender,
            contract: exec.contract,
            msg,
        });
    }
    Ok(out)
}

/// The SDK's failure log names the failing message: "... message index: N: ...".
pub fn failing_msg_index(log: &str) -> Option<usize> {
    let rest = log.split("message index: ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The refused attempt a failed transaction records, when its failing message is a
/// `RecordAccess` to the agreements contract at `agreements`.
pub fn denied_attempt(
    height: i64,
    tx_index: i32,
    log: &str,
    execs: &[Execute],
    agreements: &str,
) -> Option<DeniedAttempt> {
    let msg_index = failing_msg_index(log).unwrap_or(0);
    let exec = execs.get(msg_index)?;
    if exec.contract != agreements {
        return None;
    }
    let Ok(AgreementsMsg::RecordAccess {
        agreement_id,
        purpose,
        subject,
    }) = serde_json::from_value(exec.msg.clone())
    else {
        return None;
    };
    Some(DeniedAttempt {
        height,
        tx_index,
        msg_index: i32::try_from(msg_index).unwrap_or(i32::MAX),
        consumer: exec.sender.clone(),
        agreement_id: i64::try_from(agreement_id).ok(),
        purpose: Some(purpose),
        subject,
        reason: Refusal::from_log(log),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datapact_types::agreements::DenyReason;

    fn exec(contract: &str, msg: serde_json::Value) -> Execute {
        Execute {
            sender: "c1".into(),
            contract: contract.into(),
            msg,
        }
    }

    #[test]
    fn the_failing_message_is_read_from_the_log() {
        let log = "failed to execute message; message index: 2: access under agreement 7 denied: cap_reached: execute wasm contract failed";
        assert_eq!(failing_msg_index(log), Some(2));
        assert_eq!(failing_msg_index("no index"), None);
    }

    #[test]
    fn a_failed_record_access_becomes_a_denied_attempt_with_its_reason() {
        let ra = serde_json::json!({"record_access": {"agreement_id": 7, "purpose": "research", "subject": "s1"}});
        let execs = [
            exec("agr", serde_json::json!({"claim": {"agreement_id": 1}})),
            exec("agr", ra),
        ];
        let log = "message index: 1: access under agreement 7 denied: cap_reached";
        let d = denied_attempt(9, 0, log, &execs, "agr").unwrap();
        assert_eq!(d.msg_index, 1);
        assert_eq!(d.agreement_id, Some(7));
        assert_eq!(d.purpose.as_deref(), Some("research"));
        assert_eq!(d.subject.as_deref(), Some("s1"));
        assert_eq!(d.reason, Refusal::Denied(DenyReason::CapReached));
        assert!(
            denied_attempt(9, 0, log, &execs, "other").is_none(),
            "another contract's failure is not an access attempt"
        );
        let log0 = "message index: 0: agreement 1 not found";
        assert!(denied_attempt(9, 0, log0, &execs, "agr").is_none());
    }

    #[test]
    fn a_message_that_is_not_the_contracts_is_no_denied_attempt() {
        let execs = [exec(
            "agr",
            serde_json::json!({"record_access": {"agreement_id": "seven"}}),
        )];
        assert!(denied_attempt(9, 0, "message index: 0: x", &execs, "agr").is_none());
    }
}
