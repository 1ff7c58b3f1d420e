"""The composition root: build every collaborator once, from settings, and hand them out.

Nothing runs at import time; `open_app` is awaited by `yiqiban run` and by tests, and `close`
releases the database after the last write has committed.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.calendar_config import load_calendar
from bot.core.engine import Core
from bot.deadlines import DeadlinePolicy
from bot.store.attachments import AttachmentStore
from bot.store.db import Checkpointer, Database, open_db
from bot.store.orders import SqliteWorkOrderRepo
from bot.store.people import SqlitePeopleRepo
from bot.tickets import TicketService
from intents.classifier import KnowledgeMatcher, classify
from knowledge.lexicon import DATA_DIR, load_pinyin
from knowledge.loader import KnowledgeBase, load_dir
from knowledge.matcher import Matcher

CST = timezone(timedelta(hours=8))
KB_OVERLAY = "kb_local.yaml"  # knowledge-base entries added or edited at the staff console


def china_now() -> datetime:
    """The production clock: aware, in China time."""
    return datetime.now(CST)


@dataclass(slots=True)
class App:
    db: Database
    core: Core
    tickets: TicketService
    checkpointer: Checkpointer

    async def close(self) -> None:
        """Stop background work, then close the database (every write has committed)."""
        await self.checkpointer.stop()
        await self.db.close()


def build_core(
    db: Database,
    kb: KnowledgeBase,
    matcher: KnowledgeMatcher,
    *,
    clock: Callable[[], datetime] = china_now,
    attachments: AttachmentStore | None = None,
    core_class: type[Core] = Core,
    calendar_file: Path | None = None,
) -> Core:
    """Wire the engine to its collaborators on `db`: the one place that knows how (tests too)."""
    calendar, policy = load_calendar(calendar_file), DeadlinePolicy.load()
    return core_class(
        db=db,
        matcher=matcher,
        kb=kb,
        tickets=TicketService(SqliteWorkOrderRepo(db), calendar, policy),
        people=SqlitePeopleRepo(db),
        calendar=calendar,
        policy=policy,
        clock=clock,
        attachments=attachments,
    )


async def open_app(
    db_path: Path,
    kb_dir: Path | None = None,
    *,
    clock: Callable[[], datetime] = china_now,
    calendar_file: Path | None = None,
) -> App:
    """Open the database (migrating it), load the knowledge base and build the engine."""
    # Edits made at the staff console live beside the database, over the bundled entries.
    kb = load_dir(kb_dir or DATA_DIR, overlay=db_path.parent / KB_OVERLAY)
    matcher = Matcher.from_kb(kb)
    # The serving connection leaves WAL checkpoints to a background connection (latency tail).
    db = await open_db(db_path, autocheckpoint=False)
    checkpointer = Checkpointer(db.path)
    await checkpointer.start()
    attachments = AttachmentStore(db_path.parent / "attachments")
    core = build_core(db, kb, matcher, clock=clock, attachments=attachments, calendar_file=calendar_file)
    settle(core)
    return App(db, core, core.deps.tickets, checkpointer)


def settle(core: Core) -> None:
    """Make the first user's message as fast as the rest, and keep the collector off the
    long-lived heap.

    Classifying one question loads jieba's dictionary (about a second), which would otherwise
    happen inside the first message; pypinyin likewise on the first character the index has not
    seen. Then everything allocated so far (the knowledge base, the
    index, jieba's tables: tens of thousands of objects that live as long as the process) is
    moved out of the garbage collector's generations with `gc.freeze()`; without that, every
    full collection walks them all, a pause of 12–20 ms measured here, which lands on whichever
    message is being handled at the time (bench/engine.py's latency tail).
    """
    classify("营业执照怎么办理", core.deps.matcher)
    load_pinyin()
    gc.collect()
    gc.freeze()
