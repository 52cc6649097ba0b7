-- Streaming analysis (docs/anomalies.md, "Streaming"): a run scores the windows that closed
-- since the previous run (a window is closed once a block at or after its end is indexed) and
-- never scores one again; `next_window` is the first window the next run scores. States written
-- before it have none: their next run recomputes from the window holding the last analyzed
-- block, as those runs did.
alter table analytics_state add column next_window bigint;

-- Fitted detectors, one per role, stored once and reused by later runs (until the history has
-- doubled, or `analyze --refit`). `model_id` is the SHA-256 of `body`, the detector's fitted
-- state and settings (postcard): a run's manifest names the models it scored with, and
-- `verify-run` re-scores from them bit for bit.
create table analytics_models (
    model_id        text primary key,
    role            text not null,
    version         text not null,
    -- windows in the history the detector was fitted from (before sampling)
    history_rows    bigint not null,
    fitted_rows     bigint not null,
    body            bytea not null,
    created_at      timestamptz not null default now()
);
create index analytics_models_role on analytics_models (role, created_at);
