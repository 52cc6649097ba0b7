//! An actor's past, as a window sees it: the values of every window of the actor's life before
//! it, idle windows as zeros. What the baselines read, so that a window's features depend on
//! that window and the windows before it only (a window is scored once it closes, and never
//! again: docs/anomalies.md, "Streaming").

use std::collections::HashMap;

use rayon::prelude::*;

use super::ActorWindow;

/// The multiset of an actor's past values of one feature: the non-zero values sorted, and how
/// many zeros (idle windows are many, and cost nothing to add).
#[derive(Clone, Debug, Default)]
pub struct Past {
    sorted: Vec<f64>,
    zeros: usize,
    sum: f64,
}

impl Past {
    pub fn push(&mut self, v: f64) {
        let v = if v.is_finite() { v } else { 0.0 };
        if v == 0.0 {
            self.zeros += 1;
        } else {
            let at = self.sorted.partition_point(|x| *x <= v);
            self.sorted.insert(at, v);
            self.sum += v;
        }
    }

    /// Adds `n` idle windows.
    pub fn push_zeros(&mut self, n: usize) {
        self.zeros += n;
    }

    pub fn len(&self) -> usize {
        self.sorted.len() + self.zeros
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k`-th smallest value (0-based); 0 beyond the end.
    fn kth(&self, k: usize) -> f64 {
        let negatives = self.sorted.partition_point(|x| *x < 0.0);
        if k < negatives {
            self.sorted[k]
        } else if k < negatives + self.zeros {
            0.0
        } else {
            self.sorted.get(k - self.zeros).copied().unwrap_or(0.0)
        }
    }

    /// The median (the mean of the middle two for an even count); 0 when empty.
    pub fn median(&self) -> f64 {
        let n = self.len();
        if n == 0 {
            return 0.0;
        }
        if n % 2 == 0 {
            (self.kth(n / 2 - 1) + self.kth(n / 2)) / 2.0
        } else {
            self.kth(n / 2)
        }
    }

    /// The value at quantile `q` (the nearest rank, rounded); 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.len();
        if n == 0 {
            return 0.0;
        }
        self.kth(((n - 1) as f64 * q).round() as usize)
    }

    pub fn mean(&self) -> f64 {
        self.sum / self.len().max(1) as f64
    }
}

/// One window of an actor's life.
pub(crate) struct Lived<'a> {
    pub window: i64,
    pub raw: &'a [f64],
    /// its position among the new rows (None: a stored, earlier window)
    pub new: Option<usize>,
}

/// Each actor's windows, the stored (`prior`) and the new (`rows`), in order; a window both
/// stored and new (not in a run's plan) is the new one. Only the actors with a new window: an
/// incremental run's `prior` holds every stored actor, and a life with nothing to score is not
/// walked.
pub(crate) fn lives<'a>(rows: &'a [ActorWindow], prior: &'a [ActorWindow]) -> Vec<Vec<Lived<'a>>> {
    let lived = |r: &'a ActorWindow, new| Lived {
        window: r.window,
        raw: &r.raw,
        new,
    };
    let mut by_actor: HashMap<&str, Vec<Lived<'a>>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_actor
            .entry(&r.actor)
            .or_default()
            .push(lived(r, Some(i)));
    }
    for r in prior {
        if let Some(ws) = by_actor.get_mut(r.actor.as_str()) {
            ws.push(lived(r, None));
        }
    }
    by_actor
        .into_values()
        .map(|mut ws| {
            ws.sort_by_key(|l| (l.window, l.new.is_none()));
            ws.dedup_by_key(|l| l.window);
            ws
        })
        .collect()
}

/// `f` over each actor's life (as [`lives`] gives them), the lives in parallel: per new row (in
/// `rows`' order) the value `f` gave its window; `T::default()` where it gave none.
pub(crate) fn per_new_window<T, F>(rows: &[ActorWindow], prior: &[ActorWindow], f: F) -> Vec<T>
where
    T: Default + Clone + Send,
    F: Fn(&[Lived]) -> Vec<(usize, T)> + Sync,
{
    let per_life: Vec<Vec<(usize, T)>> = lives(rows, prior).par_iter().map(|ws| f(ws)).collect();
    let mut out = vec![T::default(); rows.len()];
    for (i, v) in per_life.into_iter().flatten() {
        out[i] = v;
    }
    out
}

/// Windows of an actor's life (from its first) before which it has no baseline: its features
/// are read as they are, and its volume by the first-windows feature. 2, not 3: with 3, a
/// burst in a new consumer's third second of a short history went unseen (tests/pipeline.rs);
/// `make eval` held out is unchanged (PR-AUC 0.949 vs 0.950, medium 0.95 / 0.80 both).
pub const YOUNG_WINDOWS: i64 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_lives_of_actors_with_a_new_window_are_walked() {
        let window = |actor: &str, w: i64| crate::features::consumer_window(actor, w, 1.0);
        // three stored actors, one of them with a new window
        let prior: Vec<ActorWindow> = ["a", "b", "c"]
            .iter()
            .flat_map(|a| (0..5).map(move |w| window(a, w)))
            .collect();
        let rows = vec![window("b", 5)];
        let walked = std::sync::Mutex::new(Vec::new());
        let out = per_new_window(&rows, &prior, |ws| {
            if let Ok(mut w) = walked.lock() {
                w.push(ws.len());
            }
            vec![(0, ws.len())]
        });
        // b's whole life, stored windows included, and no other
        assert_eq!(walked.into_inner().ok(), Some(vec![6]));
        assert_eq!(out, vec![6]);
    }

    fn naive_median(mut v: Vec<f64>) -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 0 {
            (v[m - 1] + v[m]) / 2.0
        } else {
            v[m]
        }
    }

    proptest! {
        #[test]
        fn the_past_reads_the_same_median_and_quantiles_as_sorting_everything(
            values in proptest::collection::vec(prop_oneof![Just(0.0), -5.0..50.0f64], 0..60),
            idle in 0usize..20,
            q in 0.0..1.0f64,
        ) {
            let mut p = Past::default();
            for v in &values {
                p.push(*v);
            }
            p.push_zeros(idle);
            let mut all = values.clone();
            all.extend(std::iter::repeat_n(0.0, idle));
            prop_assert_eq!(p.len(), all.len());
            prop_assert_eq!(p.median(), naive_median(all.clone()));
            all.sort_by(f64::total_cmp);
            let expected = if all.is_empty() { 0.0 } else { all[((all.len() - 1) as f64 * q).round() as usize] };
            prop_assert_eq!(p.quantile(q), expected);
            let mean = if all.is_empty() { 0.0 } else { all.iter().sum::<f64>() / all.len() as f64 };
            prop_assert!((p.mean() - mean).abs() < 1e-9);
        }
    }
}
