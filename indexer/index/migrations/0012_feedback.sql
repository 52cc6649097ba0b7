-- Analysts' feedback (docs/anomalies.md, "Feedback"): what the sentinel must not report again.
--
-- A suppression: an analyst's word that an actor's anomalies (of one kind, or of every kind)
-- are expected until a time (or until lifted). Lifting keeps the row.
create table suppressions (
    suppression_id  bigserial primary key,
    role            text not null,
    actor           text not null,
    -- null: every kind
    kind            text,
    -- null: until lifted
    until           timestamptz,
    reason          text not null,
    created_by      text not null,
    created_at      timestamptz not null default now(),
    lifted_at       timestamptz
);
create index suppressions_actor on suppressions (actor);

-- Each resolved alert with its resolution, read from the responder's `resolve` message as the
-- index keeps it (`txs.msg`: one message, or an array of them); a resolution that begins with
-- "false positive" is the responder's verdict that the alert was wrong.
create view alert_resolutions as
select al.alert_seq, al.subject, al.kind, al.severity, c.height as resolved_height,
       b.time as resolved_at, r.resolution,
       coalesce(lower(r.resolution) like 'false positive%', false) as false_positive
from alerts al
join audit_changes c on c.alert_seq = al.alert_seq and c.change = 'resolve'
join blocks b on b.height = c.height
join txs t on t.height = c.height and t.tx_index = c.tx_index
cross join lateral (
    select coalesce(
        t.msg #>> '{resolve,resolution}',
        (select e #>> '{resolve,resolution}'
           from jsonb_array_elements(case jsonb_typeof(t.msg) when 'array' then t.msg else '[]'::jsonb end) e
          where (e #>> '{resolve,alert_seq}')::bigint = al.alert_seq
          limit 1)
    ) as resolution
) r;
