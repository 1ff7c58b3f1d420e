"""The stored side of polls (migration 0011): the panel, the rounds sent, the answers; and
`schedule_due_polls`, which the scheduler calls on every pass.

Kept apart from `bot.schedule.polls` so the rules stay pure and these queries stay few: the
per-pass check is one primary-key lookup, and the recipients query (a scan of recent messages)
runs once per round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.schedule.polls import (
    Answer,
    Poll,
    PollSet,
    PollSummary,
    build_items,
    current_round,
    default_polls,
    item_key,
    summarise,
)
from bot.schedule.store import ScheduleStore
from bot.store.db import Database, from_db, to_db
from bot.workdays import WorkCalendar

log = logging.getLogger(__name__)

REACHABLE = ("web", "telegram")  # channels the runner can push to; others would only fail
DEFAULT_ROLE = "体验官"


@dataclass(frozen=True, slots=True)
class PanelMember:
    person_id: str
    role: str
    added_at: datetime
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Round:
    poll_id: str
    period: str
    due_at: datetime
    recipients: int


class PollStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- panel ------------------------------------------------------------------------------------

    async def add_to_panel(self, person_id: str, role: str, now: datetime) -> bool:
        """Put `person_id` on the panel (or change their role); False if they were on it already.
        LookupError for a person id that does not exist (a typo must not pass silently)."""
        if await self.db.fetchone("SELECT 1 FROM people WHERE id = ?", (person_id,)) is None:
            raise LookupError(f"没有这个用户：{person_id}")
        known = await self.db.fetchone("SELECT 1 FROM poll_panel WHERE person_id = ?", (person_id,))
        await self.db.execute_atomic(
            "INSERT INTO poll_panel (person_id, role, added_at) VALUES (?, ?, ?) "
            "ON CONFLICT (person_id) DO UPDATE SET role = excluded.role",
            (person_id, role, to_db(now)),
        )
        return known is None

    async def panel(self) -> list[PanelMember]:
        rows = await self.db.fetchall(
            "SELECT p.person_id, p.role, p.added_at, pe.display_name FROM poll_panel p "
            "JOIN people pe ON pe.id = p.person_id ORDER BY p.added_at, p.person_id"
        )
        return [
            PanelMember(str(r["person_id"]), str(r["role"]), from_db(r["added_at"]), r["display_name"])
            for r in rows
        ]

    # -- rounds -----------------------------------------------------------------------------------

    async def recipients(self, poll: Poll, due: datetime, now: datetime) -> list[str]:
        """Who gets this round: the panel first (if the poll asks it), then people who wrote to the
        bot through a channel we can push to in the `recent_days` before the due time; each person
        once, and nobody who unsubscribed (退订)."""
        found: list[str] = []
        if "panel" in poll.audiences:
            rows = await self.db.fetchall(
                "SELECT person_id FROM poll_panel WHERE person_id NOT IN "
                "(SELECT person_id FROM subscriptions WHERE polls = 0) ORDER BY added_at, person_id"
            )
            found += [str(r[0]) for r in rows]
        if "recent" in poll.audiences:
            marks = ", ".join("?" * len(REACHABLE))
            rows = await self.db.fetchall(
                "SELECT i.person_id, min(m.id) AS first FROM messages m JOIN identities i "
                "ON i.channel = m.channel AND i.external_id = m.chat_id "
                f"WHERE m.direction = 'in' AND m.channel IN ({marks}) AND m.at >= ? AND m.at <= ? "
                "AND i.person_id NOT IN (SELECT person_id FROM subscriptions WHERE polls = 0) "
                "GROUP BY i.person_id ORDER BY first",
                (*REACHABLE, to_db(due - timedelta(days=poll.recent_days)), to_db(now)),
            )
            found += [str(r[0]) for r in rows]
        return list(dict.fromkeys(found))

    async def scheduled(self, poll_id: str, period: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM poll_rounds WHERE poll_id = ? AND period = ?", (poll_id, period)
        )
        return row is not None

    async def mark_scheduled(self, poll_id: str, period: str, due: datetime, recipients: int,
                             now: datetime) -> None:  # fmt: skip
        await self.db.execute_atomic(
            "INSERT INTO poll_rounds (poll_id, period, due_at, recipients, scheduled_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (poll_id, period) DO NOTHING",
            (poll_id, period, to_db(due), recipients, to_db(now)),
        )

    async def rounds(self, poll_id: str | None = None) -> list[Round]:
        """Rounds scheduled, newest period first."""
        rows = await self.db.fetchall(
            "SELECT poll_id, period, due_at, recipients FROM poll_rounds "
            "WHERE ? IS NULL OR poll_id = ? ORDER BY period DESC, poll_id",
            (poll_id, poll_id),
        )
        return [Round(str(r[0]), str(r[1]), from_db(r[2]), int(r[3])) for r in rows]

    async def delivered(self, poll_id: str, period: str, person_id: str) -> bool:
        """Whether this person's poll item went out (or may have: `uncertain`). A button for a
        round somebody was never sent is forged, whatever it looks like."""
        row = await self.db.fetchone(
            "SELECT 1 FROM schedule WHERE key = ? AND state IN ('sent', 'uncertain')",
            (item_key(poll_id, period, person_id),),
        )
        return row is not None

    # -- answers ----------------------------------------------------------------------------------

    async def save_answer(self, poll_id: str, period: str, person_id: str, question_id: str,
                          value: str, now: datetime, comment: str | None = None) -> None:  # fmt: skip
        """The last answer counts: answering a question again replaces the earlier answer."""
        await self.db.execute_atomic(
            "INSERT INTO poll_answers (poll_id, period, person_id, question_id, value, comment, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (poll_id, period, person_id, question_id) "
            "DO UPDATE SET value = excluded.value, comment = excluded.comment, at = excluded.at",
            (poll_id, period, person_id, question_id, value, comment, to_db(now)),
        )

    async def answers(self, poll_id: str, period: str) -> list[Answer]:
        rows = await self.db.fetchall(
            "SELECT person_id, question_id, value, comment FROM poll_answers "
            "WHERE poll_id = ? AND period = ? ORDER BY id",
            (poll_id, period),
        )
        return [Answer(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

    async def summary(self, poll: Poll, period: str) -> PollSummary:
        row = await self.db.fetchone(
            "SELECT recipients FROM poll_rounds WHERE poll_id = ? AND period = ?", (poll.id, period)
        )
        invited = int(row[0]) if row is not None else None
        return summarise(poll, period, await self.answers(poll.id, period), invited)


async def schedule_due_polls(
    db: Database, now: datetime, calendar: WorkCalendar, polls: PollSet | None = None
) -> int:
    """Schedule this month's round of every poll once its due time has come; returns how many
    items were added. Safe and cheap on every scheduler pass: a round already scheduled costs one
    primary-key lookup, and the items' keys make a repeat harmless even after a crash between
    adding them and marking the round.

    A calendar that does not know the year yet (chinese-calendar not upgraded) is logged and the
    poll skipped, so a missing holiday schedule never stops the pass that delivers everything else.
    """
    store, schedule = PollStore(db), ScheduleStore(db)
    added = 0
    for poll in (polls or default_polls()).polls:
        try:
            period, due = current_round(poll, now, calendar)
        except ValueError as exc:
            log.error("poll %s not scheduled: %s", poll.id, exc)
            continue
        if now < due or await store.scheduled(poll.id, period):
            continue
        people = await store.recipients(poll, due, now)
        added += await schedule.add(build_items(poll, period, due, people), now)
        await store.mark_scheduled(poll.id, period, due, len(people), now)
        log.info("poll %s %s scheduled for %d people", poll.id, period, len(people))
    return added
