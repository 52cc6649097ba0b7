//! Exponential smoothing with additive errors, the trend chosen by AICc among none, additive and
//! damped additive: augurs' AutoETS search over its `Unfit` models, with the optimizer's
//! iteration budget as a setting (AutoETS fixes it at 2,000, and on a flat likelihood the
//! Nelder-Mead search spends all of it). Usable alone and as MSTL's trend model.

use std::borrow::Cow;

use augurs::ets::model::{
    ErrorComponent, Model, ModelType, SeasonalComponent, TrendComponent, Unfit,
};
use augurs::ets::Error;
use augurs::mstl::{FittedTrendModel, TrendModel};
use augurs::{Forecast, Predict};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The search: each candidate fitted with at most `max_iterations` optimizer steps.
#[derive(Clone, Debug)]
pub struct EtsSearch {
    pub max_iterations: usize,
}

impl EtsSearch {
    /// The candidate with the lowest AICc; AutoETS's own errors when there is too little data or
    /// none fits (so a run's `method` names a failure as it did under AutoETS).
    pub fn fit(&self, y: &[f64]) -> Result<Model, Error> {
        // as AutoETS: two parameters and the initial level, two more for a trend
        if y.len() <= 2 + 2 + 4 {
            return Err(Error::NotEnoughData);
        }
        let candidates = [
            (TrendComponent::None, false),
            (TrendComponent::Additive, false),
            (TrendComponent::Additive, true),
        ];
        candidates
            .iter()
            .filter_map(|(trend, damped)| {
                Unfit::new(ModelType {
                    error: ErrorComponent::Additive,
                    trend: *trend,
                    season: SeasonalComponent::None,
                })
                .damped(*damped)
                .max_iterations(self.max_iterations)
                .fit(y)
                .ok()
                .filter(|m| m.aicc().is_finite())
            })
            .min_by(|a, b| a.aicc().total_cmp(&b.aicc()))
            .ok_or(Error::NoModelFound)
    }
}

impl TrendModel for EtsSearch {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("ETS")
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedTrendModel + Sync + Send>, BoxError> {
        let model = EtsSearch::fit(self, y)?;
        Ok(Box::new(Fitted { model }))
    }
}

#[derive(Debug)]
struct Fitted {
    model: Model,
}

impl FittedTrendModel for Fitted {
    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        forecast: &mut Forecast,
    ) -> Result<(), BoxError> {
        Ok(self.model.predict_inplace(horizon, level, forecast)?)
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        forecast: &mut Forecast,
    ) -> Result<(), BoxError> {
        Ok(self.model.predict_in_sample_inplace(level, forecast)?)
    }

    fn training_data_size(&self) -> Option<usize> {
        Some(self.model.training_data_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use augurs::ets::AutoETS;
    use augurs::mstl::MSTLModel;
    use augurs::Fit;

    fn series(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let day = ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
                let wobble = ((t * 7919 + seed * 104_729) % 17) as f64 / 17.0;
                (5.0 + 0.01 * (seed * t) as f64 + 2.0 * day + 3.0 * wobble).round()
            })
            .collect()
    }

    #[test]
    fn at_autoets_budget_the_search_is_autoets() {
        // what runs recorded before the budget was a setting recompute exactly
        let ours = EtsSearch {
            max_iterations: 2000,
        };
        for seed in 0..4 {
            let y = series(300, seed);
            let a = ours
                .fit(&y)
                .expect("fits")
                .predict(24, 0.8)
                .expect("predicts");
            let b = AutoETS::new(1, "AZN")
                .expect("a valid spec")
                .fit(&y)
                .expect("fits")
                .predict(24, 0.8)
                .expect("predicts");
            assert_eq!(a.point, b.point);
            let bounds = |f: &augurs::Forecast| {
                f.intervals
                    .as_ref()
                    .map(|i| (i.lower.clone(), i.upper.clone()))
            };
            assert_eq!(bounds(&a), bounds(&b));
            let auto = AutoETS::new(1, "AZN")
                .expect("a valid spec")
                .into_trend_model();
            let mstl_ours = MSTLModel::new(vec![24], ours.clone())
                .fit(&y)
                .expect("fits")
                .predict(24, 0.8)
                .expect("predicts");
            let mstl_auto = MSTLModel::new(vec![24], auto)
                .fit(&y)
                .expect("fits")
                .predict(24, 0.8)
                .expect("predicts");
            assert_eq!(mstl_ours.point, mstl_auto.point);
            assert_eq!(bounds(&mstl_ours), bounds(&mstl_auto));
        }
    }

    #[test]
    fn too_short_a_series_is_an_error_not_a_panic() {
        let e = EtsSearch {
            max_iterations: 100,
        }
        .fit(&[1.0, 2.0, 3.0]);
        assert!(e.is_err());
        // and the error reads as AutoETS's
        let auto = AutoETS::new(1, "AZN")
            .expect("a valid spec")
            .fit(&[1.0, 2.0, 3.0]);
        assert_eq!(
            e.err().map(|e| e.to_string()),
            auto.err().map(|e| e.to_string())
        );
    }
}
