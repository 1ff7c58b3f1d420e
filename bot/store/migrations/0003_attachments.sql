-- 0003: attachments of work orders (photos and files a petitioner sends with a 诉求).
--
-- The bytes live outside SQLite, content-addressed by SHA-256 under the attachment directory
-- (bot.store.attachments.AttachmentStore): a 20 MiB photo in the database would bloat every
-- backup and WAL checkpoint. A row only names a blob, so one blob can serve several orders,
-- and the same file sent twice to one order is one row (UNIQUE below).

CREATE TABLE order_attachments (
    id INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES work_orders (number),
    name TEXT NOT NULL,                      -- the file name as sent (base name only), for display
    media_type TEXT NOT NULL,                -- one of the allowed types, checked by the store
    size INTEGER NOT NULL CHECK (size >= 0),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    UNIQUE (order_number, sha256)
);
-- An order's attachments in insertion order: the rowid ends every index entry, so this index
-- also serves ORDER BY id.
CREATE INDEX order_attachments_order ON order_attachments (order_number);
