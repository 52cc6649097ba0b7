//! The evaluation's measures on hand-made units: labelling, per-kind quality, variants, noise and
//! instances.

use super::*;
use crate::labels::Label;

#[test]
fn a_unit_is_positive_only_for_labels_of_its_actor_that_overlap_its_heights() {
    let labels = [Label {
        kind: "access_burst".into(),
        actor: "c1".into(),
        targets: vec![],
        seed: 1,
        first_height: Some(10),
        last_height: Some(20),
        txs: vec![],
        description: String::new(),
        variant: None,
    }];
    assert_eq!(
        kinds_for(&labels, "consumer", "c1", 15, 30),
        vec!["access_burst"]
    );
    assert!(
        kinds_for(&labels, "consumer", "c1", 21, 30).is_empty(),
        "after it"
    );
    assert!(
        kinds_for(&labels, "consumer", "c1", 1, 9).is_empty(),
        "before it"
    );
    assert!(
        kinds_for(&labels, "consumer", "c2", 10, 20).is_empty(),
        "another actor"
    );
    assert!(
        kinds_for(&labels, "provider", "c1", 10, 20).is_empty(),
        "another role"
    );
    let units = vec![
        Unit {
            role: "consumer".into(),
            actor: "c1".into(),
            window: 1,
            score: 0.9,
            kinds: vec!["access_burst".into()],
            variants: vec![],
            noise: vec![],
            labels: vec![],
        },
        Unit {
            role: "consumer".into(),
            actor: "c2".into(),
            window: 1,
            score: 0.2,
            kinds: vec![],
            variants: vec![],
            noise: vec![],
            labels: vec![],
        },
    ];
    let q = evaluate(&units, &["access_burst"], 1.0);
    assert_eq!(q[0].pr_auc, 1.0);
    assert_eq!(q[0].f1, 1.0);
    assert_eq!(q[1].kind, "overall");
}

#[test]
fn an_instance_is_caught_at_its_first_window_at_the_threshold_and_missed_if_none_reaches_it() {
    let label = |actor: &str, first: u64, last: u64| Label {
        kind: "access_burst".into(),
        actor: actor.into(),
        targets: vec![],
        seed: 1,
        first_height: Some(first),
        last_height: Some(last),
        txs: vec![],
        description: String::new(),
        variant: Some("sustained-2x".into()),
    };
    let labels = [label("slow", 10, 40), label("missed", 10, 40)];
    let t = sentinel_threshold();
    let unit = |actor: &str, window: i64, score: f64, labels: Vec<usize>| Unit {
        role: "consumer".into(),
        actor: actor.into(),
        window,
        score,
        kinds: vec!["access_burst".into()],
        variants: vec!["sustained-2x".into()],
        noise: vec![],
        labels,
    };
    // windows out of order: the instance's first window is 5, its first alert at 8
    let units = vec![
        unit("slow", 9, t + 0.1, vec![0]),
        unit("slow", 8, t, vec![0]),
        unit("slow", 5, t - 0.01, vec![0]),
        unit("missed", 5, t - 0.01, vec![1]),
        unit("missed", 6, 0.1, vec![1]),
    ];
    let i = incidents(&units, &labels);
    assert_eq!(i.len(), 2);
    assert_eq!((i[0].windows, i[0].first_alert), (3, Some(3)));
    assert_eq!((i[1].windows, i[1].first_alert), (2, None));
    assert_eq!(i[0].variant.as_deref(), Some("sustained-2x"));
}

#[test]
fn a_variant_is_measured_on_its_own_instances_and_honest_noise_by_its_alerts() {
    use synth::Variant;
    let unit = |actor: &str, score: f64, variant: Option<&str>, noise: Option<&str>| Unit {
        role: "consumer".into(),
        actor: actor.into(),
        window: 1,
        score,
        kinds: variant
            .map(|_| vec!["access_burst".to_string()])
            .unwrap_or_default(),
        variants: variant.map(|v| vec![v.to_string()]).unwrap_or_default(),
        noise: noise.map(|n| vec![n.to_string()]).unwrap_or_default(),
        labels: vec![],
    };
    let t = sentinel_threshold();
    // one alert of score `s` per severity whose floor it reaches
    let one_at = |s: f64| -> Vec<usize> {
        datapact_analytics::analysis::SEVERITY_FLOORS
            .iter()
            .map(|(_, floor)| usize::from(s >= *floor))
            .collect()
    };
    // a base-generator instance carries its kind but no variant
    let mut base = unit("base", 0.99, Some("-"), None);
    base.variants.clear();
    let units = vec![
        // the base burst ranks first; one sustained 2x is below an honest night shift
        base,
        unit("s1", t + 0.01, Some("sustained-2x"), None),
        unit("s2", 0.3, Some("sustained-2x"), None),
        unit("night", t + 0.02, None, Some("night-shift")),
        unit("night2", 0.1, None, Some("night-shift")),
        unit("other", 0.2, None, None),
    ];
    let v = evaluate_variants(&units, &[Variant::Sustained2x, Variant::NightShift], 1.0);
    // only the attack variant has a row, on its own two instances
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].kind.as_str(), v[0].positives), ("sustained-2x", 2));
    assert_eq!(v[0].sentinel.recall, 0.5);
    assert_eq!(v[0].sentinel.false_alerts, 1);
    let n = evaluate_noise(&units, &[Variant::Sustained2x, Variant::NightShift]);
    assert_eq!(
        n,
        vec![
            NoiseAlerts {
                variant: "night-shift".into(),
                windows: 2,
                alerts: 1,
                by_severity: one_at(t + 0.02),
            },
            NoiseAlerts {
                variant: "all unlabelled".into(),
                windows: 3,
                alerts: 1,
                by_severity: one_at(t + 0.02),
            },
            NoiseAlerts {
                variant: NEVER_LABELLED.into(),
                windows: 3,
                alerts: 1,
                by_severity: one_at(t + 0.02),
            },
            NoiseAlerts {
                variant: LABELLED_ACTORS.into(),
                windows: 0,
                alerts: 0,
                by_severity: vec![0; datapact_analytics::analysis::SEVERITY_FLOORS.len()],
            },
            NoiseAlerts {
                variant: AFTERMATH.into(),
                windows: 0,
                alerts: 0,
                by_severity: vec![0; datapact_analytics::analysis::SEVERITY_FLOORS.len()],
            },
        ]
    );
    // an attacker's window after its instance is unlabelled: an alert there is counted false,
    // and on the attacker, not on an honest customer
    let mut after = units.clone();
    after.push(unit("s2", t + 0.03, None, None));
    let n = evaluate_noise(&after, &[Variant::NightShift]);
    let row = |name: &str| {
        n.iter()
            .find(|r| r.variant == name)
            .map(|r| (r.windows, r.alerts))
    };
    assert_eq!(row("all unlabelled"), Some((4, 2)));
    assert_eq!(row(NEVER_LABELLED), Some((3, 1)));
    assert_eq!(row(LABELLED_ACTORS), Some((1, 1)));
    // per severity: the attacker's alert counts at every floor its score reaches
    let labelled = n.iter().find(|r| r.variant == LABELLED_ACTORS);
    assert_eq!(
        labelled.map(|r| r.by_severity.clone()),
        Some(one_at(t + 0.03))
    );
}

/// A consumer's unit in `window`, labelled an access burst when `attack`.
pub(super) fn consumer_unit(actor: &str, window: i64, score: f64, attack: bool) -> Unit {
    Unit {
        role: "consumer".into(),
        actor: actor.into(),
        window,
        score,
        kinds: if attack {
            vec!["access_burst".into()]
        } else {
            vec![]
        },
        variants: vec![],
        noise: vec![],
        labels: vec![],
    }
}

#[test]
fn an_attackers_unlabelled_windows_in_the_day_after_its_attack_are_its_aftermath() {
    let unit = consumer_unit;
    let t = sentinel_threshold();
    let units = vec![
        // the attack: windows 10 and 11
        unit("a", 10, 0.95, true),
        unit("a", 11, 0.95, true),
        // its next day: the window after (alerted), the last one a day after (not alerted)
        unit("a", 12, t + 0.01, false),
        unit("a", 11 + AFTERMATH_WINDOWS, 0.1, false),
        // the attacker before its attack, and more than a day after: its own, alerted
        unit("a", 9, t + 0.02, false),
        unit("a", 12 + AFTERMATH_WINDOWS, t + 0.03, false),
        // another actor in those hours is no one's aftermath
        unit("b", 12, t + 0.04, false),
        // another role's attack does not make a consumer's window its aftermath
        Unit {
            role: "provider".into(),
            ..unit("b", 11, 0.95, true)
        },
    ];
    let n = evaluate_noise(&units, &[]);
    let row = |name: &str| {
        n.iter()
            .find(|r| r.variant == name)
            .map(|r| (r.windows, r.alerts))
    };
    assert_eq!(row("all unlabelled"), Some((5, 4)));
    assert_eq!(row(NEVER_LABELLED), Some((1, 1)));
    assert_eq!(row(LABELLED_ACTORS), Some((4, 3)));
    assert_eq!(row(AFTERMATH), Some((2, 1)));
}
