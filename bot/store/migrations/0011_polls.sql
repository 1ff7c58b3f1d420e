-- 0011: periodic satisfaction polls (bot.schedule.polls). The questions are data
-- (bot/data/polls.yaml); what is stored here is who is on the panel, which rounds went out and
-- what people answered.

-- 营商环境体验官 and others who get every poll, whether or not they wrote to the bot lately.
CREATE TABLE poll_panel (
    person_id TEXT PRIMARY KEY REFERENCES people (id),
    role TEXT NOT NULL DEFAULT '体验官',
    added_at TEXT NOT NULL
);

-- One row per poll and period once its items are in `schedule`: the runner's per-pass check
-- ("already scheduled?") is one primary-key lookup, and the summary knows how many were asked.
CREATE TABLE poll_rounds (
    poll_id TEXT NOT NULL,
    period TEXT NOT NULL,                    -- YYYY-MM
    due_at TEXT NOT NULL,
    recipients INTEGER NOT NULL,
    scheduled_at TEXT NOT NULL,
    PRIMARY KEY (poll_id, period)
);

-- Answering a question again replaces the earlier answer (the last answer counts): a mis-tap can
-- be corrected by pressing another button of the same question while the round is open.
CREATE TABLE poll_answers (
    id INTEGER PRIMARY KEY,
    poll_id TEXT NOT NULL,
    period TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id),
    question_id TEXT NOT NULL,
    value TEXT NOT NULL,                     -- "5".."1", "y"/"n", or "text" for a comment
    comment TEXT,
    at TEXT NOT NULL,
    UNIQUE (poll_id, period, person_id, question_id)
);
