//! `datapact consumer`: keygen, offers, status, sign, fetch.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use datapact_chain::Deployment;
use datapact_plane::DataKey;

use super::plane::{print, KeyArgs};
use super::ChainArgs;
use crate::participants::consumer;

#[derive(Subcommand)]
pub(crate) enum ConsumerAction {
    /// Make an age key pair for receiving data keys; prints the public key.
    Keygen,
    /// The open offers (of one asset with --asset), with each asset's provenance score when
    /// an index is reachable (--database-url / DATABASE_URL, else the private cluster if it
    /// runs; never started by this command).
    Offers {
        #[arg(long)]
        asset: Option<u64>,
        /// An index with `datapact analyze` runs (read only).
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
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
        /// The data subject this access is for: required by agreements with consent required;
        /// for personal data the gateway then serves only that subject's rows. Without it a
        /// personal table comes filtered to the subjects whose consent is in force.
        #[arg(long)]
        subject: Option<String>,
        /// Fetch only a version a quality checker at this address attested as passing
        /// (`datapact quality --attest`); repeat to accept any of several.
        #[arg(long = "require-quality", value_name = "ATTESTOR")]
        require_quality: Vec<String>,
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

fn read_age_key(path: &PathBuf) -> anyhow::Result<DataKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "no age key at {}: make one with `datapact consumer keygen` (or give --age-key)",
            path.display()
        )
    })?;
    Ok(DataKey::from_secret(&text)?)
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
        ConsumerAction::Offers {
            asset,
            database_url,
        } => {
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
            let scores = provenance(database_url.as_deref(), &offers).await;
            let offers: Vec<OfferLine> = offers
                .into_iter()
                .map(|offer| {
                    let found = scores.iter().find(|(a, _, _)| *a as u64 == offer.asset_id);
                    OfferLine {
                        provenance_score: found.map(|s| s.2),
                        scored_version: found.map(|s| s.1 as u32),
                        offer,
                    }
                })
                .collect();
            print(args.json, &offers, |offers| {
                let mut lines = vec![format!(
                    "{:>6} {:>6} {:>14} {:>6} {:>5} {:>10}  purposes",
                    "offer", "asset", "price", "days", "cap", "provenance"
                )];
                lines.extend(offers.iter().map(|l| {
                    let o = &l.offer;
                    let score = match (l.provenance_score, l.scored_version) {
                        (Some(s), Some(v)) => format!("{s:.2} v{v}"),
                        _ => "-".into(),
                    };
                    format!(
                        "{:>6} {:>6} {:>14} {:>6} {:>5} {:>10}  {}{}",
                        o.id,
                        o.asset_id,
                        format!("{}{}", o.terms.price.amount, o.terms.price.denom),
                        o.terms.duration_seconds / 86_400,
                        o.terms.access_cap.map_or("-".into(), |c| c.to_string()),
                        score,
                        o.terms.permitted_purposes.join(","),
                        if o.terms.consent_required {
                            " (consent required)"
                        } else {
                            ""
                        }
                    )
                }));
                if offers.iter().all(|l| l.provenance_score.is_none()) {
                    lines.push(
                        "(no provenance scores: no index reachable, or no `datapact analyze` run scored these assets)"
                            .into(),
                    );
                }
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
            subject,
            require_quality,
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
                subject,
                require_quality,
            };
            let f = consumer::fetch(&chain, &deployment, &mut sender, &age_key, &plan).await?;
            print(args.json, &f, |f| {
                match (&f.subjects, f.withheld) {
                (Some(served), Some(withheld)) => format!(
                    "fetched asset {} version {} under agreement {}: the rows of {} subject(s) ({} held back: no consent in force), {} bytes, every segment in the version's root {} on chain, written to {} (access recorded in tx {})",
                    f.asset_id, f.version, f.agreement_id, served.len(), withheld, f.bytes, f.content_hash, f.out.display(), f.record_tx
                ),
                _ => format!(
                    "fetched asset {} version {} under agreement {}: {} bytes, sha256 {} as on chain, written to {} (access recorded in tx {})",
                    f.asset_id, f.version, f.agreement_id, f.bytes, f.content_hash, f.out.display(), f.record_tx
                ),
            }
            })
        }
    }
}

/// An open offer and its asset's provenance score, when an index has one.
#[derive(serde::Serialize)]
struct OfferLine {
    #[serde(flatten)]
    offer: datapact_agreements::state::Offer,
    provenance_score: Option<f64>,
    scored_version: Option<u32>,
}

/// The newest scores of the offers' assets from the index at `url`, or from the private
/// cluster if it is running; nothing (and a debug log) when no index answers.
async fn provenance(
    url: Option<&str>,
    offers: &[datapact_agreements::state::Offer],
) -> Vec<(i64, i32, f64)> {
    let Some(pool) = super::index_reader(url).await else {
        return vec![];
    };
    let ids: Vec<i64> = offers.iter().map(|o| o.asset_id as i64).collect();
    match datapact_analytics::store::latest_asset_scores(&pool, &ids).await {
        Ok(scores) => scores,
        Err(e) => {
            tracing::debug!("no provenance scores: {e:#}");
            vec![]
        }
    }
}
