-- datapact's index of one chain. Every row derived from a block carries the block's height, and
-- every table below is keyed by position (height, tx_index, event_index), so re-ingesting a
-- height range is "delete the range, insert it again" inside one transaction.
-- tx_index is -1 for block-level (begin/end block) events.

create table checkpoint (
    id          smallint primary key default 1 check (id = 1),
    chain_id    text not null,
    -- every height in start_height..=height is indexed
    start_height bigint not null,
    height      bigint not null,
    updated_at  timestamptz not null default now()
);

create table blocks (
    height      bigint primary key,
    time        timestamptz not null,
    hash        text not null,
    num_txs     integer not null
);
create index blocks_time on blocks (time);

-- every transaction; for wasm executes, the contract and the decoded message, also (above all)
-- when the execution failed: a failed execute is a denied attempt
create table txs (
    height      bigint not null,
    tx_index    integer not null,
    hash        text not null,
    sender      text,
    success     boolean not null,
    code        integer not null,
    log         text,
    gas_wanted  bigint not null,
    gas_used    bigint not null,
    contract    text,
    action      text,
    msg         jsonb,
    decode_error text,
    primary key (height, tx_index)
);
create index txs_hash on txs (hash);
create index txs_sender on txs (sender, height);
create index txs_failed on txs (contract, action, height) where not success;

-- every event as the chain emitted it, attributes in order as [[key, value], ...]
create table events (
    height      bigint not null,
    tx_index    integer not null,
    event_index integer not null,
    kind        text not null,
    contract    text,
    action      text,
    attrs       jsonb not null,
    primary key (height, tx_index, event_index)
);
create index events_action on events (action, height) where action is not null;

-- events from our contracts that the catalogue does not know or that do not decode: kept, flagged
create table quarantine (
    height      bigint not null,
    tx_index    integer not null,
    event_index integer not null,
    contract    text,
    reason      text not null,
    kind        text not null,
    attrs       jsonb not null,
    primary key (height, tx_index, event_index)
);

-- registry -------------------------------------------------------------------------------------
create table assets (
    height bigint not null, tx_index integer not null, event_index integer not null,
    asset_id bigint not null, owner text not null, sensitivity text not null,
    primary key (height, tx_index, event_index)
);
create index assets_id on assets (asset_id);
create index assets_owner on assets (owner);

create table asset_changes (
    height bigint not null, tx_index integer not null, event_index integer not null,
    asset_id bigint not null, change text not null, actor text not null, party text,
    primary key (height, tx_index, event_index)
);
create index asset_changes_id on asset_changes (asset_id, height);

create table versions (
    height bigint not null, tx_index integer not null, event_index integer not null,
    asset_id bigint not null, version integer not null, publisher text not null,
    content_hash text not null, schema_hash text,
    primary key (height, tx_index, event_index)
);
create unique index versions_ref on versions (asset_id, version);

create table lineage_edges (
    height bigint not null, tx_index integer not null, event_index integer not null,
    parent_asset bigint not null, parent_version integer not null,
    child_asset bigint not null, child_version integer not null,
    primary key (height, tx_index, event_index, parent_asset, parent_version)
);
create index lineage_child on lineage_edges (child_asset, child_version);
create index lineage_parent on lineage_edges (parent_asset, parent_version);

create table attestations (
    height bigint not null, tx_index integer not null, event_index integer not null,
    asset_id bigint not null, version integer not null, attestor text not null,
    claim text not null, evidence_hash text, revoked boolean not null,
    primary key (height, tx_index, event_index)
);
create index attestations_ref on attestations (asset_id, version);
create index attestations_attestor on attestations (attestor);

-- consent --------------------------------------------------------------------------------------
create table consents (
    height bigint not null, tx_index integer not null, event_index integer not null,
    consent_id bigint not null, subject text not null, controller text not null,
    scope text not null, purposes text[] not null, legal_basis text not null,
    method text not null, expires_at text,
    primary key (height, tx_index, event_index)
);
create unique index consents_id on consents (consent_id);
create index consents_subject on consents (subject);
create index consents_controller on consents (controller);

create table consent_withdrawals (
    height bigint not null, tx_index integer not null, event_index integer not null,
    consent_id bigint not null, subject text not null, controller text not null, signed boolean not null,
    primary key (height, tx_index, event_index)
);
create index consent_withdrawals_id on consent_withdrawals (consent_id);

-- agreements -----------------------------------------------------------------------------------
create table offers (
    height bigint not null, tx_index integer not null, event_index integer not null,
    offer_id bigint not null, asset_id bigint not null, provider text not null,
    price text not null, consent_required boolean not null, purposes text[] not null,
    access_cap bigint,
    primary key (height, tx_index, event_index)
);
create unique index offers_id on offers (offer_id);

create table agreements (
    height bigint not null, tx_index integer not null, event_index integer not null,
    agreement_id bigint not null, offer_id bigint not null, asset_id bigint not null,
    provider text not null, consumer text not null, purpose text not null,
    price text not null, expires_at text not null,
    primary key (height, tx_index, event_index)
);
create unique index agreements_id on agreements (agreement_id);
create index agreements_consumer on agreements (consumer);
create index agreements_provider on agreements (provider);

-- deposit_key, suspend, resume, terminate, claim, withdraw_offer
create table agreement_changes (
    height bigint not null, tx_index integer not null, event_index integer not null,
    agreement_id bigint, offer_id bigint, change text not null, actor text not null,
    amount text, refunded text,
    primary key (height, tx_index, event_index)
);
create index agreement_changes_id on agreement_changes (agreement_id, height);

create table accesses (
    height bigint not null, tx_index integer not null, event_index integer not null,
    agreement_id bigint not null, asset_id bigint not null, consumer text not null,
    purpose text not null, subject text, access_count bigint not null,
    primary key (height, tx_index, event_index)
);
create index accesses_agreement on accesses (agreement_id, height);
create index accesses_consumer on accesses (consumer, height);
create index accesses_asset on accesses (asset_id, height);

-- failed RecordAccess executes, decoded from the transaction: who tried what, and why it was refused
create table denied_attempts (
    height bigint not null, tx_index integer not null, msg_index integer not null,
    consumer text not null, agreement_id bigint, purpose text, subject text,
    reason text not null,
    primary key (height, tx_index, msg_index)
);
create index denied_consumer on denied_attempts (consumer, height);

create table consumer_suspensions (
    height bigint not null, tx_index integer not null, event_index integer not null,
    consumer text not null, alert_seq bigint not null, lifted boolean not null,
    primary key (height, tx_index, event_index)
);
create index consumer_suspensions_consumer on consumer_suspensions (consumer, height);

-- audit ----------------------------------------------------------------------------------------
create table alerts (
    height bigint not null, tx_index integer not null, event_index integer not null,
    alert_seq bigint not null, sentinel text not null, kind text not null, severity text not null,
    subject text not null, asset_id bigint, evidence_hash text not null, score text not null,
    model_version text not null, entry_hash text not null, suspended boolean not null,
    primary key (height, tx_index, event_index)
);
create index alerts_subject on alerts (subject);

-- acknowledge, resolve, lift_suspension, update_roles, update_policy
create table audit_changes (
    height bigint not null, tx_index integer not null, event_index integer not null,
    alert_seq bigint, change text not null, actor text not null, attrs jsonb not null,
    primary key (height, tx_index, event_index)
);
