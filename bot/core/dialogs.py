"""Per-chat dialog state, the message log and answer feedback, stored in the SQLite database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.messages import Address, Reply
from bot.store.db import Database, to_db

IDLE = "idle"


@dataclass(slots=True)
class Dialog:
    """Where a chat is (`state`) and what it has collected so far (`data`, JSON-serialisable)."""

    state: str = IDLE
    data: dict[str, Any] = field(default_factory=dict)

    def reset(self, state: str = IDLE, **data: Any) -> None:
        self.state, self.data = state, dict(data)


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    id: int
    direction: str
    text: str | None
    button: str | None
    at: str


Stored = tuple[str, str] | None  # a dialog row as read: (state, data), None when absent


def dumps(dialog: Dialog) -> str:
    """The stored form of a dialog's data."""
    return json.dumps(dialog.data, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Arrival:
    """An inbound message as stored, with what handling it starts from."""

    message_id: int
    dialog: Dialog
    stored: Stored  # the dialog row as read, for `save_if_changed`
    person_id: str | None  # None: the chat's identity is not linked to a person yet


class DialogRepo:
    """Every write commits before returning."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, address: Address) -> Dialog:
        row = await self.db.fetchone(
            "SELECT state, data FROM dialogs WHERE channel = ? AND chat_id = ?",
            (address.channel, address.chat_id),
        )
        if row is None:
            return Dialog()
        return Dialog(row["state"], json.loads(row["data"]))

    # Each write below is one statement, which SQLite commits atomically on its own: one round
    # trip to the database thread instead of three (BEGIN, statement, COMMIT). Every message
    # pays for these, so they are the engine's throughput (bench/engine.py).

    async def save(self, address: Address, dialog: Dialog, at: datetime) -> None:
        await self.db.execute_atomic(
            "INSERT INTO dialogs (channel, chat_id, state, data, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, chat_id) DO UPDATE SET state = excluded.state, "
            "data = excluded.data, updated_at = excluded.updated_at",
            (address.channel, address.chat_id, dialog.state, dumps(dialog), to_db(at)),
        )

    async def log_in(self, address: Address, text: str | None, button: str | None, at: datetime) -> Arrival:
        """Store one inbound message (committed) and, in the same statement, read what handling
        it starts from: the chat's dialog and the person the chat's identity is linked to.

        Every message pays for this, so it is one round trip: the reads run inside the insert's
        own write transaction, i.e. they see the state as of this message.
        """
        key = (address.channel, address.chat_id)
        rows = await self.db.execute_atomic(
            "INSERT INTO messages (channel, chat_id, direction, text, button, at) "
            "VALUES (?, ?, 'in', ?, ?, ?) RETURNING id, "
            "(SELECT state FROM dialogs WHERE channel = ? AND chat_id = ?), "
            "(SELECT data FROM dialogs WHERE channel = ? AND chat_id = ?), "
            "(SELECT person_id FROM identities WHERE channel = ? AND external_id = ?)",
            (*key, text, button, to_db(at), *key, *key, *key),
        )
        message_id, state, data, person_id = rows[0]
        if state is None:
            return Arrival(int(message_id), Dialog(), None, person_id)
        return Arrival(int(message_id), Dialog(state, json.loads(data)), (state, data), person_id)

    async def end_turn(
        self, address: Address, replies: Sequence[Reply], dialog: Dialog, stored: Stored, at: datetime
    ) -> None:
        """Log the replies and save the dialog if it changed since `log_in` read it (`stored`),
        in one statement (migration 0009): both or neither, one round trip.

        Most turns of a consultation leave the chat idle, so the dialog is usually not written.
        """
        data = dumps(dialog)
        unchanged = (stored is None and dialog.state == IDLE and not dialog.data) or stored == (
            dialog.state,
            data,
        )
        if unchanged and not replies:
            return
        await self.db.execute_atomic(
            "INSERT INTO turn_ends (channel, chat_id, at, replies, state, data) VALUES (?, ?, ?, ?, ?, ?)",
            (
                address.channel,
                address.chat_id,
                to_db(at),
                json.dumps([r.text for r in replies], ensure_ascii=False),
                None if unchanged else dialog.state,
                None if unchanged else data,
            ),
        )

    async def log_out(self, address: Address, replies: Sequence[Reply], at: datetime) -> None:
        if not replies:
            return
        values = ", ".join(["(?, ?, 'out', ?, NULL, ?)"] * len(replies))
        params = [p for r in replies for p in (address.channel, address.chat_id, r.text, to_db(at))]
        await self.db.execute_atomic(
            f"INSERT INTO messages (channel, chat_id, direction, text, button, at) VALUES {values}",
            params,
        )

    async def messages(self, address: Address) -> list[LoggedMessage]:
        rows = await self.db.fetchall(
            "SELECT id, direction, text, button, at FROM messages "
            "WHERE channel = ? AND chat_id = ? ORDER BY id",
            (address.channel, address.chat_id),
        )
        return [LoggedMessage(r["id"], r["direction"], r["text"], r["button"], r["at"]) for r in rows]

    async def last_text_before(self, address: Address, message_id: int) -> str | None:
        """The latest inbound text of the chat before message `message_id` (its last question)."""
        row = await self.db.fetchone(
            "SELECT text FROM messages WHERE channel = ? AND chat_id = ? AND direction = 'in' "
            "AND id < ? AND text IS NOT NULL AND text != '' ORDER BY id DESC LIMIT 1",
            (address.channel, address.chat_id, message_id),
        )
        return str(row["text"]) if row is not None else None

    async def add_feedback(self, address: Address, entry_id: str, useful: bool, at: datetime) -> None:
        await self.db.execute_atomic(
            "INSERT INTO feedback (channel, chat_id, entry_id, useful, at) VALUES (?, ?, ?, ?, ?)",
            (address.channel, address.chat_id, entry_id, int(useful), to_db(at)),
        )

    async def feedback(self, entry_id: str) -> list[tuple[str, str, bool]]:
        """(channel, chat_id, useful) per feedback row for one entry, oldest first."""
        rows = await self.db.fetchall(
            "SELECT channel, chat_id, useful FROM feedback WHERE entry_id = ? ORDER BY id", (entry_id,)
        )
        return [(r["channel"], r["chat_id"], bool(r["useful"])) for r in rows]
