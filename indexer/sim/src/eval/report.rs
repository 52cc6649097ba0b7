//! The text `make eval` prints: the table per kind, the aims checked on held-out seeds, and the
//! top unlabelled windows for tuning.

use std::fmt::Write;

use datapact_analytics::analysis::SEVERITY_FLOORS;
use datapact_analytics::{Analysis, SENTINEL_DEFAULT_SEVERITY};

use super::operating::{
    choose_severity, noise_alerts_at, pooled_precision, precision_by_severity,
    precision_without_aftermath, sentinel_threshold, OperatingPoint, PRECISION_FLOOR,
};
use super::{Quality, SeedResult, Unit, AFTERMATH, AFTERMATH_WINDOWS, NEVER_LABELLED};

/// A ratio to two places, "-" where there is none (no alerts at all).
fn ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "-".into()
    }
}

/// The table `make eval` prints: per kind, the mean over seeds and the worst seed; then per
/// variant of the generator the seeds ran with.
pub fn summary(results: &[SeedResult]) -> String {
    let mut s = table(results, "kind", &|r| &r.quality);
    let attacks = results.first().is_some_and(|r| !r.variants.is_empty());
    if attacks {
        let _ = writeln!(
            s,
            "attack variants (each against every negative of its role):"
        );
        s.push_str(&table(results, "variant", &|r| &r.variants));
    }
    let noise: Vec<String> = results
        .first()
        .map(|r| r.noise.iter().map(|n| n.variant.clone()).collect())
        .unwrap_or_default();
    if noise.len() > 1 {
        let _ = writeln!(
            s,
            "honest noise: unlabelled windows it touched, and the alerts on them at {:.2} (summed over seeds):",
            sentinel_threshold()
        );
        for name in &noise {
            let (mut windows, mut alerts) = (0, 0);
            for n in results
                .iter()
                .flat_map(|r| &r.noise)
                .filter(|n| &n.variant == name)
            {
                windows += n.windows;
                alerts += n.alerts;
            }
            let _ = writeln!(
                s,
                "  {name:<24} {windows:>8} windows, {alerts:>4} alerts ({:.3}%)",
                100.0 * alerts as f64 / windows.max(1) as f64
            );
        }
    }
    s.push_str(&incident_table(results));
    s.push_str(&at_severities(results));
    s
}

/// Per kind, then per attack variant: the labelled instances (pooled over seeds), the share
/// the sentinel's threshold catches in at least one window, and the windows from an instance's
/// first to its first alert (median and worst of the caught).
fn incident_table(results: &[SeedResult]) -> String {
    let all: Vec<&super::Incident> = results.iter().flat_map(|r| &r.incidents).collect();
    if all.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "instances (pooled over seeds; caught: one of its windows at or above {:.2}; windows from its first to the first alert, of the caught):",
        sentinel_threshold()
    );
    let _ = writeln!(
        s,
        "  {:<24} {:>9} {:>7} {:>7} {:>6}",
        "kind or variant", "instances", "caught", "median", "worst"
    );
    let mut groups: Vec<(String, Vec<&super::Incident>)> = Vec::new();
    let mut kinds: Vec<&str> = all.iter().map(|i| i.kind.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        groups.push((
            k.to_string(),
            all.iter().copied().filter(|i| i.kind == k).collect(),
        ));
    }
    let mut variants: Vec<&str> = all.iter().filter_map(|i| i.variant.as_deref()).collect();
    variants.sort();
    variants.dedup();
    for v in variants {
        groups.push((
            format!("  {v}"),
            all.iter()
                .copied()
                .filter(|i| i.variant.as_deref() == Some(v))
                .collect(),
        ));
    }
    for (name, is) in groups {
        let mut delays: Vec<i64> = is.iter().filter_map(|i| i.first_alert).collect();
        delays.sort_unstable();
        let caught = delays.len() as f64 / is.len().max(1) as f64;
        let (median, worst) = match (delays.get(delays.len() / 2), delays.last()) {
            (Some(m), Some(w)) => (m.to_string(), w.to_string()),
            _ => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "  {name:<24} {:>9} {caught:>7.2} {median:>7} {worst:>6}",
            is.len()
        );
    }
    s
}

/// Rows of quality figures, one per name `select` gives each seed: mean over seeds, worst seed.
fn table(results: &[SeedResult], what: &str, select: &dyn Fn(&SeedResult) -> &[Quality]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<26} {:>6} {:>8} {:>8} {:>8} {:>8} {:>15} | {:>11} {:>13}",
        what,
        "pos",
        "PR-AUC",
        "min",
        "R@5%FPR",
        "min",
        "P/R/F1@0.5",
        format!("P/R@{:.2}", sentinel_threshold()),
        "false/1k/day"
    );
    let kinds: Vec<String> = results
        .first()
        .map(|r| select(r).iter().map(|q| q.kind.clone()).collect())
        .unwrap_or_default();
    for k in &kinds {
        let qs: Vec<&Quality> = results
            .iter()
            .filter_map(|r| select(r).iter().find(|q| &q.kind == k))
            .collect();
        let mean = |f: &dyn Fn(&Quality) -> f64| {
            qs.iter().map(|q| f(q)).sum::<f64>() / qs.len().max(1) as f64
        };
        let min =
            |f: &dyn Fn(&Quality) -> f64| qs.iter().map(|q| f(q)).fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            s,
            "{:<26} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>5.2}/{:.2}/{:.2} | {:>5}/{:.2} {:>13.2}",
            k,
            qs.iter().map(|q| q.positives).sum::<usize>(),
            mean(&|q| q.pr_auc),
            min(&|q| q.pr_auc),
            mean(&|q| q.recall_at_5pct_fpr),
            min(&|q| q.recall_at_5pct_fpr),
            mean(&|q| q.precision),
            mean(&|q| q.recall),
            mean(&|q| q.f1),
            ratio(pooled_precision(&qs)),
            mean(&|q| q.sentinel.recall),
            mean(&|q| q.sentinel.false_per_1000_actor_days),
        );
    }
    s
}

/// Overall at each severity's floor, and the provenance scores' ranking.
fn at_severities(results: &[SeedResult]) -> String {
    let mut s = String::new();
    let overall: Vec<&Quality> = results
        .iter()
        .filter_map(|r| r.quality.iter().find(|q| q.kind == "overall"))
        .collect();
    let _ = writeln!(
        s,
        "overall at each --min-severity of the sentinel (precision pooled over seeds, then without the alerts in an attack's next day — the {AFTERMATH_WINDOWS} windows after an attacker's labelled one —, which fall on the attacker; false alerts per 1,000 actors per day, then the false windows summed over seeds, how many are of actors never labelled and how many in an attack's next day):"
    );
    let precision = precision_by_severity(results);
    let without = precision_without_aftermath(results);
    for (i, (name, floor)) in SEVERITY_FLOORS.iter().enumerate() {
        let at = |q: &Quality| q.by_severity.get(i).map(|(_, p)| p.clone());
        let points: Vec<OperatingPoint> = overall.iter().filter_map(|q| at(q)).collect();
        let n = points.len().max(1) as f64;
        // the false alerts in windows, and how many fall on actors never labelled (honest
        // customers; the rest are attackers' own windows outside their instances)
        let honest = noise_alerts_at(results, NEVER_LABELLED, i);
        let aftermath = noise_alerts_at(results, AFTERMATH, i);
        let _ = writeln!(
            s,
            "  {name:<9} (score >= {floor:.2}): precision {:>4} ({} without), recall {:.2}, false alerts {:.2} ({} windows, {honest} of actors never labelled, {aftermath} in an attack's next day){}",
            ratio(precision.get(i).map_or(f64::NAN, |p| p.1)),
            ratio(without.get(i).map_or(f64::NAN, |p| p.1)),
            points.iter().map(|p| p.recall).sum::<f64>() / n,
            points.iter().map(|p| p.false_per_1000_actor_days).sum::<f64>() / n,
            points.iter().map(|p| p.false_alerts).sum::<usize>(),
            if *name == SENTINEL_DEFAULT_SEVERITY {
                "  <- the sentinel's default"
            } else {
                ""
            }
        );
    }
    let aucs: Vec<f64> = results.iter().map(|r| r.provenance_auc).collect();
    let _ = writeln!(
        s,
        "provenance: laundered versions score below clean derived ones with AUC {:.3} (seeds: {}); mean score {:.1} laundered vs {:.1} clean",
        aucs.iter().sum::<f64>() / aucs.len().max(1) as f64,
        aucs.iter().map(|a| format!("{a:.3}")).collect::<Vec<_>>().join(", "),
        results.iter().map(|r| r.laundered_mean).sum::<f64>() / results.len().max(1) as f64,
        results.iter().map(|r| r.clean_mean).sum::<f64>() / results.len().max(1) as f64,
    );
    s
}

/// What the development seeds choose as the sentinel's default, against the one in the code.
pub fn default_choice(results: &[SeedResult]) -> String {
    let chosen = choose_severity(results, PRECISION_FLOOR);
    format!(
        "the sentinel's default chosen here: {} (the lowest severity whose precision on these seeds is at least {PRECISION_FLOOR} within one standard error: {}); in the code: {SENTINEL_DEFAULT_SEVERITY}{}\n",
        chosen.unwrap_or("none"),
        precision_by_severity(results)
            .iter()
            .map(|(name, p, se, n)| format!("{name} {p:.3} +- {se:.3} of {n:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        if chosen == Some(SENTINEL_DEFAULT_SEVERITY) {
            ""
        } else {
            " (DIFFERS: update SENTINEL_DEFAULT_SEVERITY)"
        }
    )
}

/// The aims, checked on held-out seeds: overall PR-AUC >= 0.9, precision >= 0.9 at the
/// sentinel's threshold, and every kind's recall >= 0.8 there.
pub fn aims(results: &[SeedResult]) -> String {
    let of = |kind: &str| -> Vec<&Quality> {
        results
            .iter()
            .filter_map(|r| r.quality.iter().find(|q| q.kind == kind))
            .collect()
    };
    let mean = |qs: &[&Quality], f: &dyn Fn(&Quality) -> f64| {
        qs.iter().map(|q| f(q)).sum::<f64>() / qs.len().max(1) as f64
    };
    let overall = of("overall");
    let pr = mean(&overall, &|q| q.pr_auc);
    let precision = pooled_precision(&overall);
    let t = sentinel_threshold();
    let mut s = String::new();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let _ = writeln!(
        s,
        "aim overall PR-AUC >= 0.9 on held-out seeds: {pr:.3} ({})",
        verdict(pr >= 0.9)
    );
    let without = precision_without_aftermath(results)
        .into_iter()
        .find(|(name, _)| *name == SENTINEL_DEFAULT_SEVERITY)
        .map_or(f64::NAN, |(_, p)| p);
    let _ = writeln!(
        s,
        "aim precision >= {PRECISION_FLOOR} at the sentinel's threshold ({t:.2}): {precision:.3} ({}; {without:.3} without the alerts in an attack's next day, which fall on the attacker, late)",
        verdict(precision >= PRECISION_FLOOR)
    );
    let kinds: Vec<String> = results
        .first()
        .map(|r| r.quality.iter().map(|q| q.kind.clone()).collect())
        .unwrap_or_default();
    let low: Vec<String> = kinds
        .iter()
        .filter(|k| *k != "overall")
        .filter_map(|k| {
            let r = mean(&of(k), &|q| q.sentinel.recall);
            (r < 0.8).then(|| format!("{k} {r:.2}"))
        })
        .collect();
    let _ = writeln!(
        s,
        "aim every kind's recall >= 0.8 at {t:.2}: {}",
        if low.is_empty() {
            "met".to_string()
        } else {
            format!("NOT met ({})", low.join(", "))
        }
    );
    s
}

/// The highest-scored windows of each role that no label covers, with their views and raw
/// features (for tuning): printed by `datapact eval --debug`.
pub fn debug_top(a: &Analysis, units: &[Unit], n: usize) -> String {
    let mut s = String::new();
    let positive: std::collections::HashSet<(&str, &str, i64)> = units
        .iter()
        .filter(|u| !u.kinds.is_empty())
        .map(|u| (u.role.as_str(), u.actor.as_str(), u.window))
        .collect();
    for (t, scores) in &a.tables {
        let mut idx: Vec<usize> = (0..t.rows.len())
            .filter(|&i| !positive.contains(&(t.role, t.rows[i].actor.as_str(), t.rows[i].window)))
            .collect();
        idx.sort_by(|&i, &j| scores[j].score.total_cmp(&scores[i].score));
        let _ = writeln!(
            s,
            "== {}: top unlabelled of {} windows",
            t.role,
            t.rows.len()
        );
        for &i in idx.iter().take(n) {
            let (w, sc) = (&t.rows[i], &scores[i]);
            let _ = writeln!(
                s,
                "{:.3} {} window {} parts [{:.1} {:.1} {:.1} {:.1}] raw {:?} usual {:?}",
                sc.score,
                w.actor,
                w.window,
                sc.parts[0],
                sc.parts[1],
                sc.parts[2],
                sc.parts[3],
                w.raw,
                w.usual
            );
        }
    }
    s
}
