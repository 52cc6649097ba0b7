-- Expiries are times, not text: the contracts emit unix seconds, which the decoder now writes
-- as timestamps (earlier rows held the seconds, or an RFC 3339 text from the synthetic
-- histories; both convert).
alter table agreements alter column expires_at type timestamptz using
    case when expires_at ~ '^[0-9]+$' then to_timestamp(expires_at::bigint)
         else expires_at::timestamptz end;
alter table consents alter column expires_at type timestamptz using
    case when expires_at is null then null
         when expires_at ~ '^[0-9]+$' then to_timestamp(expires_at::bigint)
         else expires_at::timestamptz end;
