-- Offers from contract 0.2.0 on name the share of the price that vests when the key is
-- delivered; earlier offers have none.
alter table offers add column delivery_share_bps bigint;
