//! Deployment: store the four artifacts, instantiate them wired to each other, and write the
//! deployment file every other part reads.
//!
//! Idempotent: code whose checksum is already on chain is reused, a contract already at its
//! artifact's code is left alone, a contract whose artifact changed is migrated (the admin is
//! kept so it can be), and the peers are rewired only when they differ.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::client::Chain;
use crate::tx::{execute_msg, instantiate_msg, migrate_msg, store_code_msg, Sender};
use datapact_types::Severity;

pub const CONTRACTS: [&str; 4] = ["registry", "consent", "agreements", "audit"];

/// One deployed contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployed {
    pub code_id: u64,
    /// sha256 of the artifact, hex
    pub checksum: String,
    pub address: String,
    pub label: String,
    pub instantiated_height: u64,
    /// Height of the last change (instantiate or migrate).
    pub updated_height: u64,
}

/// The deployment file: where the suite lives on which chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: String,
    pub rpc_url: String,
    pub admin: String,
    pub denom: String,
    pub sentinels: Vec<String>,
    pub responders: Vec<String>,
    pub contracts: BTreeMap<String, Deployed>,
}

impl Deployment {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the deployment file {}: run `make deploy` (or `datapact deploy`) first",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a datapact deployment file", path.display()))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub fn address(&self, contract: &str) -> anyhow::Result<&str> {
        self.contracts
            .get(contract)
            .map(|d| d.address.as_str())
            .ok_or_else(|| anyhow::anyhow!("the deployment has no {contract} contract"))
    }

    /// The lowest height any contract was instantiated at: where an indexer starts.
    pub fn first_height(&self) -> u64 {
        self.contracts
            .values()
            .map(|d| d.instantiated_height)
            .min()
            .unwrap_or(1)
    }
}

/// What to deploy and with which roles.
pub struct DeployPlan {
    pub artifacts: PathBuf,
    pub sentinels: Vec<String>,
    pub responders: Vec<String>,
    pub suspend_threshold: Severity,
    pub label_prefix: String,
}

/// What a run did, for the summary a deployer reads.
#[derive(Debug, Default)]
pub struct DeployReport {
    pub stored: Vec<(String, u64)>,
    pub instantiated: Vec<String>,
    pub migrated: Vec<(String, u64, u64)>,
    pub rewired: bool,
}

impl DeployReport {
    pub fn changed(&self) -> bool {
        !(self.stored.is_empty()
            && self.instantiated.is_empty()
            && self.migrated.is_empty()
            && !self.rewired)
    }
}

/// Reads `checksums.txt` (sha256sum format) and checks each artifact's bytes against it.
pub fn read_artifacts(dir: &Path) -> anyhow::Result<BTreeMap<String, (String, Vec<u8>)>> {
    let sums_path = dir.join("checksums.txt");
    let sums = std::fs::read_to_string(&sums_path).with_context(|| {
        format!(
            "cannot read {}: run `make artifacts` first",
            sums_path.display()
        )
    })?;
    let mut out = BTreeMap::new();
    for c in CONTRACTS {
        let file = format!("datapact_{c}.wasm");
        let listed = sums
            .lines()
            .find_map(|l| {
                let (sum, name) = l.split_once(char::is_whitespace)?;
                (name.trim().trim_start_matches('*') == file).then(|| sum.to_string())
            })
            .ok_or_else(|| anyhow::anyhow!("{} does not list {file}", sums_path.display()))?;
        let bytes = std::fs::read(dir.join(&file))
            .with_context(|| format!("cannot read {}", dir.join(&file).display()))?;
        let actual = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        if actual != listed {
            bail!("{file} does not match checksums.txt: rebuild with `make artifacts`");
        }
        out.insert(c.to_string(), (actual, bytes));
    }
    Ok(out)
}

pub async fn deploy(
    chain: &Chain,
    admin: &mut Sender,
    plan: &DeployPlan,
    previous: Option<Deployment>,
) -> anyhow::Result<(Deployment, DeployReport)> {
    let artifacts = read_artifacts(&plan.artifacts)?;
    let mut report = DeployReport::default();
    let previous = previous.filter(|d| d.chain_id == chain.chain_id);
    let on_chain = chain.codes().await?;
    let admin_addr = admin.addr();

    // 1. code: reuse the newest stored code with the artifact's checksum, else store it
    let mut code_ids = BTreeMap::new();
    for c in CONTRACTS {
        let (checksum, bytes) = &artifacts[c];
        let existing = on_chain
            .iter()
            .filter(|(_, sum)| sum == checksum)
            .map(|(id, _)| *id)
            .max();
        let code_id = match existing {
            Some(id) => id,
            None => {
                let out = admin
                    .exec_auto(chain, vec![store_code_msg(&admin_addr, bytes.clone())?])
                    .await?
                    .into_ok()?;
                let id: u64 = out
                    .attr("store_code", "code_id")
                    .ok_or_else(|| anyhow::anyhow!("store_code event without code_id"))?
                    .parse()?;
                tracing::info!("stored {c} as code {id} at height {}", out.height);
                report.stored.push((c.to_string(), id));
                id
            }
        };
        code_ids.insert(c, code_id);
    }

    // 2. contracts: keep, migrate, or instantiate
    let mut contracts: BTreeMap<String, Deployed> = BTreeMap::new();
    for c in CONTRACTS {
        let (checksum, _) = &artifacts[c];
        let code_id = code_ids[c];
        let prior = previous.as_ref().and_then(|d| d.contracts.get(c)).cloned();
        let live = match &prior {
            Some(p) => chain
                .contract_info(&p.address)
                .await?
                .map(|info| (p.clone(), info)),
            None => None,
        };
        let checksum_of = |id: u64| {
            on_chain
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, s)| s.as_str())
        };
        let deployed = match live {
            // already runs this artifact (possibly under another code id with the same bytes)
            Some((p, (live_code, _, _))) if checksum_of(live_code) == Some(checksum.as_str()) => {
                Deployed {
                    code_id: live_code,
                    checksum: checksum.clone(),
                    ..p
                }
            }
            Some((p, (live_code, admin_on_chain, _))) => {
                if admin_on_chain != admin_addr {
                    bail!(
                        "{c} at {} must migrate to its new artifact but its admin is {admin_on_chain:?}, not the deploying key {admin_addr}",
                        p.address
                    );
                }
                let out = admin
                    .exec_auto(
                        chain,
                        vec![migrate_msg(
                            &admin_addr,
                            &p.address,
                            code_id,
                            &serde_json::json!({}),
                        )?],
                    )
                    .await?
                    .into_ok()?;
                tracing::info!(
                    "migrated {c} from code {live_code} to {code_id} at height {}",
                    out.height
                );
                report.migrated.push((c.to_string(), live_code, code_id));
                Deployed {
                    code_id,
                    checksum: checksum.clone(),
                    updated_height: out.height,
                    ..p
                }
            }
            None => {
                let msg = instantiate_payload(c, &contracts, plan)?;
                let label = format!("{}{c}", plan.label_prefix);
                let out = admin
                    .exec_auto(
                        chain,
                        vec![instantiate_msg(
                            &admin_addr,
                            Some(&admin_addr),
                            code_id,
                            &label,
                            &msg,
                        )?],
                    )
                    .await?
                    .into_ok()?;
                let address = out
                    .attr("instantiate", "_contract_address")
                    .ok_or_else(|| anyhow::anyhow!("instantiate event without _contract_address"))?
                    .to_string();
                tracing::info!("instantiated {c} at {address} (height {})", out.height);
                report.instantiated.push(c.to_string());
                Deployed {
                    code_id,
                    checksum: checksum.clone(),
                    address,
                    label,
                    instantiated_height: out.height,
                    updated_height: out.height,
                }
            }
        };
        contracts.insert(c.to_string(), deployed);
    }

    // 3. wiring: agreements accepts suspensions from this audit contract only
    let agreements = &contracts["agreements"].address;
    let audit = &contracts["audit"].address;
    let config: datapact_agreements::state::Config = chain
        .smart(agreements, &datapact_agreements::msg::QueryMsg::Config {})
        .await?;
    if config.audit.as_ref().map(|a| a.as_str()) != Some(audit.as_str()) {
        let msg = datapact_agreements::msg::ExecuteMsg::UpdateConfig {
            audit: Some(audit.clone()),
            admin: None,
        };
        admin
            .exec_auto(
                chain,
                vec![execute_msg(&admin_addr, agreements, &msg, &[])?],
            )
            .await?
            .into_ok()?;
        report.rewired = true;
    }

    let deployment = Deployment {
        chain_id: chain.chain_id.clone(),
        rpc_url: chain.url.clone(),
        admin: admin_addr,
        denom: chain.fees.denom.clone(),
        sentinels: plan.sentinels.clone(),
        responders: plan.responders.clone(),
        contracts,
    };
    Ok((deployment, report))
}

fn instantiate_payload(
    c: &str,
    done: &BTreeMap<String, Deployed>,
    plan: &DeployPlan,
) -> anyhow::Result<serde_json::Value> {
    let addr = |name: &str| -> anyhow::Result<String> {
        done.get(name)
            .map(|d| d.address.clone())
            .ok_or_else(|| anyhow::anyhow!("{c} needs {name}, which is not deployed"))
    };
    Ok(match c {
        "registry" => serde_json::to_value(datapact_registry::msg::InstantiateMsg {})?,
        "consent" => serde_json::to_value(datapact_consent::msg::InstantiateMsg {})?,
        "agreements" => serde_json::to_value(datapact_agreements::msg::InstantiateMsg {
            registry: addr("registry")?,
            consent: addr("consent")?,
            audit: None,
            admin: None,
        })?,
        "audit" => serde_json::to_value(datapact_audit::msg::InstantiateMsg {
            admin: None,
            agreements: addr("agreements")?,
            sentinels: plan.sentinels.clone(),
            responders: plan.responders.clone(),
            suspend_threshold: plan.suspend_threshold,
        })?,
        other => bail!("unknown contract {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn write_artifacts(dir: &Path, tamper: Option<&str>) {
        let mut sums = String::new();
        for c in CONTRACTS {
            let bytes = format!("wasm of {c}").into_bytes();
            sums.push_str(&format!(
                "{}  datapact_{c}.wasm\n",
                hex::encode(sha2::Sha256::digest(&bytes))
            ));
            let written = if tamper == Some(c) {
                b"tampered".to_vec()
            } else {
                bytes
            };
            std::fs::write(dir.join(format!("datapact_{c}.wasm")), written).unwrap();
        }
        std::fs::write(dir.join("checksums.txt"), sums).unwrap();
    }

    #[test]
    fn artifacts_are_read_with_their_checksums() {
        let dir = tempfile::tempdir().unwrap();
        write_artifacts(dir.path(), None);
        let a = read_artifacts(dir.path()).unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(a["audit"].1, b"wasm of audit");
    }

    #[test]
    fn an_artifact_that_differs_from_its_checksum_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_artifacts(dir.path(), Some("consent"));
        let e = read_artifacts(dir.path()).unwrap_err().to_string();
        assert!(e.contains("datapact_consent.wasm does not match"), "{e}");
        assert!(e.contains("make artifacts"), "{e}");
    }

    #[test]
    fn a_missing_artifacts_folder_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_artifacts(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("make artifacts"), "{e}");
    }

    #[test]
    fn the_deployment_file_round_trips_and_names_its_first_height() {
        let dir = tempfile::tempdir().unwrap();
        let mut contracts = BTreeMap::new();
        for (i, c) in CONTRACTS.iter().enumerate() {
            contracts.insert(
                c.to_string(),
                Deployed {
                    code_id: i as u64 + 1,
                    checksum: "00".repeat(32),
                    address: format!("wasm1{c}"),
                    label: format!("datapact-{c}"),
                    instantiated_height: 10 + i as u64,
                    updated_height: 10 + i as u64,
                },
            );
        }
        let d = Deployment {
            chain_id: "c-1".into(),
            rpc_url: "http://127.0.0.1:26657".into(),
            admin: "wasm1admin".into(),
            denom: "udpt".into(),
            sentinels: vec![],
            responders: vec![],
            contracts,
        };
        let path = dir.path().join("sub/deployment.json");
        d.save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), d);
        assert_eq!(d.first_height(), 10);
        assert_eq!(d.address("audit").unwrap(), "wasm1audit");
        assert!(d.address("nope").is_err());
        let e = Deployment::load(&dir.path().join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("make deploy"), "{e}");
    }
}
