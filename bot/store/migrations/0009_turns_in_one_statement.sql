-- 0009: the writes of a turn in ONE statement each, as 0002 does for filing.
--
-- Every message ends with the replies logged and, when the form moved on, the dialog saved; a
-- chat's first message also creates its person and links the chat to it. Each statement is a
-- round trip to the database thread, and under load every round trip queues behind the others
-- (bench/engine.py), so each of these is an INSERT into a staging table whose trigger does the
-- work: SQLite applies it atomically and, outside BEGIN, commits it by itself.

CREATE TABLE turn_ends (                     -- staging: a row lives only while its INSERT runs
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    at TEXT NOT NULL,
    replies TEXT NOT NULL CHECK (json_valid(replies) AND json_type(replies) = 'array'),
    state TEXT,                              -- NULL: the dialog did not change
    data TEXT CHECK (data IS NULL OR json_valid(data))
);

CREATE TRIGGER turn_ends_apply AFTER INSERT ON turn_ends
BEGIN
    INSERT INTO messages (channel, chat_id, direction, text, button, at)
        SELECT NEW.channel, NEW.chat_id, 'out', value, NULL, NEW.at
        FROM json_each(NEW.replies) ORDER BY key;
    INSERT INTO dialogs (channel, chat_id, state, data, updated_at)
        SELECT NEW.channel, NEW.chat_id, NEW.state, NEW.data, NEW.at WHERE NEW.state IS NOT NULL
        ON CONFLICT (channel, chat_id) DO UPDATE SET state = excluded.state, data = excluded.data,
            updated_at = excluded.updated_at;
    DELETE FROM turn_ends WHERE id = NEW.id;
END;

CREATE TABLE first_contacts (                -- staging, as above
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    display_name TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- A chat already linked (by another process meanwhile) aborts the whole statement: no person is
-- created, and the caller reads the owner instead.
CREATE TRIGGER first_contacts_apply AFTER INSERT ON first_contacts
BEGIN
    SELECT RAISE(ABORT, 'identity_taken') WHERE EXISTS (
        SELECT 1 FROM identities WHERE channel = NEW.channel AND external_id = NEW.external_id);
    INSERT INTO people (id, display_name, phone, created_at)
        VALUES (NEW.person_id, NEW.display_name, NULL, NEW.created_at);
    INSERT INTO identities (channel, external_id, person_id)
        VALUES (NEW.channel, NEW.external_id, NEW.person_id);
    DELETE FROM first_contacts WHERE channel = NEW.channel AND external_id = NEW.external_id;
END;
