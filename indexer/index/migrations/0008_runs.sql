-- Auditable analysis runs (docs/runs.md). Each run keeps a manifest: the heights it read, a
-- digest of every input table, the model and its settings, a digest of every output; its
-- SHA-256 is anchored on chain as a registry version. A run's own rows never change after it
-- commits: a later run that recomputes a window marks the earlier row superseded instead of
-- deleting it, so `datapact verify-run` can digest any run's outputs again.

alter table analytics_runs
    add column manifest text,
    add column manifest_sha256 text;

alter table actor_windows add column superseded_by bigint;
alter table actor_windows drop constraint actor_windows_pkey;
alter table actor_windows add primary key (actor, role, window_start, run_id);
create index actor_windows_run on actor_windows (run_id);

alter table anomalies add column superseded_by bigint;
create index anomalies_run on anomalies (run_id);
-- one current anomaly per (role, actor, window, kind); superseded ones stay beside it
alter table anomalies drop constraint anomalies_role_actor_window_start_kind_key;
create unique index anomalies_current on anomalies (role, actor, window_start, kind) where superseded_by is null;

-- where a run's manifest hash is on chain: version `version` of the registry asset `asset_id`
-- (the analyst's "analysis runs" asset), published by `tx_hash` at `height`
create table run_anchors (
    run_id          bigint primary key references analytics_runs (run_id),
    manifest_sha256 text not null,
    chain_id        text not null,
    registry        text not null,
    asset_id        bigint not null,
    version         bigint not null,
    tx_hash         text not null,
    height          bigint not null,
    anchored_at     timestamptz not null default now()
);

-- every `datapact verify-run`: what it found
create table run_verifications (
    run_id          bigint not null references analytics_runs (run_id),
    checked_at      timestamptz not null default now(),
    ok              boolean not null,
    -- [{"part": "input" | "output" | "file" | "recomputed" | "anchor" | "manifest", "name", "expected", "found"}]
    differences     jsonb not null,
    primary key (run_id, checked_at)
);
