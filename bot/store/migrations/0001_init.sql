-- 0001: work orders with their audit trail, per-day numbering, enterprises and people.
-- Datetimes are ISO-8601 text with offset (+08:00), written by bot.store.db.to_db.
-- Enum columns hold the StrEnum values of bot.workorder; the domain validates them.

CREATE TABLE work_orders (
    number TEXT PRIMARY KEY,                 -- EQ-YYYYMMDD-NNNN
    type TEXT NOT NULL,
    urgency TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    content TEXT NOT NULL,
    petitioner TEXT NOT NULL,                -- opaque id, never a name
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    enterprise_credit_code TEXT,
    contact_phone TEXT,
    location TEXT,
    confidential INTEGER NOT NULL DEFAULT 0 CHECK (confidential IN (0, 1)),
    unit TEXT,
    deadline TEXT,
    result TEXT,
    return_count INTEGER NOT NULL DEFAULT 0,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    urge_count INTEGER NOT NULL DEFAULT 0,
    supervised INTEGER NOT NULL DEFAULT 0 CHECK (supervised IN (0, 1)),
    extension_pending_days INTEGER,
    rating TEXT,
    merged_into TEXT,
    version INTEGER NOT NULL CHECK (version >= 1)
);
CREATE INDEX work_orders_status ON work_orders (status);
CREATE INDEX work_orders_unit ON work_orders (unit);
CREATE INDEX work_orders_petitioner ON work_orders (petitioner);
CREATE INDEX work_orders_created_at ON work_orders (created_at);

-- One row per accepted action, the 提交 (file) included: 全流程可追溯.
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES work_orders (number),
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    by_actor TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX order_events_order ON order_events (order_number, id);

-- The last sequence number used on each day (YYYY-MM-DD, China time).
CREATE TABLE order_sequences (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE enterprises (
    credit_code TEXT PRIMARY KEY,            -- 统一社会信用代码, upper case, checked
    name TEXT NOT NULL,
    industry TEXT,
    scale TEXT,
    street TEXT,                             -- 街道
    grid TEXT,                               -- 网格
    tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    created_at TEXT NOT NULL
);

CREATE TABLE people (
    id TEXT PRIMARY KEY,                     -- opaque, random; used as the petitioner id
    display_name TEXT,
    phone TEXT,
    created_at TEXT NOT NULL
);

-- One person reachable through several channels (Telegram id, web session, WeChat openid).
CREATE TABLE identities (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id),
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX identities_person ON identities (person_id);

CREATE TABLE person_enterprises (
    person_id TEXT NOT NULL REFERENCES people (id),
    credit_code TEXT NOT NULL REFERENCES enterprises (credit_code),
    role TEXT NOT NULL,
    PRIMARY KEY (person_id, credit_code)
);
CREATE INDEX person_enterprises_code ON person_enterprises (credit_code);
