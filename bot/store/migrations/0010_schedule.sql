-- 0010: the durable schedule (bot.schedule). Every push the service owes somebody is a row here
-- before it is due, so a restart loses none of them; `state` records how it ended.
CREATE TABLE schedule (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    target_channel TEXT NOT NULL,            -- "person", "unit", "leader", or a chat channel
    target_id TEXT NOT NULL,
    due_at TEXT NOT NULL,
    text TEXT NOT NULL,
    buttons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(buttons)),
    payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    key TEXT NOT NULL UNIQUE,                -- scheduling the same key twice keeps the first
    grp TEXT NOT NULL DEFAULT '',            -- what CatchUp.merge collapses
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'uncertain', 'dropped', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    sent_to TEXT                             -- the address it went to: "channel:chat_id"
);
CREATE INDEX schedule_pending ON schedule (due_at, id) WHERE state = 'pending';
CREATE INDEX schedule_open ON schedule (state) WHERE state IN ('sending', 'uncertain', 'failed');
CREATE INDEX schedule_group ON schedule (grp) WHERE grp != '';
CREATE INDEX schedule_sent ON schedule (target_id, sent_at) WHERE sent_at IS NOT NULL;

-- A petitioner notice (0004) is scheduled in the same transaction that writes it, so the order
-- change, the notice and its delivery are committed together or not at all.
CREATE TRIGGER notices_schedule AFTER INSERT ON notices
BEGIN
    INSERT INTO schedule (kind, target_channel, target_id, due_at, text, key, grp, created_at, updated_at)
        VALUES ('notice', 'person', NEW.recipient, NEW.created_at, NEW.text, 'notice:' || NEW.id,
                'notice:' || NEW.order_number, NEW.created_at, NEW.created_at)
        ON CONFLICT (key) DO NOTHING;
END;
INSERT INTO schedule (kind, target_channel, target_id, due_at, text, key, grp, created_at, updated_at)
    SELECT 'notice', 'person', recipient, created_at, text, 'notice:' || id, 'notice:' || order_number,
           created_at, created_at
    FROM notices WHERE delivered_at IS NULL;

-- Exactly once into our own channels: a delivered item's key is unique in the inbox it went to,
-- and the inbox row and `state = 'sent'` are written in one transaction.
ALTER TABLE web_outbox ADD COLUMN item_key TEXT;
CREATE UNIQUE INDEX web_outbox_item ON web_outbox (item_key) WHERE item_key IS NOT NULL;

-- What units and leaders are told (签收 reminders, warnings, 催办, 督办, 通报): the staff console
-- reads it; a configured Telegram staff group gets a copy.
CREATE TABLE staff_inbox (
    id INTEGER PRIMARY KEY,
    item_key TEXT NOT NULL UNIQUE,
    audience TEXT NOT NULL,                  -- "unit" or "leader"
    unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    order_number TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX staff_inbox_unit ON staff_inbox (unit, read_at, id);

-- 退订: a person who unsubscribed gets no polls (checked when a poll is about to go out).
CREATE TABLE subscriptions (
    person_id TEXT PRIMARY KEY REFERENCES people (id),
    polls INTEGER NOT NULL CHECK (polls IN (0, 1)),
    updated_at TEXT NOT NULL
);
