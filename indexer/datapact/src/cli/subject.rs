//! `datapact subject`: grant, withdraw, status; a bare key's signed consent and its relay.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use datapact_chain::Deployment;

use super::plane::{print, KeyArgs};
use super::ChainArgs;
use crate::participants::subject;

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
    /// Sign the withdrawal of one of a subject key's consents, off chain: writes it as JSON
    /// for anyone to relay. Nothing is sent.
    SignWithdrawal {
        #[arg(long, default_value = ".data/subject.key")]
        subject_key: PathBuf,
        #[arg(long)]
        consent: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Send a signed consent or withdrawal (the relaying wallet pays the fee; the key's
    /// holder decides).
    Relay { file: PathBuf },
}

#[derive(Args)]
#[command(after_help = "Examples (local chain):\n  \
    datapact subject --as subject-0 grant --controller wasm1… --asset 3 --purpose research --days 365\n  \
    datapact subject --as subject-0 status\n  \
    datapact subject --as subject-0 withdraw --consent 12\n  \
    datapact subject keygen --out me.key                          # a subject without a wallet\n  \
    datapact subject sign-consent --subject-key me.key --controller wasm1… --purpose research --out consent.json\n  \
    datapact subject --as relayer-0 relay consent.json\n  \
    datapact subject sign-withdrawal --subject-key me.key --consent 13 --out withdrawal.json\n  \
    datapact subject --as relayer-0 relay withdrawal.json")]
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
            let key = load_subject_key(&subject_key)?;
            let signed = subject::sign_consent(&chain, &deployment, &key, &consent.ask()).await?;
            write_signed(args.json, &signed, &out, "consent")
        }
        SubjectAction::SignWithdrawal {
            subject_key,
            consent,
            out,
        } => {
            let key = load_subject_key(&subject_key)?;
            let signed = subject::sign_withdrawal(&chain, &deployment, &key, consent).await?;
            write_signed(args.json, &signed, &out, "withdrawal")
        }
        SubjectAction::Relay { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let signed: subject::SignedConsent =
                serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{} is not a signed consent or withdrawal (from `datapact subject sign-consent` or `sign-withdrawal`)",
                        file.display()
                    )
                })?;
            let mut sender = args.key.sender(&chain).await?;
            let (id, tx) = subject::relay(&chain, &deployment, &mut sender, &signed).await?;
            let o = serde_json::json!({"consent_id": id, "subject": signed.subject, "tx": tx});
            let done = match signed.action {
                datapact_types::consent::SignedAction::Withdraw { .. } => "withdrawn",
                _ => "recorded",
            };
            print(args.json, &o, |_| {
                format!("consent {id} of {} {done} (tx {tx})", signed.subject)
            })
        }
    }
}

fn load_subject_key(path: &std::path::Path) -> anyhow::Result<k256::ecdsa::SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "no subject key at {}: make one with `datapact subject keygen`",
            path.display()
        )
    })?;
    subject::read_subject_key(&text)
}

/// Writes a signed action where `relay` reads it, and says so.
fn write_signed(
    json: bool,
    signed: &subject::SignedConsent,
    out: &std::path::Path,
    what: &str,
) -> anyhow::Result<()> {
    if out.exists() {
        anyhow::bail!(
            "{} exists: choose another --out (a signed file is never overwritten)",
            out.display()
        );
    }
    std::fs::write(out, serde_json::to_vec_pretty(signed)?)
        .with_context(|| format!("writing {}", out.display()))?;
    print(json, signed, |s| {
        format!(
            "signed {what} of {} (nonce {}) written to {}: relay it with `datapact subject relay {}`",
            s.subject,
            s.nonce,
            out.display(),
            out.display()
        )
    })
}
