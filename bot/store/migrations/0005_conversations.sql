-- 0005: conversations. The dialog state of each chat (so a restart resumes a half-filled form),
-- the log of every message in and out, and the 有用/没用 feedback on knowledge-base answers.
CREATE TABLE dialogs (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    text TEXT,
    button TEXT,
    at TEXT NOT NULL
);
CREATE INDEX messages_chat ON messages (channel, chat_id, id);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    useful INTEGER NOT NULL CHECK (useful IN (0, 1)),
    at TEXT NOT NULL
);
CREATE INDEX feedback_entry ON feedback (entry_id);
