-- 0012: the optional comment a petitioner adds after rating an order in the 回访 (好差评: what was
-- wrong, or what was good). Kept beside the order, for the unit's rectification and the reports.
CREATE TABLE rating_comments (
    id INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES work_orders (number),
    person_id TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX rating_comments_order ON rating_comments (order_number, id);
