-- 0007: the Telegram staff desk. One forum topic per user chat in the staff supergroup: the
-- primary key makes a second topic for the same user impossible and lets a restart reuse the
-- stored topic; thread_id is unique so a staff reply maps back to exactly one user. `assignee`
-- and `unit` are the latest /assign and /transfer; telegram_desk_log keeps every desk action
-- (internal notes, assignments, transfers, closings), none of which the user sees as a message.
CREATE TABLE telegram_topics (
    user_chat_id INTEGER PRIMARY KEY,
    thread_id INTEGER NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    assignee TEXT,
    unit TEXT
);
CREATE TABLE telegram_desk_log (
    id INTEGER PRIMARY KEY,
    user_chat_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('note', 'assign', 'transfer', 'close')),
    staff_user_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX telegram_desk_log_user ON telegram_desk_log (user_chat_id, id);
