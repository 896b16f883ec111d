-- Committed change rows wake the other instances at once (postgres): each statement that
-- inserts into changes sends a NOTIFY on portcullis_changes, delivered when its transaction
-- commits. Only a wake-up: the changes table stays the record every instance reads, so a
-- notification missed during a reconnect delays a change until the next poll (250 ms), never
-- loses it. SQLite has one instance and no equivalent; it keeps polling.

CREATE FUNCTION portcullis_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portcullis_changes', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER changes_announce AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_announce_change();
