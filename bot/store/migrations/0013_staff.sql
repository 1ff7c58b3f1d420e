-- 0013: staff accounts for the console under /staff (bot.staff). Passwords are stored as scrypt
-- hashes only; a session is a random token in an HttpOnly cookie of which only the SHA-256 is
-- stored, with its own CSRF token; every staff action is written to `staff_audit`.
CREATE TABLE staff_accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'dispatcher', 'handler', 'leader', 'supervisor')),
    unit TEXT,                               -- the 承办单位 a handler (or a unit leader) belongs to
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    CHECK (role != 'handler' OR unit IS NOT NULL)
);
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES staff_accounts (id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);
CREATE TABLE staff_audit (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES staff_accounts (id),
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX staff_audit_account ON staff_audit (account_id, id);
