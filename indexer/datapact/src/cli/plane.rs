//! The data plane's commands: the gateway, the provider's and the consumer's.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use datapact_chain::keys::{localnet_accounts, localnet_wallet, Wallet};
use datapact_chain::tx::Sender;
use datapact_chain::{localnet, Chain, Deployment};
use datapact_gateway::{Gateway, GatewayConfig, GatewayMetrics, Store};
use datapact_index::db;
use datapact_plane::DataKey;
use datapact_types::{Sensitivity, VersionRef};
use serde::Serialize;

use super::ChainArgs;
use crate::participants::{consumer, provider, subject};

/// Who signs: a key file, an env var, or (on the local chain) a named local account.
#[derive(Args, Clone)]
pub(crate) struct KeyArgs {
    /// The participant's chain key: a file holding a BIP-39 mnemonic or a hex secp256k1 secret.
    /// Else DATAPACT_KEY holds it. Never printed.
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    key_index: u32,
    /// On the local chain only: act as this funded account (provider-0 .. provider-7,
    /// consumer-0 .. consumer-15, subject-0 ..), by name or by address.
    #[arg(long = "as", value_name = "ACCOUNT")]
    account: Option<String>,
}

impl KeyArgs {
    fn wallet(&self, chain: &Chain) -> anyhow::Result<Wallet> {
        if let Some(path) = &self.key_file {
            return Wallet::from_file("participant", path, self.key_index);
        }
        if let Ok(secret) = std::env::var("DATAPACT_KEY") {
            return Wallet::from_secret("participant", &secret, self.key_index)
                .context("DATAPACT_KEY holds no usable key");
        }
        match &self.account {
            Some(name) if chain.chain_id == localnet::CHAIN_ID => {
                if name.starts_with(&chain.prefix) {
                    // a local account named by its address
                    for (n, _, _) in localnet_accounts() {
                        let w = localnet_wallet(&n)?;
                        if w.addr() == *name {
                            return Ok(w);
                        }
                    }
                    anyhow::bail!("{name} is not one of the local chain's accounts");
                }
                localnet_wallet(name)
            }
            Some(_) => anyhow::bail!(
                "--as names a local account, and chain {} is not the local chain: give --key-file or DATAPACT_KEY",
                chain.chain_id
            ),
            None => anyhow::bail!(
                "no key: give --key-file FILE, set DATAPACT_KEY, or on the local chain --as provider-0 (or another account)"
            ),
        }
    }

    async fn sender(&self, chain: &Chain) -> anyhow::Result<Sender> {
        Sender::load(chain, self.wallet(chain)?).await
    }
}

/// Where ciphertext lives (shared by the provider's commands and the gateway).
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    #[arg(long, env = "DATAPACT_STORE", default_value = ".data/store")]
    store: PathBuf,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact gateway                                   # http://127.0.0.1:8090, store .data/store\n  \
    datapact gateway --gateway-id eu-1 --addr 0.0.0.0:8090 --metrics-addr 127.0.0.1:9192\n\n\
GET /v1/assets/ASSET/versions/VERSION with `Authorization: DataPact <base64 AccessProof JSON>`\n\
(`datapact consumer fetch` makes one). Redemptions go to Postgres (DATABASE_URL, else the private\n\
cluster), so gateways sharing a database redeem each record_access transaction once between them.")]
pub(crate) struct GatewayArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, env = "DATAPACT_GATEWAY_ADDR", default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// This gateway's name: proofs must name it (a proof for another gateway is refused).
    #[arg(long, env = "DATAPACT_GATEWAY_ID", default_value = "gateway-local")]
    gateway_id: String,
    /// The longest a proof may live, in seconds.
    #[arg(long, default_value_t = 300)]
    max_proof_seconds: u64,
    /// The oldest record_access transaction redeemed, in seconds.
    #[arg(long, default_value_t = 900)]
    max_record_seconds: u64,
    /// Prometheus metrics (`GET /metrics`) on this address.
    #[arg(
        long,
        env = "DATAPACT_GATEWAY_METRICS_ADDR",
        default_value = "127.0.0.1:9192"
    )]
    metrics_addr: SocketAddr,
    #[arg(long)]
    no_metrics: bool,
}

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
    /// row count on chain, the file encrypted under a fresh data key into the store.
    Publish {
        #[arg(long)]
        asset: u64,
        file: PathBuf,
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
    /// Wrap the newest data key to every signed agreement that has none yet, and deposit it.
    DeliverKeys {
        /// Keep delivering to new agreements (every --interval seconds) until interrupted.
        #[arg(long)]
        follow: bool,
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
    },
    /// Erase an asset: tombstone it on chain, delete its ciphertext and its data keys here.
    Tombstone {
        #[arg(long)]
        asset: u64,
    },
}

#[derive(Args)]
#[command(after_help = "Examples (local chain):\n  \
    datapact provider --as provider-0 register --name trips --sensitivity internal\n  \
    datapact provider --as provider-0 publish --asset 1 trips.csv\n  \
    datapact provider --as provider-0 offer --asset 1 --purpose research --price 1000 --cap 10\n  \
    datapact provider --as provider-0 deliver-keys --follow\n\n\
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

#[derive(Subcommand)]
pub(crate) enum ConsumerAction {
    /// Make an age key pair for receiving data keys; prints the public key.
    Keygen,
    /// The open offers (of one asset with --asset).
    Offers {
        #[arg(long)]
        asset: Option<u64>,
    },
    /// Whether this consumer is suspended (and by which alerts), and its agreements.
    Status,
    /// Sign an offer for a purpose: pays its price, registers the age public key.
    Sign {
        #[arg(long)]
        offer: u64,
        #[arg(long)]
        purpose: String,
    },
    /// Record an access, fetch the version through the gateway, decrypt it and check it
    /// against the hash on chain; writes --out only if it matches.
    Fetch {
        #[arg(long)]
        agreement: u64,
        /// The asset's newest version if not given.
        #[arg(long)]
        version: Option<u32>,
        #[arg(long)]
        out: PathBuf,
        #[arg(
            long,
            env = "DATAPACT_GATEWAY_URL",
            default_value = "http://127.0.0.1:8090"
        )]
        gateway: String,
        #[arg(long, env = "DATAPACT_GATEWAY_ID", default_value = "gateway-local")]
        gateway_id: String,
        /// How long the proof lives, in seconds.
        #[arg(long, default_value_t = 120)]
        proof_seconds: u64,
    },
}

#[derive(Args)]
#[command(after_help = "Examples (local chain):\n  \
    datapact consumer keygen                                  # .data/consumer.agekey\n  \
    datapact consumer offers --asset 1\n  \
    datapact consumer --as consumer-0 status                  # suspended? which agreements?\n  \
    datapact consumer --as consumer-0 sign --offer 1 --purpose research\n  \
    datapact consumer --as consumer-0 fetch --agreement 1 --out trips.csv")]
pub(crate) struct ConsumerArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// The age key (X25519) data keys are wrapped to.
    #[arg(
        long,
        env = "DATAPACT_AGE_KEY",
        default_value = ".data/consumer.agekey"
    )]
    age_key: PathBuf,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: ConsumerAction,
}

#[derive(Args, Clone)]
pub(crate) struct ConsentArgs {
    /// The provider (controller) the consent is given to.
    #[arg(long)]
    controller: String,
    /// One asset of the controller; every asset of it when not given.
    #[arg(long)]
    asset: Option<u64>,
    /// A purpose consented to (repeat).
    #[arg(long = "purpose", required = true)]
    purposes: Vec<String>,
    /// Days until the consent lapses by itself (never when not given).
    #[arg(long)]
    days: Option<u64>,
}

impl ConsentArgs {
    fn ask(&self) -> subject::ConsentAsk {
        subject::ConsentAsk {
            controller: self.controller.clone(),
            asset_id: self.asset,
            purposes: self.purposes.clone(),
            days: self.days,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum SubjectAction {
    /// Give consent from the subject's wallet.
    Grant(ConsentArgs),
    /// Withdraw a consent: no delivery that needs it happens after this block.
    Withdraw {
        #[arg(long)]
        consent: u64,
    },
    /// The subject's consents and whether each is in force.
    Status {
        /// Whose (an address or a `key:`/`psn:` id); the signing wallet's when not given.
        #[arg(long)]
        subject: Option<String>,
    },
    /// Make a bare subject key (no wallet, no funds) for signed consents.
    Keygen {
        #[arg(long, default_value = ".data/subject.key")]
        out: PathBuf,
    },
    /// Sign a consent with a subject key, off chain: writes the signed consent as JSON for
    /// anyone to relay. Nothing is sent.
    SignConsent {
        #[arg(long, default_value = ".data/subject.key")]
        subject_key: PathBuf,
        #[command(flatten)]
        consent: ConsentArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Send a signed consent (the relaying wallet pays the fee; the key's holder consents).
    Relay { file: PathBuf },
}

#[derive(Args)]
#[command(after_help = "Examples (local chain):\n  \
    datapact subject --as subject-0 grant --controller wasm1… --asset 3 --purpose research --days 365\n  \
    datapact subject --as subject-0 status\n  \
    datapact subject --as subject-0 withdraw --consent 12\n  \
    datapact subject keygen --out me.key                          # a subject without a wallet\n  \
    datapact subject sign-consent --subject-key me.key --controller wasm1… --purpose research --out consent.json\n  \
    datapact subject --as relayer-0 relay consent.json")]
pub(crate) struct SubjectArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: SubjectAction,
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

fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human(value));
    }
    Ok(())
}

fn read_age_key(path: &PathBuf) -> anyhow::Result<DataKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "no age key at {}: make one with `datapact consumer keygen` (or give --age-key)",
            path.display()
        )
    })?;
    Ok(DataKey::from_secret(&text)?)
}

pub(crate) async fn gateway(args: GatewayArgs) -> anyhow::Result<()> {
    let chain = args.chain.connect().await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    let url = db::database_url(args.database_url.as_deref()).await?;
    let pool = db::connect(&url, 8).await?;
    let metrics = GatewayMetrics::default();
    if !args.no_metrics {
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        let addr = args.metrics_addr;
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(addr, registry).await {
                tracing::error!("metrics: {e:#}");
            }
        });
    }
    let g = Arc::new(Gateway {
        config: GatewayConfig {
            gateway_id: args.gateway_id.clone(),
            agreements: deployment.address("agreements")?.to_string(),
            max_proof_seconds: args.max_proof_seconds,
            max_record_seconds: args.max_record_seconds,
        },
        chain,
        pool,
        store: Store::new(&args.store.store),
        metrics,
    });
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is the port taken? (--addr)",
                args.addr
            )
        })?;
    println!(
        "gateway {} at http://{}/ serving {}",
        args.gateway_id,
        args.addr,
        args.store.store.display()
    );
    axum::serve(listener, datapact_gateway::router(g))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}

pub(crate) async fn provider(args: ProviderArgs) -> anyhow::Result<()> {
    let chain = args.chain.connect().await?;
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
            let o = crate::participants::exec(
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
            let id: u64 = o
                .wasm_attr(
                    datapact_types::events::action::REGISTER_ASSET,
                    datapact_types::events::key::ASSET_ID,
                )
                .and_then(|v| v.parse().ok())
                .context("the register transaction names no asset")?;
            let out = serde_json::json!({"asset_id": id, "tx": o.hash});
            print(args.json, &out, |_| {
                format!("registered asset {id} (tx {})", o.hash)
            })
        }
        ProviderAction::Publish {
            asset,
            file,
            parents,
        } => {
            let p = provider::publish(
                &chain,
                &deployment,
                &mut sender,
                &files,
                asset,
                &file,
                parents,
            )
            .await?;
            print(args.json, &p, |p| {
                format!(
                    "published asset {} version {}: {} rows, {} columns, sha256 {} ({} bytes), encrypted to {} (tx {})",
                    p.asset_id,
                    p.version,
                    p.table.rows,
                    p.table.columns.len(),
                    p.table.content_hash,
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
            let o = crate::participants::exec(
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
            let id: u64 = o
                .wasm_attr(
                    datapact_types::events::action::CREATE_OFFER,
                    datapact_types::events::key::OFFER_ID,
                )
                .and_then(|v| v.parse().ok())
                .context("the offer transaction names no offer")?;
            let out = serde_json::json!({"offer_id": id, "asset_id": asset, "tx": o.hash});
            print(args.json, &out, |_| {
                format!("offered asset {asset} as offer {id} (tx {})", o.hash)
            })
        }
        ProviderAction::DeliverKeys { follow, interval } => loop {
            let (delivered, skipped) =
                provider::deliver_keys(&chain, &deployment, &mut sender, &files.keyring).await?;
            let out = serde_json::json!({"delivered": delivered, "skipped": skipped});
            print(args.json, &out, |_| {
                let mut lines: Vec<String> = delivered
                    .iter()
                    .map(|d| {
                        format!(
                            "delivered the key of asset {} version {} to agreement {} ({}) in tx {}",
                            d.asset_id, d.version, d.agreement_id, d.consumer, d.tx
                        )
                    })
                    .collect();
                lines.extend(
                    skipped
                        .iter()
                        .map(|s| format!("skipped agreement {}: {}", s.agreement_id, s.why)),
                );
                if lines.is_empty() {
                    lines.push("every active agreement has its key".into());
                }
                lines.join("\n")
            })?;
            if !follow {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs_f64(interval.max(0.2))) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        },
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

pub(crate) async fn consumer(args: ConsumerArgs) -> anyhow::Result<()> {
    if let ConsumerAction::Keygen = args.action {
        let key = DataKey::generate();
        crate::participants::write_secret(&args.age_key, &key.key_file())?;
        let out = serde_json::json!({"public_key": key.public().to_string(), "file": args.age_key});
        return print(args.json, &out, |_| {
            format!(
                "age key written to {} (0600); public key {}",
                args.age_key.display(),
                key.public()
            )
        });
    }
    let chain = args.chain.connect().await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    match args.action {
        ConsumerAction::Keygen => unreachable!("handled above"),
        ConsumerAction::Offers { asset } => {
            let agreements = deployment.address("agreements")?;
            let mut offers = Vec::new();
            let mut start_after = None;
            loop {
                let page: datapact_agreements::msg::OffersResponse = chain
                    .smart(
                        agreements,
                        &datapact_agreements::msg::QueryMsg::Offers {
                            asset_id: asset,
                            start_after,
                            limit: Some(50),
                        },
                    )
                    .await?;
                let Some(last) = page.offers.last() else {
                    break;
                };
                start_after = Some(last.id);
                offers.extend(
                    page.offers
                        .into_iter()
                        .filter(|o| o.status == datapact_agreements::state::OfferStatus::Open),
                );
            }
            print(args.json, &offers, |offers| {
                let mut lines = vec![format!(
                    "{:>6} {:>6} {:>14} {:>6} {:>5}  purposes",
                    "offer", "asset", "price", "days", "cap"
                )];
                lines.extend(offers.iter().map(|o| {
                    format!(
                        "{:>6} {:>6} {:>14} {:>6} {:>5}  {}{}",
                        o.id,
                        o.asset_id,
                        format!("{}{}", o.terms.price.amount, o.terms.price.denom),
                        o.terms.duration_seconds / 86_400,
                        o.terms.access_cap.map_or("-".into(), |c| c.to_string()),
                        o.terms.permitted_purposes.join(","),
                        if o.terms.consent_required {
                            " (consent required)"
                        } else {
                            ""
                        }
                    )
                }));
                lines.join("\n")
            })
        }
        ConsumerAction::Status => {
            let wallet = args.key.wallet(&chain)?;
            let st = consumer::status(&chain, &deployment, &wallet.addr()).await?;
            print(args.json, &st, |st| {
                let mut lines = vec![match &st.suspended_by {
                    Some(alerts) => format!(
                        "{} is suspended by audit alert(s) {:?}: no access is recorded or delivered until lifted",
                        st.consumer, alerts
                    ),
                    None => format!("{} is in good standing", st.consumer),
                }];
                lines.extend(st.agreements.iter().map(|a| {
                    format!(
                        "agreement {:>5}  asset {:>5}  {:<10} key {}  {} accesses",
                        a.agreement_id,
                        a.asset_id,
                        a.status,
                        if a.key_delivered {
                            "delivered"
                        } else {
                            "pending  "
                        },
                        a.accesses
                    )
                }));
                lines.join("\n")
            })
        }
        ConsumerAction::Sign { offer, purpose } => {
            let age_key = read_age_key(&args.age_key)?;
            let mut sender = args.key.sender(&chain).await?;
            let s =
                consumer::sign(&chain, &deployment, &mut sender, &age_key, offer, &purpose).await?;
            print(args.json, &s, |s| {
                format!(
                    "signed offer {} for {purpose}: agreement {} on asset {}, paid {} (tx {})",
                    s.offer_id, s.agreement_id, s.asset_id, s.paid, s.tx
                )
            })
        }
        ConsumerAction::Fetch {
            agreement,
            version,
            out,
            gateway,
            gateway_id,
            proof_seconds,
        } => {
            let age_key = read_age_key(&args.age_key)?;
            let mut sender = args.key.sender(&chain).await?;
            let plan = consumer::FetchPlan {
                agreement_id: agreement,
                version,
                gateway_url: gateway,
                gateway_id,
                proof_seconds,
                out,
            };
            let f = consumer::fetch(&chain, &deployment, &mut sender, &age_key, &plan).await?;
            print(args.json, &f, |f| {
                format!(
                    "fetched asset {} version {} under agreement {}: {} bytes, sha256 {} as on chain, written to {} (access recorded in tx {})",
                    f.asset_id, f.version, f.agreement_id, f.bytes, f.content_hash, f.out.display(), f.record_tx
                )
            })
        }
    }
}

pub(crate) async fn subject(args: SubjectArgs) -> anyhow::Result<()> {
    if let SubjectAction::Keygen { out } = &args.action {
        let (key, hex) = subject::new_subject_key();
        crate::participants::write_secret(out, &format!("{hex}\n"))?;
        let id = datapact_types::consent::key_subject_id(
            key.verifying_key().to_encoded_point(true).as_bytes(),
        );
        let o = serde_json::json!({"subject": id, "file": out});
        return print(args.json, &o, |_| {
            format!(
                "subject key written to {} (0600); consents it signs are recorded for {id}",
                out.display()
            )
        });
    }
    let chain = args.chain.connect().await?;
    let deployment = Deployment::load(&args.chain.deployment)?;
    match args.action {
        SubjectAction::Keygen { .. } => unreachable!("handled above"),
        SubjectAction::Grant(c) => {
            let mut sender = args.key.sender(&chain).await?;
            let (id, tx) = subject::grant(&chain, &deployment, &mut sender, &c.ask()).await?;
            let o = serde_json::json!({"consent_id": id, "tx": tx});
            print(args.json, &o, |_| {
                format!("consent {id} given to {} (tx {tx})", c.controller)
            })
        }
        SubjectAction::Withdraw { consent } => {
            let mut sender = args.key.sender(&chain).await?;
            let tx = subject::withdraw(&chain, &deployment, &mut sender, consent).await?;
            let o = serde_json::json!({"consent_id": consent, "tx": tx});
            print(args.json, &o, |_| {
                format!("consent {consent} withdrawn (tx {tx}): no delivery that needs it happens from this block on")
            })
        }
        SubjectAction::Status { subject: who } => {
            let who = match who {
                Some(w) => w,
                None => args.key.wallet(&chain)?.addr(),
            };
            let now = chain.block_time(chain.latest_height().await?).await?;
            let list = subject::consents(&chain, &deployment, &who).await?;
            print(args.json, &list, |list| {
                let mut lines = vec![format!("{who}: {} consent(s)", list.len())];
                lines.extend(list.iter().map(|c| {
                    let state = if c.withdrawn_at.is_some() {
                        "withdrawn"
                    } else if c.in_force_at(cosmwasm_std::Timestamp::from_seconds(now)) {
                        "in force"
                    } else {
                        "lapsed"
                    };
                    let scope = match &c.scope {
                        datapact_types::consent::AssetScope::Asset { asset_id } => {
                            format!("asset {asset_id}")
                        }
                        datapact_types::consent::AssetScope::AllOfController {} => {
                            "all its assets".into()
                        }
                    };
                    format!(
                        "consent {:>5}  {:<9}  to {} for {}, {}",
                        c.id,
                        state,
                        c.controller,
                        scope,
                        c.purposes.join(",")
                    )
                }));
                lines.join("\n")
            })
        }
        SubjectAction::SignConsent {
            subject_key,
            consent,
            out,
        } => {
            let text = std::fs::read_to_string(&subject_key).with_context(|| {
                format!(
                    "no subject key at {}: make one with `datapact subject keygen`",
                    subject_key.display()
                )
            })?;
            let key = subject::read_subject_key(&text)?;
            let signed = subject::sign_consent(&chain, &deployment, &key, &consent.ask()).await?;
            std::fs::write(&out, serde_json::to_vec_pretty(&signed)?)
                .with_context(|| format!("writing {}", out.display()))?;
            print(args.json, &signed, |s| {
                format!("signed consent of {} (nonce {}) written to {}: relay it with `datapact subject relay {}`", s.subject, s.nonce, out.display(), out.display())
            })
        }
        SubjectAction::Relay { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let signed: subject::SignedConsent =
                serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{} is not a signed consent (from `datapact subject sign-consent`)",
                        file.display()
                    )
                })?;
            let mut sender = args.key.sender(&chain).await?;
            let (id, tx) = subject::relay(&chain, &deployment, &mut sender, &signed).await?;
            let o = serde_json::json!({"consent_id": id, "subject": signed.subject, "tx": tx});
            print(args.json, &o, |_| {
                format!("consent {id} of {} recorded (tx {tx})", signed.subject)
            })
        }
    }
}
