-- The gateways' redemption ledger: each `record_access` transaction buys one delivery. A
-- gateway inserts the transaction's hash before it sends a byte; the primary key makes the
-- second redemption fail, whichever gateway tries it, and a row committed before a crash
-- stays redeemed. `delivered_bytes` and `completed_at` are filled when the stream ends.
create table gateway_redemptions (
    record_tx text primary key,
    gateway text not null,
    agreement_id bigint not null,
    consumer text not null,
    asset_id bigint not null,
    version bigint not null,
    subject text,
    nonce text not null,
    redeemed_at timestamptz not null default now(),
    delivered_bytes bigint,
    completed_at timestamptz
);
create index gateway_redemptions_by_agreement on gateway_redemptions (agreement_id);
