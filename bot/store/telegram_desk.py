"""SQL of the Telegram staff desk: which forum topic belongs to which order, and the desk log.

One topic per escalated order (`telegram_order_topics`, migration 0008). Topics opened before
0008 were per user (`telegram_topics`, 0007); they are still found, with no order attached, so a
conversation that was running during the upgrade keeps working. Every write commits before
returning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.db import Database, to_db


@dataclass(frozen=True, slots=True)
class Topic:
    """A forum topic of the staff group: the user chat behind it and its order (None: pre-0008)."""

    thread_id: int
    user_chat_id: int
    order_number: str | None


class TopicStore:
    """The order↔topic mapping and the desk log."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_thread(self, thread_id: int) -> Topic | None:
        row = await self.db.fetchone(
            "SELECT order_number, user_chat_id FROM telegram_order_topics WHERE thread_id = ?",
            (thread_id,),
        )
        if row is not None:
            return Topic(thread_id, int(row["user_chat_id"]), str(row["order_number"]))
        row = await self.db.fetchone(
            "SELECT user_chat_id FROM telegram_topics WHERE thread_id = ?", (thread_id,)
        )
        return Topic(thread_id, int(row["user_chat_id"]), None) if row is not None else None

    async def by_order(self, order_number: str) -> Topic | None:
        row = await self.db.fetchone(
            "SELECT thread_id, user_chat_id FROM telegram_order_topics WHERE order_number = ?",
            (order_number,),
        )
        if row is None:
            return None
        return Topic(int(row["thread_id"]), int(row["user_chat_id"]), order_number)

    async def of_user(self, user_chat_id: int) -> list[Topic]:
        """The user's order topics, newest first."""
        rows = await self.db.fetchall(
            "SELECT thread_id, order_number FROM telegram_order_topics WHERE user_chat_id = ? "
            "ORDER BY created_at DESC, rowid DESC",
            (user_chat_id,),
        )
        return [Topic(int(r["thread_id"]), user_chat_id, str(r["order_number"])) for r in rows]

    async def save(self, order_number: str, user_chat_id: int, thread_id: int, at: datetime) -> None:
        """Insert, or point the order at a new topic (the old one was deleted by staff)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO telegram_order_topics (order_number, user_chat_id, thread_id, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (order_number) DO UPDATE SET "
                "thread_id = excluded.thread_id, created_at = excluded.created_at",
                (order_number, user_chat_id, thread_id, to_db(at)),
            )

    async def record(self, topic: Topic, kind: str, staff_id: int, text: str, at: datetime) -> None:
        """Log a desk action; /assign and /transfer also become the topic's current value."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO telegram_desk_log (user_chat_id, order_number, kind, staff_user_id, text, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (topic.user_chat_id, topic.order_number, kind, staff_id, text, to_db(at)),
            )
            if kind in ("assign", "transfer"):
                column = "assignee" if kind == "assign" else "unit"
                if topic.order_number is not None:
                    await conn.execute(
                        f"UPDATE telegram_order_topics SET {column} = ? WHERE order_number = ?",
                        (text, topic.order_number),
                    )
                else:
                    await conn.execute(
                        f"UPDATE telegram_topics SET {column} = ? WHERE user_chat_id = ?",
                        (text, topic.user_chat_id),
                    )

    async def actions(self, user_chat_id: int) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT kind, text FROM telegram_desk_log WHERE user_chat_id = ? ORDER BY id", (user_chat_id,)
        )
        return [(r["kind"], r["text"]) for r in rows]

    async def order_actions(self, order_number: str) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT kind, text FROM telegram_desk_log WHERE order_number = ? ORDER BY id", (order_number,)
        )
        return [(r["kind"], r["text"]) for r in rows]
