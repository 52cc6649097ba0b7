//! `datapact suppress`: the analysts' word that an actor's anomalies are expected, so the
//! sentinel does not report them (docs/anomalies.md, "Feedback").

use clap::{Args, Subcommand};

use datapact_analytics::feedback;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    datapact suppress add --actor wasm1… --kind consumer_behaviour --days 7 --reason \"nightly export agreed with the provider\"\n  \
    datapact suppress add --actor wasm1… --reason \"load test account\"   # every kind, until lifted\n  \
    datapact suppress list --json\n  \
    datapact suppress lift 3\n\n\
A suppression covers the actor's anomalies (of --kind, or of every kind) in windows that start\n\
before it ends: the sentinel does not report them and the dashboard marks them. Alerts a\n\
responder resolves as false positives (`datapact respond resolve N --false-positive`) cover the\n\
same actor and kind for 7 days by themselves. Lifting keeps the suppression's record.")]
pub(crate) struct SuppressArgs {
    /// Postgres holding the index; unset: the private cluster.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub(crate) database_url: Option<String>,
    #[command(subcommand)]
    pub(crate) action: SuppressAction,
}

#[derive(Subcommand)]
pub(crate) enum SuppressAction {
    /// Suppress an actor's anomalies (of one kind, or every kind).
    Add {
        /// The actor's address.
        #[arg(long)]
        actor: String,
        /// consumer, provider or attestor.
        #[arg(long, default_value = "consumer")]
        role: String,
        /// An anomaly kind (consumer_behaviour, access_after_withdrawal, ...); unset: every kind.
        #[arg(long)]
        kind: Option<String>,
        /// For how many days from now; unset: until lifted.
        #[arg(long)]
        days: Option<f64>,
        /// Why (kept with the suppression, shown on the dashboard).
        #[arg(long)]
        reason: String,
        /// Who asks (kept with the suppression).
        #[arg(long, env = "USER", default_value = "analyst")]
        by: String,
    },
    /// The suppressions standing now (--all: every one ever made).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Lift a suppression (its record stays).
    Lift {
        /// The suppression's id (`suppress list`).
        id: i64,
    },
}

const ROLES: [&str; 3] = ["consumer", "provider", "attestor"];

pub(crate) async fn suppress(args: SuppressArgs) -> anyhow::Result<()> {
    let url = datapact_index::db::database_url(args.database_url.as_deref()).await?;
    let pool = datapact_index::db::connect(&url, 2).await?;
    match args.action {
        SuppressAction::Add {
            actor,
            role,
            kind,
            days,
            reason,
            by,
        } => {
            anyhow::ensure!(
                ROLES.contains(&role.as_str()),
                "--role {role:?}: the role is one of {}",
                ROLES.join(", ")
            );
            anyhow::ensure!(
                !actor.trim().is_empty() && !reason.trim().is_empty(),
                "--actor and --reason must not be empty: say whose anomalies are expected, and why"
            );
            let until = match days {
                Some(d) if d > 0.0 && d.is_finite() => {
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    Some(now + (d * 86_400.0).round() as i64)
                }
                Some(d) => anyhow::bail!("--days {d}: give a positive number of days, or leave it out for a suppression until lifted"),
                None => None,
            };
            let id = feedback::suppress(&pool, &role, &actor, kind.as_deref(), until, &reason, &by)
                .await?;
            println!(
                "suppression {id}: {role} {actor}, {} {}; lift it with `datapact suppress lift {id}`",
                kind.as_deref().unwrap_or("every kind"),
                match until {
                    Some(t) => format!("until {}", utc(t)),
                    None => "until lifted".into(),
                }
            );
        }
        SuppressAction::List { all, json } => {
            let rows = feedback::suppressions(&pool, all).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no suppressions{}", if all { "" } else { " standing" });
            } else {
                for s in rows {
                    println!(
                        "{:>4} {} {} {} {} by {}: {}{}",
                        s.suppression_id,
                        s.role,
                        s.actor,
                        s.kind.as_deref().unwrap_or("(every kind)"),
                        s.until
                            .map(|t| format!("until {}", utc(t)))
                            .unwrap_or_else(|| "until lifted".into()),
                        s.created_by,
                        s.reason,
                        if s.lifted_at.is_some() {
                            " (lifted)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        SuppressAction::Lift { id } => {
            if feedback::lift(&pool, id).await? {
                println!("suppression {id} lifted");
            } else {
                anyhow::bail!(
                    "no standing suppression {id}: `datapact suppress list --all` shows them all"
                );
            }
        }
    }
    Ok(())
}

/// `t` (unix seconds) as `YYYY-MM-DD HH:MM UTC`.
fn utc(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| {
            format!(
                "{}-{:02}-{:02} {:02}:{:02} UTC",
                d.year(),
                d.month() as u8,
                d.day(),
                d.hour(),
                d.minute()
            )
        })
        .unwrap_or_else(|_| t.to_string())
}
