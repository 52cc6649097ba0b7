-- Forecasts, written by every `datapact analyze` run beside its anomalies (docs/forecasts.md):
-- per series (an agreement's or an asset's accesses, an asset's new agreements, a consent
-- scope's withdrawals) the next steps with a prediction interval; per party an outlook (when
-- an agreement reaches its cap; a consumer's probability of being reported next window).
-- A run's rows never change; they are among the outputs its manifest digests.
create table forecasts (
    run_id        bigint not null references analytics_runs (run_id),
    target        text not null,
    key           text not null,
    -- 0 is the step the run's last block falls in
    step          integer not null,
    step_start    timestamptz not null,
    step_seconds  bigint not null,
    point         double precision not null,
    lower         double precision not null,
    upper         double precision not null,
    level         double precision not null,
    method        text not null,
    history       integer not null,
    primary key (run_id, target, key, step)
);
create index forecasts_key on forecasts (target, key, run_id);

create table forecast_outlooks (
    run_id        bigint not null references analytics_runs (run_id),
    kind          text not null,
    key           text not null,
    party         text not null,
    value         double precision not null,
    lower         double precision not null,
    upper         double precision not null,
    at            timestamptz,
    at_early      timestamptz,
    at_late       timestamptz,
    before_expiry boolean,
    drivers       text not null,
    primary key (run_id, kind, key)
);
create index forecast_outlooks_party on forecast_outlooks (party, run_id);
