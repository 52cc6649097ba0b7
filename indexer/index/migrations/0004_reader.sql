-- A read-only role for the dashboard: `datapact serve` on the private cluster connects as
-- datapact_reader, which may read every table and write none. Created where the migrating role
-- may create roles (the private cluster); elsewhere give the dashboard a read-only role of your
-- own (its transactions are read-only in any case).
do $$
begin
    if exists (select 1 from pg_roles where rolname = current_user and (rolcreaterole or rolsuper)) then
        if not exists (select 1 from pg_roles where rolname = 'datapact_reader') then
            create role datapact_reader login;
        end if;
        execute 'alter role datapact_reader set default_transaction_read_only = on';
        execute 'grant usage on schema public to datapact_reader';
        execute 'grant select on all tables in schema public to datapact_reader';
        execute 'alter default privileges in schema public grant select on tables to datapact_reader';
    end if;
end
$$;
