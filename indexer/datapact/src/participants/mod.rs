//! What providers and consumers do with data: publish a file encrypted, deliver its key to
//! agreements, fetch it through a gateway and check it against the chain. The command line
//! (`cli/plane.rs`) parses and prints; the work is here.

pub mod consumer;
pub mod provider;
pub mod quality;
pub mod subject;

use std::path::Path;

use anyhow::Context;
use datapact_chain::tx::{execute_msg, Sender};
use datapact_chain::{Chain, TxOutcome};
use serde::Serialize;

/// Sends one contract message from `sender` and fails with the chain's words if it fails.
pub async fn exec<T: Serialize>(
    chain: &Chain,
    sender: &mut Sender,
    contract: &str,
    msg: &T,
    funds: &[(u128, &str)],
) -> anyhow::Result<TxOutcome> {
    let any = execute_msg(&sender.addr(), contract, msg, funds)?;
    let outcome = sender.exec_auto(chain, vec![any]).await.map_err(|e| {
        let text = format!("{e:#}");
        match contract_refusal(&text) {
            Some(reason) => anyhow::anyhow!("the chain refused: {reason}"),
            None => e,
        }
    })?;
    Ok(outcome.into_ok()?)
}

/// The contract's own words in a failed simulation's log, without the SDK's wrapping
/// (`… message index: 0: <words>: execute wasm contract failed [...]`).
pub(crate) fn contract_refusal(log: &str) -> Option<&str> {
    const MARK: &str = "message index: ";
    let rest = &log[log.find(MARK)? + MARK.len()..];
    // past the index number and its ": "
    let rest = &rest[rest.find(": ")? + 2..];
    let end = rest.find(": execute wasm contract failed")?;
    Some(&rest[..end])
}

/// Writes `text` to `path` readable by its owner only (a key file).
pub(crate) fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {} (it must not exist yet: a key is never overwritten)",
                path.display()
            )
        })?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_contract_refusal_is_read_out_of_the_sdk_wrapping() {
        let log = "simulating the transaction: query /cosmos.tx.v1beta1.Service/Simulate failed \
                   (code 6): rpc error: code = Unknown desc = failed to execute message; message \
                   index: 0: consumer wasm1zgv is suspended by audit alert 3: execute wasm \
                   contract failed [keeper.go:452] with gas used: '118083': unknown request";
        assert_eq!(
            super::contract_refusal(log),
            Some("consumer wasm1zgv is suspended by audit alert 3")
        );
        assert_eq!(super::contract_refusal("connection refused"), None);
    }

    #[test]
    fn a_key_file_is_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/a.key");
        super::write_secret(&path, "first").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = super::write_secret(&path, "second").unwrap_err();
        assert!(format!("{e:#}").contains("never overwritten"), "{e:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
    }

    #[test]
    fn a_subject_key_that_is_not_one_says_how_to_make_one() {
        for bad in ["zz", "00", ""] {
            let e = super::subject::read_subject_key(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("datapact subject keygen"), "{bad:?}: {e}");
        }
        let (_, hex) = super::subject::new_subject_key();
        assert!(super::subject::read_subject_key(&hex).is_ok());
    }
}
