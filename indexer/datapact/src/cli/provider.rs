//! `datapact provider`: register, publish a file encrypted, offer, deliver keys, tombstone.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use datapact_chain::Deployment;
use datapact_gateway::Store;
use datapact_registry::msg::ExecuteMsg as RegistryMsg;
use datapact_types::{Sensitivity, VersionRef};

use super::plane::{print, KeyArgs, StoreArgs};
use super::ChainArgs;
use crate::participants::{exec, provider};

#[derive(Subcommand)]
pub(crate) enum ProviderAction {
    /// Register an asset; prints its id.
    Register {
        #[arg(long)]
        name: String,
        /// public, internal, personal or special_category (see docs/data-plane.md).
        #[arg(long)]
        sensitivity: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Publish a CSV or Parquet file as the asset's next version: hash, schema fingerprint and
    /// row count on chain, the file encrypted under a fresh data key into the store. Personal
    /// and special-category data is stored one segment per subject (--subject-column), so the
    /// gateway serves only the rows of subjects whose consent is in force at delivery.
    Publish {
        #[arg(long)]
        asset: u64,
        file: PathBuf,
        /// The column naming each row's data subject (as the consent contract records them:
        /// a wallet address or `key:<hex>`). Required for personal data, ignored otherwise.
        #[arg(long)]
        subject_column: Option<String>,
        /// A version this one derives from, as ASSET:VERSION (repeat).
        #[arg(long = "parent", value_parser = parse_ref)]
        parents: Vec<VersionRef>,
    },
    /// Offer an asset for purposes at a price.
    Offer {
        #[arg(long)]
        asset: u64,
        /// A purpose consumers may sign for (repeat).
        #[arg(long = "purpose", required = true)]
        purposes: Vec<String>,
        /// The price in udpt (0: free).
        #[arg(long, default_value_t = 0)]
        price: u128,
        #[arg(long, default_value_t = 30)]
        days: u64,
        /// At most this many recorded accesses per agreement.
        #[arg(long)]
        cap: Option<u64>,
        /// Every access must name a subject whose consent is in force.
        #[arg(long)]
        consent_required: bool,
        /// The share of the price (basis points) that vests when the key is delivered.
        #[arg(long, default_value_t = 2_500)]
        delivery_share_bps: u16,
    },
    /// Give every agreement in good standing (active, unexpired, consumer not suspended) the
    /// keys it lacks: its agreement key deposited on chain (once), and every version's data key
    /// wrapped to it in the store. Suspended consumers and ended agreements get nothing new.
    DeliverKeys {
        /// Keep delivering to new agreements (every --interval seconds) until interrupted.
        #[arg(long)]
        follow: bool,
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
    },
    /// Let another address manage an asset (publish versions, offer it, deliver keys): the
    /// owner only.
    AddSteward {
        #[arg(long)]
        asset: u64,
        #[arg(long)]
        steward: String,
    },
    /// Take a steward's rights away: its open offers stop being signable and it can deliver no
    /// more keys (consumers of agreements without a key terminate for a full refund).
    RemoveSteward {
        #[arg(long)]
        asset: u64,
        #[arg(long)]
        steward: String,
    },
    /// Erase an asset: tombstone it on chain, delete its ciphertext and its data keys here.
    Tombstone {
        #[arg(long)]
        asset: u64,
    },
    /// When this provider's capped agreements will reach their cap, from the latest
    /// `datapact analyze` run's forecasts (80% interval), with a warning for every one whose
    /// cap comes before its expiry or within --warn-days. Exit 0 either way; --json for scripts.
    Outlook {
        /// An index with `datapact analyze` runs (read only); unset: the private cluster if it
        /// runs (never started by this command).
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// Warn about caps reached within this many days, expiry or not.
        #[arg(long, default_value_t = 7.0)]
        warn_days: f64,
    },
}

#[derive(Args)]
#[command(after_help = "Examples (local chain):\n  \
    datapact provider --as provider-0 register --name trips --sensitivity internal\n  \
    datapact provider --as provider-0 publish --asset 1 trips.csv\n  \
    datapact provider --as provider-0 offer --asset 1 --purpose research --price 1000 --cap 10\n  \
    datapact provider --as provider-0 deliver-keys --follow\n  \
    datapact provider --as provider-0 add-steward --asset 1 --steward wasm1…\n  \
    datapact provider --as provider-0 outlook          # which agreements will reach their cap, and when\n\n\
Data keys are kept under --keyring (0600 files, never printed). What cannot be undone: a key once\n\
delivered, and bytes once fetched; a tombstone stops every later delivery and erases the ciphertext.")]
pub(crate) struct ProviderArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Where data keys are kept.
    #[arg(long, env = "DATAPACT_KEYRING", default_value = ".data/keyring")]
    keyring: PathBuf,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: ProviderAction,
}

fn parse_ref(s: &str) -> Result<VersionRef, String> {
    let (a, v) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: write a parent as ASSET:VERSION, e.g. 3:1"))?;
    Ok(VersionRef {
        asset_id: a.parse().map_err(|_| format!("{a:?} is not an asset id"))?,
        version: v
            .parse()
            .map_err(|_| format!("{v:?} is not a version number"))?,
    })
}

fn parse_sensitivity(s: &str) -> anyhow::Result<Sensitivity> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        anyhow::anyhow!("{s:?}: the sensitivity is public, internal, personal or special_category")
    })
}

pub(crate) async fn provider(args: ProviderArgs) -> anyhow::Result<()> {
    let chain = args.chain.connect().await?;
    if let ProviderAction::Outlook {
        database_url,
        warn_days,
    } = &args.action
    {
        let me = args.key.wallet(&chain)?.addr();
        return outlook(&me, database_url.as_deref(), *warn_days, args.json).await;
    }
    let deployment = Deployment::load(&args.chain.deployment)?;
    let mut sender = args.key.sender(&chain).await?;
    let files = provider::ProviderFiles {
        store: Store::new(&args.store.store),
        keyring: provider::Keyring {
            dir: args.keyring.clone(),
        },
    };
    match args.action {
        ProviderAction::Register {
            name,
            sensitivity,
            description,
            tags,
        } => {
            let sensitivity = parse_sensitivity(&sensitivity)?;
            let o = exec(
                &chain,
                &mut sender,
                deployment.address("registry")?,
                &datapact_registry::msg::ExecuteMsg::RegisterAsset {
                    name,
                    description,
                    sensitivity,
                    tags,
                },
                &[],
            )
            .await?;
            let id: u64 = o.wasm_id(
                datapact_types::events::action::REGISTER_ASSET,
                datapact_types::events::key::ASSET_ID,
            )?;
            let out = serde_json::json!({"asset_id": id, "tx": o.hash});
            print(args.json, &out, |_| {
                format!("registered asset {id} (tx {})", o.hash)
            })
        }
        ProviderAction::Publish {
            asset,
            file,
            subject_column,
            parents,
        } => {
            let p = provider::publish(
                &chain,
                &deployment,
                &mut sender,
                &files,
                asset,
                &file,
                subject_column.as_deref(),
                parents,
            )
            .await?;
            print(args.json, &p, |p| {
                let stored = match p.subjects {
                    Some(n) => format!("{n} subjects' segments, root"),
                    None => "sha256".to_string(),
                };
                format!(
                    "published asset {} version {}: {} rows, {} columns, {stored} {} ({} bytes), encrypted to {} (tx {})",
                    p.asset_id,
                    p.version,
                    p.table.rows,
                    p.table.columns.len(),
                    p.content_hash,
                    p.table.bytes,
                    p.ciphertext.display(),
                    p.tx
                )
            })
        }
        ProviderAction::Offer {
            asset,
            purposes,
            price,
            days,
            cap,
            consent_required,
            delivery_share_bps,
        } => {
            let registry = deployment.address("registry")?;
            let a: datapact_registry::msg::AssetResponse = chain
                .smart(
                    registry,
                    &datapact_registry::msg::QueryMsg::Asset { asset_id: asset },
                )
                .await?;
            datapact_plane::policy::check_offer(a.asset.sensitivity, consent_required)?;
            let terms = datapact_agreements::state::OfferTerms {
                permitted_purposes: purposes,
                prohibited_purposes: vec![],
                duration_seconds: days.saturating_mul(86_400),
                access_cap: cap,
                price: cosmwasm_std::coin(price, chain.fees.denom.as_str()),
                consent_required,
                delivery_share_bps,
            };
            let o = exec(
                &chain,
                &mut sender,
                deployment.address("agreements")?,
                &datapact_agreements::msg::ExecuteMsg::CreateOffer {
                    asset_id: asset,
                    terms,
                },
                &[],
            )
            .await?;
            let id: u64 = o.wasm_id(
                datapact_types::events::action::CREATE_OFFER,
                datapact_types::events::key::OFFER_ID,
            )?;
            let out = serde_json::json!({"offer_id": id, "asset_id": asset, "tx": o.hash});
            print(args.json, &out, |_| {
                format!("offered asset {asset} as offer {id} (tx {})", o.hash)
            })
        }
        ProviderAction::DeliverKeys { follow, interval } => {
            // with --follow, a passed-over agreement is said once, not every round
            let mut said = std::collections::HashSet::new();
            let mut round = 0u64;
            loop {
                let (delivered, skipped) =
                    provider::deliver_keys(&chain, &deployment, &mut sender, &files).await?;
                let skipped: Vec<_> = skipped
                    .into_iter()
                    .filter(|s| said.insert((s.agreement_id, s.why.clone())))
                    .collect();
                let quiet = round > 0 && delivered.is_empty() && skipped.is_empty();
                if !quiet {
                    let out = serde_json::json!({"delivered": delivered, "skipped": skipped});
                    print(args.json, &out, |_| keys_report(&delivered, &skipped))?;
                }
                if !follow {
                    return Ok(());
                }
                round += 1;
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs_f64(interval.max(0.2))) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
            }
        }
        ProviderAction::AddSteward { asset, steward } => {
            let msg = RegistryMsg::AddSteward {
                asset_id: asset,
                steward: steward.clone(),
            };
            let (c, d, j) = (&chain, &deployment, args.json);
            stewardship(c, d, &mut sender, j, &msg, (asset, &steward, "now manages")).await
        }
        ProviderAction::RemoveSteward { asset, steward } => {
            let msg = RegistryMsg::RemoveSteward {
                asset_id: asset,
                steward: steward.clone(),
            };
            let (c, d, j) = (&chain, &deployment, args.json);
            stewardship(
                c,
                d,
                &mut sender,
                j,
                &msg,
                (asset, &steward, "no longer manages"),
            )
            .await
        }
        ProviderAction::Outlook { .. } => unreachable!("handled above"),
        ProviderAction::Tombstone { asset } => {
            let e = provider::tombstone(&chain, &deployment, &mut sender, &files, asset).await?;
            print(args.json, &e, |e| {
                format!(
                    "tombstoned asset {} (tx {}); ciphertext {}, data keys {}",
                    e.asset_id,
                    e.tx,
                    if e.ciphertext_deleted {
                        "deleted"
                    } else {
                        "was not stored here"
                    },
                    if e.keys_deleted {
                        "deleted"
                    } else {
                        "were not kept here"
                    }
                )
            })
        }
    }
}

/// One agreement's cap outlook, as `provider outlook` prints it.
#[derive(serde::Serialize)]
struct CapLine {
    run_id: i64,
    #[serde(flatten)]
    outlook: datapact_analytics::forecast::Outlook,
    warning: Option<String>,
}

/// The provider's cap outlooks with their warnings.
async fn outlook(me: &str, url: Option<&str>, warn_days: f64, json: bool) -> anyhow::Result<()> {
    let Some(pool) = super::index_reader(url).await else {
        anyhow::bail!(
            "no index reachable: give --database-url (or DATABASE_URL), or start the private cluster (`datapact postgres start`) where `datapact analyze` has run"
        );
    };
    let rows = datapact_analytics::store::latest_outlooks(
        &pool,
        datapact_analytics::forecast::targets::AGREEMENT_CAP,
        me,
    )
    .await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let day = |t: i64| crate::serve::layout::time_label(t as f64);
    let lines: Vec<CapLine> = rows
        .into_iter()
        .map(|(run_id, o)| {
            let soon = o
                .at
                .is_some_and(|t| ((t - now) as f64) < warn_days * 86_400.0);
            let warning = match (o.at, o.before_expiry) {
                (Some(t), _) if t <= now || o.drivers.contains("is reached") => Some(format!(
                    "{}: {}; the agreement records no more accesses",
                    o.key, o.drivers
                )),
                (Some(t), Some(true)) => Some(format!(
                    "{}: the cap will be reached around {} (80%: {} to {}), before the agreement expires",
                    o.key,
                    day(t),
                    o.at_early.map_or("?".into(), day),
                    o.at_late.map_or("not foreseeable".into(), day)
                )),
                (Some(t), _) if soon => Some(format!(
                    "{}: the cap will be reached around {} (within {warn_days} days)",
                    o.key,
                    day(t)
                )),
                _ => None,
            };
            CapLine {
                run_id,
                outlook: o,
                warning,
            }
        })
        .collect();
    print(json, &lines, |lines| {
        if lines.is_empty() {
            return format!(
                "no capped agreement of {me} is forecast (no `datapact analyze` run with forecasts, or no capped agreements)"
            );
        }
        let mut out = vec![format!(
            "{:<16} {:>22} {:>14}  drivers",
            "agreement", "cap reached", "expected (80%)"
        )];
        for l in lines {
            let o = &l.outlook;
            out.push(format!(
                "{:<16} {:>22} {:>14}  {}",
                o.key,
                o.at.map_or("not foreseeable".into(), day),
                format!("{:.0} ({:.0}-{:.0})", o.value, o.lower, o.upper),
                o.drivers
            ));
        }
        for w in lines.iter().filter_map(|l| l.warning.as_ref()) {
            out.push(format!("WARNING {w}"));
        }
        out.push(format!("(forecasts of run {})", lines[0].run_id));
        out.join("\n")
    })
}

/// Sends a steward change and says what it did.
async fn stewardship(
    chain: &datapact_chain::Chain,
    deployment: &Deployment,
    sender: &mut datapact_chain::tx::Sender,
    json: bool,
    msg: &RegistryMsg,
    (asset, steward, now): (u64, &str, &str),
) -> anyhow::Result<()> {
    let o = exec(chain, sender, deployment.address("registry")?, msg, &[]).await?;
    let out = serde_json::json!({"asset_id": asset, "steward": steward, "tx": o.hash});
    print(json, &out, |_| {
        format!("{steward} {now} asset {asset} (tx {})", o.hash)
    })
}

/// What `deliver-keys` did, for people: one line per agreement served, one per reason for
/// passing agreements over (the details are in `--json`).
fn keys_report(delivered: &[provider::Delivered], skipped: &[provider::Skipped]) -> String {
    let mut lines: Vec<String> = delivered
        .iter()
        .map(|d| {
            let deposit = d
                .deposit_tx
                .as_ref()
                .map_or(String::new(), |tx| format!("deposited its key (tx {tx}); "));
            let versions: Vec<String> = d.versions.iter().map(|v| v.to_string()).collect();
            format!(
                "agreement {} ({}), asset {}: {deposit}wrapped the data keys of versions [{}]",
                d.agreement_id,
                d.consumer,
                d.asset_id,
                versions.join(", ")
            )
        })
        .collect();
    // one line per reason: a name, the agreements, and one example of the detail
    let groups = [
        ("suspended", "of suspended consumers (no key until lifted)"),
        ("no_age_key", "whose consumer registered no usable age key"),
        (
            "key_elsewhere",
            "whose key was deposited from another keyring",
        ),
        (
            "not_published_here",
            "on assets with no version published from this keyring",
        ),
    ];
    for (kind, what) in groups {
        let ids: Vec<String> = skipped
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.agreement_id.to_string())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let shown = if ids.len() > 12 {
            format!("{} … (--json lists all)", ids[..12].join(", "))
        } else {
            ids.join(", ")
        };
        lines.push(format!(
            "passed over {} agreement(s) {what}: {shown}",
            ids.len()
        ));
    }
    if lines.is_empty() {
        lines.push("every active agreement has the keys of every version".into());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_report_names_each_agreement_and_counts_those_on_other_keyrings_assets() {
        let skip = |id, kind: &'static str| provider::Skipped {
            agreement_id: id,
            kind,
            why: format!("why {id}"),
        };
        let delivered = vec![provider::Delivered {
            agreement_id: 7,
            asset_id: 3,
            consumer: "wasm1c".into(),
            deposit_tx: Some("AB".into()),
            versions: vec![1, 2],
        }];
        let skipped = vec![
            skip(8, "suspended"),
            skip(9, "not_published_here"),
            skip(10, "not_published_here"),
        ];
        let text = keys_report(&delivered, &skipped);
        assert_eq!(
            text,
            "agreement 7 (wasm1c), asset 3: deposited its key (tx AB); wrapped the data keys of versions [1, 2]\n\
             passed over 1 agreement(s) of suspended consumers (no key until lifted): 8\n\
             passed over 2 agreement(s) on assets with no version published from this keyring: 9, 10"
        );
        assert_eq!(
            keys_report(&[], &[]),
            "every active agreement has the keys of every version"
        );
    }

    #[test]
    fn a_parent_is_asset_colon_version_and_anything_else_says_how_to_write_it() {
        assert_eq!(
            parse_ref("3:1").unwrap(),
            VersionRef {
                asset_id: 3,
                version: 1
            }
        );
        for bad in ["3", "x:1", "3:y", ""] {
            let e = parse_ref(bad).unwrap_err();
            assert!(
                e.contains("ASSET:VERSION") || e.contains("is not"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn a_sensitivity_is_one_of_the_four_the_contracts_spell() {
        assert_eq!(
            parse_sensitivity("special_category").unwrap(),
            Sensitivity::SpecialCategory
        );
        let e = parse_sensitivity("secret").unwrap_err().to_string();
        assert!(
            e.contains("public, internal, personal or special_category"),
            "{e}"
        );
    }
}
