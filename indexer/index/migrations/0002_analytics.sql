-- datapact analytics: runs, per-window features and scores, anomalies with their explanations,
-- provenance scores with their components. Written by `datapact analyze`.

create table analytics_runs (
    run_id          bigserial primary key,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    model_version   text not null,
    window_seconds  bigint not null,
    -- the heights this run read events from and up to
    from_height     bigint not null,
    to_height       bigint not null,
    params          jsonb not null,
    stats           jsonb,
    report_dir      text
);

-- every (role, actor, window) seen, with its raw features and its latest score; the history
-- a re-run uses for baselines, and the timeline the dashboard draws
create table actor_windows (
    role            text not null,
    actor           text not null,
    window_start    timestamptz not null,
    window_seconds  bigint not null,
    first_height    bigint not null,
    last_height     bigint not null,
    raw             double precision[] not null,
    score           double precision not null,
    run_id          bigint not null references analytics_runs (run_id),
    -- by actor first: an actor's timeline is one index range
    primary key (actor, role, window_start)
);
create index actor_windows_time on actor_windows (window_start);

-- windows scored at or above the report threshold, and every finding by rule
create table anomalies (
    anomaly_id      bigserial primary key,
    run_id          bigint not null references analytics_runs (run_id),
    role            text not null,
    actor           text not null,
    window_start    timestamptz not null,
    window_end      timestamptz not null,
    -- 'model' (a learned score) or 'rule' (what the contracts' rules decided)
    method          text not null,
    kind            text not null,
    score           double precision not null,
    severity        text not null,
    explanation     text not null,
    features        jsonb not null,
    first_height    bigint not null,
    last_height     bigint not null,
    -- tx hashes behind the finding, and what it touched (agreement:N, subject:S, asset:A@V)
    txs             text[] not null,
    targets         text[] not null,
    model_version   text not null,
    unique (role, actor, window_start, kind)
);
create index anomalies_rank on anomalies (score desc, anomaly_id);
create index anomalies_actor on anomalies (actor, window_start);

create table provenance_scores (
    run_id          bigint not null references analytics_runs (run_id),
    asset_id        bigint not null,
    version         integer not null,
    score           double precision not null,
    own             double precision not null,
    lineage         double precision not null,
    attestation     double precision not null,
    diversity       double precision not null,
    integrity       double precision not null,
    consent         double precision not null,
    alerts          double precision not null,
    inherited       double precision not null,
    attestors       integer not null,
    unattested_ancestors integer not null,
    primary key (run_id, asset_id, version)
);

-- where the next incremental run starts
create table analytics_state (
    id              smallint primary key default 1 check (id = 1),
    window_seconds  bigint not null,
    last_height     bigint not null,
    last_run        bigint not null references analytics_runs (run_id)
);
