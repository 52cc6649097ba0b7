-- Quality checkers' reports (`datapact quality --asset A --version V --record`): the verdict's
-- JSON exactly as written, keyed by its SHA-256, which is the evidence hash of the checker's
-- `quality.passed` attestation when it attested one. The dashboard shows them per version.
create table quality_reports (
    sha256      text primary key,
    asset_id    bigint not null,
    version     integer not null,
    passed      boolean not null,
    report      text not null,
    recorded_at timestamptz not null default now()
);
create index quality_reports_version on quality_reports (asset_id, version);
