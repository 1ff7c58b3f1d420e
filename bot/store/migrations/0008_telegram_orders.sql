-- 0008: the Telegram staff desk works per escalated ORDER, not per user. One forum topic per
-- order: the primary key makes a second topic for the same order impossible and lets a restart
-- reuse it; thread_id is unique so a staff message maps back to exactly one order and one user
-- chat. `assignee` and `unit` are the latest /assign and /transfer. The 0007 per-user table stays
-- (read as a fallback for topics opened before this migration); desk log rows now name the order.
CREATE TABLE telegram_order_topics (
    order_number TEXT PRIMARY KEY REFERENCES work_orders (number),
    user_chat_id INTEGER NOT NULL,
    thread_id INTEGER NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    assignee TEXT,
    unit TEXT
);
CREATE INDEX telegram_order_topics_user ON telegram_order_topics (user_chat_id, created_at);
ALTER TABLE telegram_desk_log ADD COLUMN order_number TEXT;
