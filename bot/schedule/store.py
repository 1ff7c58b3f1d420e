"""The `schedule` table (migration 0010): adding items, finding what is due, recording outcomes.

Every state change is one committed statement (or one transaction where two tables change
together), so a crash at any point leaves each item in a state that says what happened: still
`pending`, `sending` (which `recover` turns into `uncertain` on the next start), or finished.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.schedule.model import Item, Kind, State, Target
from bot.store.db import Database, from_db, to_db

_COLUMNS = (
    "id, kind, target_channel, target_id, due_at, text, buttons, payload, key, grp, state, attempts, note"
)


def _item(row: sqlite3.Row) -> Item:
    return Item(
        kind=Kind(row["kind"]),
        target=Target(row["target_channel"], row["target_id"]),
        due_at=from_db(row["due_at"]),
        text=row["text"],
        key=row["key"],
        group=row["grp"],
        buttons=tuple((str(label), str(payload)) for label, payload in json.loads(row["buttons"])),
        payload=json.loads(row["payload"]),
        id=int(row["id"]),
        state=State(row["state"]),
        attempts=int(row["attempts"]),
        note=row["note"],
    )


def _web_buttons(item: Item) -> str:
    return json.dumps([{"label": lb, "payload": p} for lb, p in item.buttons], ensure_ascii=False)


def _notice(item: Item) -> bool:
    """A notice scheduled by the `notices_schedule` trigger ("notice:<notices.id>")."""
    prefix, _, rest = item.key.partition(":")
    return prefix == "notice" and rest.isdigit()


class ScheduleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, items: Iterable[Item], now: datetime) -> int:
        """Schedule `items`; a key already scheduled is kept as it is. Returns how many were new."""
        added = 0
        async with self.db.transaction() as conn:
            for item in items:
                cur = await conn.execute(
                    "INSERT INTO schedule (kind, target_channel, target_id, due_at, text, buttons, payload, "
                    "key, grp, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (
                        item.kind.value,
                        item.target.channel,
                        item.target.chat_id,
                        to_db(item.due_at),
                        item.text,
                        json.dumps([list(b) for b in item.buttons], ensure_ascii=False),
                        json.dumps(item.payload, ensure_ascii=False),
                        item.key,
                        item.group,
                        to_db(now),
                        to_db(now),
                    ),
                )
                added += cur.rowcount
        return added

    async def cancel(self, groups: Sequence[str], now: datetime, note: str) -> int:
        """Drop the pending items of `groups` (superseded: the order moved on)."""
        if not groups:
            return 0
        marks = ", ".join("?" * len(groups))
        rows = await self.db.execute_atomic(
            f"UPDATE schedule SET state = 'dropped', note = ?, updated_at = ? "
            f"WHERE state = 'pending' AND grp IN ({marks}) RETURNING id",
            (note, to_db(now), *groups),
        )
        return len(rows)

    async def due(self, now: datetime, limit: int) -> list[Item]:
        """Pending items due by `now`, oldest first, at most `limit` (one pass's batch)."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM schedule WHERE state = 'pending' AND due_at <= ? "
            "ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [_item(r) for r in rows]

    async def next_due(self) -> datetime | None:
        row = await self.db.fetchone(
            "SELECT due_at FROM schedule WHERE state = 'pending' ORDER BY due_at, id LIMIT 1"
        )
        return from_db(row["due_at"]) if row is not None else None

    async def listing(self, states: Sequence[State], limit: int = 200) -> list[Item]:
        marks = ", ".join("?" * len(states))
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM schedule WHERE state IN ({marks}) ORDER BY due_at, id LIMIT ?",
            (*(s.value for s in states), limit),
        )
        return [_item(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT state, count(*) FROM schedule GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    async def sent_since(self, target_ids: Iterable[str], since: datetime) -> dict[str, int]:
        """Items sent to each of `target_ids` since `since` (the daily cap)."""
        ids = sorted(set(target_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT target_id, count(*) FROM schedule WHERE target_id IN ({marks}) AND sent_at >= ? "
            "AND state = 'sent' GROUP BY target_id",
            (*ids, to_db(since)),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def unsubscribed(self, person_ids: Iterable[str]) -> set[str]:
        ids = sorted(set(person_ids))
        if not ids:
            return set()
        marks = ", ".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT person_id FROM subscriptions WHERE polls = 0 AND person_id IN ({marks})", ids
        )
        return {str(r[0]) for r in rows}

    async def set_polls(self, person_id: str, wanted: bool, now: datetime) -> None:
        await self.db.execute_atomic(
            "INSERT INTO subscriptions (person_id, polls, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (person_id) DO UPDATE SET polls = excluded.polls, updated_at = excluded.updated_at",
            (person_id, int(wanted), to_db(now)),
        )

    async def defer(self, item_id: int, at: datetime, now: datetime, note: str) -> None:
        await self._set(item_id, "pending", now, note, due_at=at)

    async def drop(self, item_id: int, now: datetime, note: str) -> None:
        await self._set(item_id, "dropped", now, note)

    async def claim(self, item_id: int, now: datetime) -> bool:
        """pending → sending (committed BEFORE a send that cannot be made idempotent)."""
        rows = await self.db.execute_atomic(
            "UPDATE schedule SET state = 'sending', attempts = attempts + 1, updated_at = ? "
            "WHERE id = ? AND state = 'pending' RETURNING id",
            (to_db(now), item_id),
        )
        return bool(rows)

    async def sent(self, item: Item, now: datetime, sent_to: str) -> None:
        """sending (or pending, for our own channels) → sent; a notice is marked delivered too."""
        async with self.db.transaction() as conn:
            await self._mark_sent(conn, item, now, sent_to)

    async def retry(self, item_id: int, at: datetime, now: datetime, note: str) -> None:
        await self._set(item_id, "pending", now, note, due_at=at)

    async def fail(self, item_id: int, now: datetime, note: str) -> None:
        await self._set(item_id, "failed", now, note)

    async def recover(self, now: datetime) -> int:
        """At start-up: items left `sending` by a process that died may or may not have gone out.
        They become `uncertain`, for staff to look at: never resent, never silently dropped."""
        rows = await self.db.execute_atomic(
            "UPDATE schedule SET state = 'uncertain', updated_at = ?, "
            "note = 'interrupted while sending: may or may not have been delivered' "
            "WHERE state = 'sending' RETURNING id",
            (to_db(now),),
        )
        return len(rows)

    async def settle(
        self,
        now: datetime,
        *,
        drops: Sequence[tuple[int, str]] = (),
        defers: Sequence[tuple[int, datetime, str]] = (),
        staff: Sequence[Item] = (),
        web: Sequence[tuple[Item, str]] = (),
        failures: Sequence[tuple[int, str]] = (),
    ) -> list[Item]:
        """Record a pass's outcomes in ONE transaction: drops, deferrals, failures, and the
        deliveries into our own inboxes (staff inbox, web outboxes) with their `sent` marks.

        One transaction for a whole batch keeps a pass over hundreds of items to a few round
        trips (bench/push.py), and delivery stays exactly once: an inbox row and its `sent`
        mark commit together. Returns the web items whose session no longer exists (marked
        failed, not delivered)."""
        at = to_db(now)
        sessions: set[str] = set()
        async with self.db.transaction() as conn:
            if web:
                chats = sorted({chat for _, chat in web})
                for i in range(0, len(chats), 500):
                    part = chats[i : i + 500]
                    marks = ", ".join("?" * len(part))
                    found = await conn.execute_fetchall(
                        f"SELECT chat_id FROM web_sessions WHERE chat_id IN ({marks})", part
                    )
                    sessions.update(str(r[0]) for r in found)
            gone = [item for item, chat in web if chat not in sessions]
            failed = [*failures, *((item.id, "网页会话已不存在") for item in gone)]
            update = "UPDATE schedule SET state = ?, note = ?, updated_at = ? WHERE id = ?"
            await conn.executemany(update, [("dropped", note, at, i) for i, note in drops])
            await conn.executemany(update, [("failed", note, at, i) for i, note in failed])
            await conn.executemany(
                "UPDATE schedule SET state = 'pending', note = ?, updated_at = ?, due_at = ? WHERE id = ?",
                [(note, at, to_db(when), i) for i, when, note in defers],
            )
            await conn.executemany(
                "INSERT INTO staff_inbox (item_key, audience, unit, kind, text, order_number, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_key) DO NOTHING",
                [
                    (i.key, i.target.channel, i.target.chat_id, i.kind.value, i.text,
                     str(i.payload["order"]) if i.payload.get("order") else None, at)
                    for i in staff
                ],
            )  # fmt: skip
            delivered = [(i, chat) for i, chat in web if chat in sessions]
            await conn.executemany(
                "INSERT INTO web_outbox (chat_id, text, buttons, created_at, item_key) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_key) WHERE item_key IS NOT NULL DO NOTHING",
                [(chat, i.text, _web_buttons(i), at, i.key) for i, chat in delivered],
            )
            sent = [(i, f"staff:{i.target.chat_id}") for i in staff] + [(i, f"web:{c}") for i, c in delivered]
            await conn.executemany(
                "UPDATE schedule SET state = 'sent', sent_at = ?, sent_to = ?, updated_at = ? WHERE id = ?",
                [(at, to, at, i.id) for i, to in sent],
            )
            await conn.executemany(
                "UPDATE notices SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                [(at, int(i.key.split(":", 1)[1])) for i, _ in sent if i.kind is Kind.notice and _notice(i)],
            )
        return gone

    async def resolve_uncertain(self, item_id: int, *, delivered: bool, by: str, now: datetime) -> bool:
        """A person looked at an `uncertain` item (asked the user, say): it was delivered (→ sent)
        or it was not (→ pending again: it is past due, so the next pass sends it). False if the
        item is not uncertain."""
        at = to_db(now)
        if delivered:
            sql = "UPDATE schedule SET state = 'sent', sent_at = ?, updated_at = ?, note = ? "
            params: tuple[Any, ...] = (at, at, f"{by} 确认已送达", item_id)
        else:
            sql = "UPDATE schedule SET state = 'pending', updated_at = ?, note = ? "  # still due
            params = (at, f"{by} 确认未送达，重新发送", item_id)
        rows = await self.db.execute_atomic(sql + "WHERE id = ? AND state = 'uncertain' RETURNING id", params)
        return bool(rows)

    async def deliver_web(self, item: Item, chat_id: str, now: datetime) -> None:
        """Into a web session's outbox and `sent`, in one transaction: exactly once."""
        buttons = _web_buttons(item)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO web_outbox (chat_id, text, buttons, created_at, item_key) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_key) WHERE item_key IS NOT NULL DO NOTHING",
                (chat_id, item.text, buttons, to_db(now), item.key),
            )
            await self._mark_sent(conn, item, now, f"web:{chat_id}")

    async def deliver_staff(self, item: Item, now: datetime) -> None:
        """Into the staff inbox (units, leaders) and `sent`, in one transaction: exactly once."""
        order = item.payload.get("order")
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO staff_inbox (item_key, audience, unit, kind, text, order_number, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_key) DO NOTHING",
                (item.key, item.target.channel, item.target.chat_id, item.kind.value, item.text,
                 str(order) if order else None, to_db(now)),
            )  # fmt: skip
            await self._mark_sent(conn, item, now, f"staff:{item.target.chat_id}")

    async def _mark_sent(self, conn: Any, item: Item, now: datetime, sent_to: str) -> None:
        at = to_db(now)
        await conn.execute(
            "UPDATE schedule SET state = 'sent', sent_at = ?, sent_to = ?, updated_at = ? WHERE id = ?",
            (at, sent_to, at, item.id),
        )
        if item.kind is Kind.notice and _notice(item):
            await conn.execute(
                "UPDATE notices SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                (at, int(item.key.split(":", 1)[1])),
            )

    async def _set(
        self, item_id: int, state: str, now: datetime, note: str, due_at: datetime | None = None
    ) -> None:
        if due_at is None:
            sql = "UPDATE schedule SET state = ?, note = ?, updated_at = ? WHERE id = ?"
            params: tuple[Any, ...] = (state, note, to_db(now), item_id)
        else:
            sql = "UPDATE schedule SET state = ?, note = ?, updated_at = ?, due_at = ? WHERE id = ?"
            params = (state, note, to_db(now), to_db(due_at), item_id)
        await self.db.execute_atomic(sql, params)
