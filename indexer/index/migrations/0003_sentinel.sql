-- datapact sentinel: every anomaly it reported (or is reporting) as an on-chain alert. An
-- anomaly is named by (role, actor, window_start, kind), which re-analysis keeps, so an anomaly
-- is reported once however often the analytics run. The signed transaction is stored before it
-- is broadcast: after a crash the same bytes are sent again (the chain accepts a sequence once),
-- so an alert is never reported twice.
create table sentinel_reports (
    role            text not null,
    actor           text not null,
    window_start    timestamptz not null,
    kind            text not null,
    score           double precision not null,
    severity        text not null,
    -- sha256 of report_text, the report's canonical JSON (sorted keys, no spaces)
    evidence_hash   text not null,
    report_text     text not null,
    -- 'pending' (signed, maybe broadcast) or 'reported' (in a block)
    status          text not null,
    sender          text not null,
    tx_hash         text not null,
    tx_bytes        text not null,
    sequence        bigint not null,
    alert_seq       bigint,
    height          bigint,
    suspended       boolean,
    created_at      timestamptz not null default now(),
    reported_at     timestamptz,
    primary key (role, actor, window_start, kind)
);
create index sentinel_reports_status on sentinel_reports (status);
create index sentinel_reports_evidence on sentinel_reports (evidence_hash);
