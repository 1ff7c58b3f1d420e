-- 0006: the web chat channel (bot.adapters.web). A session is a bearer token the browser keeps in
-- localStorage; only its SHA-256 is stored, so a leaked database file does not leak live tokens.
-- The outbox holds messages pushed to a session outside a request (staff replies, notices) until
-- the page fetches them; read_at is set in the same transaction that hands them out.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE TABLE web_outbox (
    id INTEGER PRIMARY KEY,
    chat_id TEXT NOT NULL REFERENCES web_sessions (chat_id),
    text TEXT NOT NULL,
    buttons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(buttons)),
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX web_outbox_unread ON web_outbox (chat_id, read_at, id);
