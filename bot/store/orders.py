"""Work orders in SQLite: filing with per-day numbers, optimistic saves, and the audit trail.

The domain (`bot.transitions.apply`, `bot.filing.file_order`) decides every change; this module
only persists it. An order row and its event are always written in one transaction, so the
audit trail can never disagree with the order. Concurrent writers are detected, not serialised:
`save` updates only the version it started from, and a loser gets `ConcurrentUpdate`.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import aiosqlite

from bot.filing import NewOrder, file_order
from bot.notices import Notice
from bot.schedule.model import Item
from bot.store.db import CST, Database, StoreError, from_db, to_db
from bot.transitions import apply
from bot.workorder import (
    Action,
    Event,
    OrderType,
    Rating,
    Source,
    Status,
    Urgency,
    WorkOrder,
    format_order_number,
)

PAGE = 200  # rows per read in `iter_all`, so a report never holds the connection for long


class ConcurrentUpdate(StoreError):
    """Someone else changed the order since it was read; nothing was written."""

    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"工单已被他人更新，请刷新后重试（{number}）")


class OrderNotFound(StoreError, LookupError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"找不到工单 {number}")


class WorkOrderRepo(Protocol):
    """What the bot needs from order storage; SQLite today, a fake or another engine tomorrow."""

    async def file(self, draft: NewOrder, *, by: str, at: datetime) -> WorkOrder: ...
    async def get(self, number: str) -> WorkOrder | None: ...
    async def list(
        self,
        *,
        status: Status | None = None,
        unit: str | None = None,
        petitioner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[WorkOrder]: ...
    async def save(
        self,
        order: WorkOrder,
        event: Event,
        notices: Sequence[Notice] = (),
        schedule: Sequence[Item] = (),
        cancel: Sequence[str] = (),
    ) -> None: ...
    async def act(
        self, number: str, action: Action, *, by: str, at: datetime, **params: object
    ) -> tuple[WorkOrder, Event]: ...
    async def events(self, number: str) -> builtins.list[Event]: ...
    async def add_rating_comment(self, number: str, person: str, text: str, at: datetime) -> None: ...
    async def rating_comments(self, number: str) -> builtins.list[tuple[str, str, datetime]]: ...
    async def all_events(self) -> builtins.list[Event]: ...
    def iter_all(self) -> AsyncIterator[WorkOrder]: ...


# Column order shared by INSERT and the row mapping; the UPDATE sets all but `number`.
_COLUMNS = (
    "number, type, urgency, source, status, content, petitioner, created_at, updated_at, "
    "enterprise_credit_code, contact_phone, location, confidential, unit, deadline, result, "
    "return_count, reopen_count, urge_count, supervised, extension_pending_days, rating, "
    "merged_into, version"
)
_INSERT_ORDER = f"INSERT INTO work_orders ({_COLUMNS}) VALUES ({', '.join('?' * 24)})"
_UPDATE_ORDER = (
    "UPDATE work_orders SET "
    + ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(",")[1:])
    + " WHERE number = ? AND version = ?"
)
_INSERT_EVENT = (
    "INSERT INTO order_events (order_number, action, from_status, to_status, by_actor, at, note, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_NOTICE = (
    "INSERT INTO notices (recipient, order_number, kind, text, created_at) VALUES (?, ?, ?, ?, ?)"
)
_FILING_COLUMNS = (
    "type", "urgency", "source", "status", "content", "petitioner", "created_at", "updated_at",
    "enterprise_credit_code", "contact_phone", "location", "confidential", "version",
    "event_action", "event_from", "event_to", "event_by", "event_at", "event_note", "event_data",
)  # fmt: skip
# The number is the day's last sequence + 1, read inside the INSERT that takes the write lock;
# the trigger of migration 0002 bumps the sequence and stores the order and its event.
_FILE = (
    f"INSERT INTO order_filings (number, day, {', '.join(_FILING_COLUMNS)}) VALUES ("
    "'EQ-' || replace(:day, '-', '') || '-' || printf('%04d', "
    "COALESCE((SELECT last FROM order_sequences WHERE day = :day), 0) + 1), :day, "
    + ", ".join(f":{c}" for c in _FILING_COLUMNS)
    + ") RETURNING number"
)


def _opt_time(when: datetime | None) -> str | None:
    return to_db(when) if when is not None else None


def _order_values(o: WorkOrder) -> tuple[Any, ...]:
    return (
        o.number,
        o.type.value,
        o.urgency.value,
        o.source.value,
        o.status.value,
        o.content,
        o.petitioner,
        to_db(o.created_at),
        to_db(o.updated_at),
        o.enterprise_credit_code,
        o.contact_phone,
        o.location,
        int(o.confidential),
        o.unit,
        _opt_time(o.deadline),
        o.result,
        o.return_count,
        o.reopen_count,
        o.urge_count,
        int(o.supervised),
        o.extension_pending_days,
        o.rating.value if o.rating is not None else None,
        o.merged_into,
        o.version,
    )


def _order(row: sqlite3.Row | Mapping[str, Any]) -> WorkOrder:
    return WorkOrder(
        number=row["number"],
        type=OrderType(row["type"]),
        urgency=Urgency(row["urgency"]),
        source=Source(row["source"]),
        status=Status(row["status"]),
        content=row["content"],
        petitioner=row["petitioner"],
        created_at=from_db(row["created_at"]),
        updated_at=from_db(row["updated_at"]),
        enterprise_credit_code=row["enterprise_credit_code"],
        contact_phone=row["contact_phone"],
        location=row["location"],
        confidential=bool(row["confidential"]),
        unit=row["unit"],
        deadline=from_db(row["deadline"]) if row["deadline"] is not None else None,
        result=row["result"],
        return_count=row["return_count"],
        reopen_count=row["reopen_count"],
        urge_count=row["urge_count"],
        supervised=bool(row["supervised"]),
        extension_pending_days=row["extension_pending_days"],
        rating=Rating(row["rating"]) if row["rating"] is not None else None,
        merged_into=row["merged_into"],
        version=row["version"],
    )


def _event_values(e: Event) -> tuple[Any, ...]:
    # A JSON object keeps the pairs' order and tells bool from int, so `data` round-trips.
    data = json.dumps(dict(e.data), ensure_ascii=False)
    return (e.order_number, e.action.value, e.from_status.value, e.to_status.value, e.by, to_db(e.at),
            e.note, data)  # fmt: skip


def _event(row: sqlite3.Row) -> Event:
    return Event(
        order_number=row["order_number"],
        action=Action(row["action"]),
        from_status=Status(row["from_status"]),
        to_status=Status(row["to_status"]),
        by=row["by_actor"],
        at=from_db(row["at"]),
        note=row["note"],
        data=tuple(json.loads(row["data"]).items()),
    )


def _filing_values(o: WorkOrder, e: Event) -> dict[str, Any]:
    """The order's columns (no number: the database allocates it) and its event's columns."""
    values = (*_order_values(o)[1:13], o.version, *_event_values(e)[1:])
    return dict(zip(_FILING_COLUMNS, values, strict=True))


async def _write_event(conn: aiosqlite.Connection, event: Event) -> None:
    await conn.execute(_INSERT_EVENT, _event_values(event))


class SqliteWorkOrderRepo:
    """`WorkOrderRepo` on a `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def file(self, draft: NewOrder, *, by: str, at: datetime) -> WorkOrder:
        """Number, store and commit a new order with its `file` event, in one atomic statement.

        The number's day is `at`'s date in China time (a petition filed at 00:30 Beijing time
        belongs to that day, not to the UTC one). Once this returns the order is committed, so
        the caller may acknowledge it to the petitioner; if it raises, no number was used.
        """
        if at.tzinfo is None:
            raise ValueError(f"只能保存带时区的时间：{at!r}")
        day = at.astimezone(CST).date()
        # The domain builds the order and its event; the number is allocated by the database
        # (migration 0002) in the same statement that stores both, and returned by it.
        order, event = file_order(draft, number=format_order_number(day, 1), by=by, at=at)
        try:
            rows = await self.db.execute_atomic(
                _FILE, {"day": day.isoformat(), **_filing_values(order, event)}
            )
        except sqlite3.IntegrityError as exc:
            if "order_sequence_exhausted" in str(exc):
                raise StoreError(f"{day} 的工单编号已用完（每天最多 9999 件）") from None
            raise
        number = str(rows[0][0])
        return replace(order, number=number)

    async def get(self, number: str) -> WorkOrder | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM work_orders WHERE number = ?", (number,))
        return _order(row) if row is not None else None

    async def list(
        self,
        *,
        status: Status | None = None,
        unit: str | None = None,
        petitioner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[WorkOrder]:
        """Orders matching every given filter, newest first."""
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        for column, value in (("status", status), ("unit", unit), ("petitioner", petitioner)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        order = "ORDER BY created_at DESC, number DESC LIMIT ? OFFSET ?"
        sql = f"SELECT {_COLUMNS} FROM work_orders {clause}{order}"
        return [_order(r) for r in await self.db.fetchall(sql, (*params, limit, offset))]

    async def save(
        self,
        order: WorkOrder,
        event: Event,
        notices: Sequence[Notice] = (),
        schedule: Sequence[Item] = (),
        cancel: Sequence[str] = (),
    ) -> None:
        """Store `order` (produced by `apply` from version - 1), its event, the notices owed to
        the petitioner and the follow-ups it plans (bot.schedule: pending items of the `cancel`
        groups are dropped as superseded first, then `schedule` is added), or nothing at all."""
        if event.order_number != order.number:
            raise ValueError(f"事件属于工单 {event.order_number}，不属于 {order.number}")
        async with self.db.transaction() as conn:
            values = _order_values(order)
            cur = await conn.execute(_UPDATE_ORDER, (*values[1:], order.number, order.version - 1))
            if cur.rowcount != 1:
                raise ConcurrentUpdate(order.number)
            await _write_event(conn, event)
            for n in notices:
                values = (n.recipient, n.order_number, n.kind, n.text, to_db(n.at))
                await conn.execute(_INSERT_NOTICE, values)
            at = to_db(event.at)
            if cancel:
                marks = ", ".join("?" * len(cancel))
                await conn.execute(
                    "UPDATE schedule SET state = 'dropped', note = ?, updated_at = ? "
                    f"WHERE state = 'pending' AND grp IN ({marks})",
                    (f"superseded by {event.action.value}", at, *cancel),
                )
            await conn.executemany(
                "INSERT INTO schedule (kind, target_channel, target_id, due_at, text, buttons, payload, key, "
                "grp, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                [
                    (i.kind.value, i.target.channel, i.target.chat_id, to_db(i.due_at), i.text,
                     json.dumps([list(b) for b in i.buttons], ensure_ascii=False),
                     json.dumps(i.payload, ensure_ascii=False), i.key, i.group, at, at)
                    for i in schedule
                ],
            )  # fmt: skip

    async def act(
        self, number: str, action: Action, *, by: str, at: datetime, **params: object
    ) -> tuple[WorkOrder, Event]:
        """Load, apply `action` through the state machine, and save; the new order and its event."""
        order = await self.get(number)
        if order is None:
            raise OrderNotFound(number)
        new, event = apply(order, action, by=by, at=at, **params)
        await self.save(new, event)
        return new, event

    async def add_rating_comment(self, number: str, person: str, text: str, at: datetime) -> None:
        """The petitioner's optional comment after a 回访 rating (migration 0012)."""
        await self.db.execute_atomic(
            "INSERT INTO rating_comments (order_number, person_id, text, at) VALUES (?, ?, ?, ?)",
            (number, person, text, to_db(at)),
        )

    async def rating_comments(self, number: str) -> builtins.list[tuple[str, str, datetime]]:
        """(person, text, at) of every comment on the order, oldest first."""
        rows = await self.db.fetchall(
            "SELECT person_id, text, at FROM rating_comments WHERE order_number = ? ORDER BY id", (number,)
        )
        return [(r["person_id"], r["text"], from_db(r["at"])) for r in rows]

    async def events(self, number: str) -> builtins.list[Event]:
        """The order's audit trail, oldest first (insertion order, not `at`: clocks can disagree)."""
        rows = await self.db.fetchall(
            "SELECT * FROM order_events WHERE order_number = ? ORDER BY id", (number,)
        )
        return [_event(r) for r in rows]

    async def notices(self, number: str) -> builtins.list[Notice]:
        """The notices written for one order, oldest first."""
        rows = await self.db.fetchall("SELECT * FROM notices WHERE order_number = ? ORDER BY id", (number,))
        return [
            Notice(r["recipient"], r["order_number"], r["kind"], r["text"], from_db(r["created_at"]))
            for r in rows
        ]

    async def all_events(self) -> builtins.list[Event]:
        """Every audit event, oldest first: the input of the indicator reports."""
        rows = await self.db.fetchall("SELECT * FROM order_events ORDER BY id")
        return [_event(r) for r in rows]

    async def iter_all(self) -> AsyncIterator[WorkOrder]:
        """Every order by number, read page by page so writers are not blocked for a whole report.

        Not one snapshot: an order changed during the iteration may appear in either state.
        """
        after = ""
        while True:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM work_orders WHERE number > ? ORDER BY number LIMIT ?", (after, PAGE)
            )
            for row in rows:
                yield _order(row)
            if len(rows) < PAGE:
                return
            after = rows[-1]["number"]
