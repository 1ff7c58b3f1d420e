-- 0004: the petitioner-notice outbox. A notice is written in the same transaction as the change
-- it reports (bot.notices), so a committed change is never left untold; channels deliver pending
-- notices later and mark them delivered.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    order_number TEXT NOT NULL REFERENCES work_orders (number),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX notices_pending ON notices (delivered_at, id);
CREATE INDEX notices_order ON notices (order_number, id);
