//! What a run reads: its window, the windows it scores (those closed since the previous run),
//! and the heights that hold them.

use sqlx::PgPool;

use super::AnalyzeConfig;
use crate::features::Windowing;
use crate::load;
use crate::manifest::Manifest;
use crate::store;

/// A round window length near `span / 48`: enough windows for every actor to have a baseline.
pub fn auto_window(span_seconds: i64) -> i64 {
    const NICE: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400,
    ];
    let target = (span_seconds / 48).max(1);
    NICE.iter().copied().rfind(|n| *n <= target).unwrap_or(1)
}

/// What a run reads: its window, its heights, and where its windows start.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub window: Windowing,
    pub from_height: i64,
    pub to_height: i64,
    /// the first window this run scores (None: all of them)
    pub since_window: Option<i64>,
    /// the first window it does not: still open, as no block at or after its end is indexed
    /// (None: no cut, as runs recorded before streaming)
    pub until_window: Option<i64>,
    /// nothing new was indexed since the last run
    pub up_to_date: bool,
    /// the run whose inputs these are, for a recomputation (None: a new run, reading what is
    /// current)
    pub as_of_run: Option<i64>,
}

impl Plan {
    /// Whether the run scores `window`: closed since the previous run, and closed.
    pub fn scores(&self, window: i64) -> bool {
        self.since_window.is_none_or(|w0| window >= w0)
            && self.until_window.is_none_or(|u| window < u)
    }

    /// The plan a recorded run followed.
    pub fn of(m: &Manifest) -> Self {
        Plan {
            window: Windowing {
                seconds: m.window_seconds,
            },
            from_height: m.from_height,
            to_height: m.to_height,
            since_window: m.since_window,
            until_window: m.until_window,
            up_to_date: false,
            as_of_run: Some(m.run_id),
        }
    }
}

/// Chooses the window and the heights to read, from the previous run's state: the windows
/// that closed since the previous run scored its last.
pub(super) async fn plan(pool: &PgPool, cfg: &AnalyzeConfig) -> anyhow::Result<Plan> {
    let previous = if cfg.full {
        None
    } else {
        store::state(pool).await?
    };
    let to_height = load::indexed_height(pool).await?.unwrap_or(0);
    let seconds = match (cfg.window, previous) {
        (_, Some(s)) => s.window_seconds,
        (Some(w), _) => w.max(1),
        (None, _) => {
            let span = load::activity_span(pool).await?;
            auto_window(span.map_or(3600, |(a, b)| b - a))
        }
    };
    let window = Windowing { seconds };
    if let Some(s) = previous {
        if cfg.window.is_some_and(|c| c != s.window_seconds) {
            anyhow::bail!(
                "earlier runs used {}-second windows; run with --full to analyze everything again with --window {}",
                s.window_seconds,
                cfg.window.unwrap_or(s.window_seconds)
            );
        }
    }
    let up_to_date = previous.is_some_and(|s| s.last_height >= to_height);
    // the first window not yet scored (a state written before streaming: the window holding
    // the last analyzed block, which those runs recomputed)
    let since_window = match previous {
        Some(s) if !up_to_date => Some(match s.next_window {
            Some(w) => w,
            None => window.index(load::block_time(pool, s.last_height).await?.unwrap_or(0)),
        }),
        _ => None,
    };
    let from_height = match (since_window, previous) {
        (Some(w0), Some(s)) => load::first_height_since(pool, window.start(w0))
            .await?
            .unwrap_or(s.last_height),
        _ => 0,
    };
    // windows before the one holding the last indexed block are closed: every later block is
    // at or after their end
    let until_window = match load::block_time(pool, to_height).await? {
        Some(t) => window.index(t) + i64::from(cfg.close_last),
        None => since_window.unwrap_or(0),
    };
    Ok(Plan {
        window,
        from_height,
        to_height,
        since_window,
        until_window: Some(until_window.max(since_window.unwrap_or(i64::MIN))),
        up_to_date,
        as_of_run: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_window_gives_about_48_windows_in_round_units() {
        assert_eq!(auto_window(14 * 86400), 21600);
        assert_eq!(auto_window(48 * 3600), 3600);
        assert_eq!(auto_window(60), 1);
        assert_eq!(auto_window(0), 1);
        assert_eq!(auto_window(30 * 60), 30);
    }
}
