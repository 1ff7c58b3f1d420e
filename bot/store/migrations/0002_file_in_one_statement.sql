-- 0002: file an order in ONE statement.
--
-- Filing is the write every petitioner waits on, and each statement is a round trip to the
-- database thread. `INSERT INTO order_filings … RETURNING number` allocates the next number of
-- the day in its VALUES, and the trigger below stores the order row and its `file` event under
-- that number, bumps the day's sequence and removes the staging row: one statement, which SQLite
-- applies atomically and (outside BEGIN) commits by itself, so all of it is there or none is.
-- Every value still comes from the domain (bot.filing.file_order); SQL only numbers it.

CREATE TABLE order_filings (                 -- staging: a row lives only while its INSERT runs
    number TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    type TEXT NOT NULL,
    urgency TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    content TEXT NOT NULL,
    petitioner TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    enterprise_credit_code TEXT,
    contact_phone TEXT,
    location TEXT,
    confidential INTEGER NOT NULL,
    version INTEGER NOT NULL,
    event_action TEXT NOT NULL,
    event_from TEXT NOT NULL,
    event_to TEXT NOT NULL,
    event_by TEXT NOT NULL,
    event_at TEXT NOT NULL,
    event_note TEXT NOT NULL,
    event_data TEXT NOT NULL
);

CREATE TRIGGER order_filings_file AFTER INSERT ON order_filings
BEGIN
    INSERT INTO order_sequences (day, last) VALUES (NEW.day, 1)
        ON CONFLICT (day) DO UPDATE SET last = last + 1;
    SELECT RAISE(ABORT, 'order_sequence_exhausted')
        WHERE (SELECT last FROM order_sequences WHERE day = NEW.day) > 9999;
    SELECT RAISE(ABORT, 'order_number_mismatch')
        WHERE NEW.number != 'EQ-' || replace(NEW.day, '-', '') || '-'
                            || printf('%04d', (SELECT last FROM order_sequences WHERE day = NEW.day));
    INSERT INTO work_orders (number, type, urgency, source, status, content, petitioner, created_at,
                             updated_at, enterprise_credit_code, contact_phone, location, confidential,
                             version)
        VALUES (NEW.number, NEW.type, NEW.urgency, NEW.source, NEW.status, NEW.content,
                NEW.petitioner, NEW.created_at, NEW.updated_at, NEW.enterprise_credit_code,
                NEW.contact_phone, NEW.location, NEW.confidential, NEW.version);
    INSERT INTO order_events (order_number, action, from_status, to_status, by_actor, at, note, data)
        VALUES (NEW.number, NEW.event_action, NEW.event_from, NEW.event_to, NEW.event_by,
                NEW.event_at, NEW.event_note, NEW.event_data);
    DELETE FROM order_filings WHERE number = NEW.number;
END;
