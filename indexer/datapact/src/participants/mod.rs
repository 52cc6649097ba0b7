//! What providers and consumers do with data: publish a file encrypted, deliver its key to
//! agreements, fetch it through a gateway and check it against the chain. The command line
//! (`cli/plane.rs`) parses and prints; the work is here.

pub mod consumer;
pub mod provider;

use std::path::Path;

use anyhow::Context;
use datapact_chain::tx::{execute_msg, Sender};
use datapact_chain::{Chain, TxOutcome};
use serde::Serialize;

/// Sends one contract message from `sender` and fails with the chain's words if it fails.
pub(crate) async fn exec<T: Serialize>(
    chain: &Chain,
    sender: &mut Sender,
    contract: &str,
    msg: &T,
    funds: &[(u128, &str)],
) -> anyhow::Result<TxOutcome> {
    let any = execute_msg(&sender.addr(), contract, msg, funds)?;
    let outcome = sender.exec_auto(chain, vec![any]).await?;
    Ok(outcome.into_ok()?)
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
