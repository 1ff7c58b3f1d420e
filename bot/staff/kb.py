"""Knowledge-base upkeep from the staff console: view entries, edit one or add one, and the bot
answers with the change at once, without a restart.

Edits go to an overlay entry file beside the database (`bot.app.KB_OVERLAY`), never into the
bundled files. A change is checked exactly as the loader checks files (schema, ids, links): the
new overlay is written to a temporary file and the whole knowledge base loaded from it before it
replaces the old one, and only then is the engine's matcher rebuilt (in a thread) and swapped in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.core.engine import Core
from bot.staff.accounts import Account, Role
from bot.staff.store import StaffStore
from knowledge.errors import KnowledgeError
from knowledge.loader import KnowledgeBase, load_dir, read_entry_file
from knowledge.matcher import Matcher
from knowledge.schema import Entry, EntryFile
from knowledge.writer import write_entry_file
from knowledge.yamlio import parse_yaml

EDITORS = frozenset({Role.admin, Role.dispatcher})
OVERLAY_CATEGORY = "本地编辑"


class KbEditError(ValueError):
    """An edit the loader would refuse; the message (Chinese) names the field."""


class KnowledgeEditor:
    def __init__(self, core: Core, overlay: Path, staff: StaffStore, clock: Callable[[], datetime]) -> None:
        self.core, self.overlay, self.staff, self.clock = core, overlay, staff, clock
        self._lock = asyncio.Lock()  # one edit at a time: each rebuilds from the file the last wrote

    @property
    def kb(self) -> KnowledgeBase:
        return self.core.deps.kb

    def may_edit(self, account: Account) -> bool:
        return account.role in EDITORS

    async def save(self, account: Account, text: str, expected_id: str | None = None) -> Entry:
        """Validate `text` (one entry as YAML), store it in the overlay, and make the bot use it."""
        if not self.may_edit(account):
            raise KbEditError("您的角色不能修改知识库")
        entry = _parse(text)
        if expected_id is not None and entry.id != expected_id:
            raise KbEditError(f"编号不能修改（应为 {expected_id}）")
        was = "edit" if self.kb.get(entry.id) is not None else "add"
        async with self._lock:
            kept = [
                e
                for e in (read_entry_file(self.overlay) if self.overlay.exists() else [])
                if e.id != entry.id
            ]
            data_dir = self.kb.data_dir
            if data_dir is None:
                raise KbEditError("当前知识库不是从目录加载的，无法在线修改")
            trial = self.overlay.with_name(f".{self.overlay.name}.trial")
            try:
                write_entry_file([*kept, entry], OVERLAY_CATEGORY, trial)
                kb = await asyncio.to_thread(load_dir, data_dir, trial)  # ids, links: all checked
                matcher = await asyncio.to_thread(Matcher.from_kb, kb)
            except (KnowledgeError, ValueError) as exc:
                trial.unlink(missing_ok=True)
                raise KbEditError(str(exc).replace(str(trial), "该条目")) from None
            trial.replace(self.overlay)
            self.core.deps.kb, self.core.deps.matcher = kb, matcher
        await self.staff.audit(account.id, f"kb.{was}", entry.id, entry.title[:100], self.clock())
        return entry


def _parse(text: str) -> Entry:
    try:
        doc = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise KbEditError(f"YAML 格式错误：{exc}") from None
    if not isinstance(doc, dict):
        raise KbEditError("应为一个条目（字段: 值）")
    try:
        parsed = EntryFile.model_validate(
            {"category": doc.get("category") or OVERLAY_CATEGORY, "entries": [doc]}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][2:]) or "条目"
        raise KbEditError(f"字段 {where}：{first['msg']}") from None
    entry = parsed.entries[0]
    return entry if entry.category else entry.model_copy(update={"category": parsed.category})
