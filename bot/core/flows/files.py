"""Files a petitioner sends: staged while the petition form is open, attached once it is filed.

Each file is checked and its blob written to the `AttachmentStore` as soon as it arrives
(`stage`); the dialog keeps only the metadata, as JSON, under `data["files"]`, so a restart
mid-form loses nothing. On 确认提交 the order is filed first, then each staged file gets its
row (`attach_staged`, idempotent: confirming again after a crash attaches what was missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bot.core.flows import PETITION_BUTTON, Turn
from bot.core.messages import Button, InboundFile, Reply
from bot.store.attachments import MAX_BYTES, InvalidAttachment, StagedFile, sanitize_name
from bot.store.db import StoreError

MAX_FILES = 9
NOT_SUPPORTED = "暂不支持接收文件，请用文字描述您的问题。"
OUTSIDE_PETITION = "文件可以在提交诉求时作为附件一起提交：请点“提交诉求”，填写过程中随时发送照片或文件即可。"
PHOTOS_QUESTION = "可以发送现场照片或相关文件（可选），发完后点“完成”，或点“跳过”"
PHOTOS_BUTTONS = (Button("完成", "pp:done"), Button("跳过", "pp:skip"))
DONE_WORDS = frozenset({"完成", "好了", "发完了", "done"})
TOO_MANY = f"每件诉求最多 {MAX_FILES} 个附件（每个不超过 {MAX_BYTES // 1024 // 1024} MB），“{{name}}”未保存。"


def refusal(turn: Turn, petition_open: bool) -> list[Reply] | None:
    """The reply to files that cannot be taken now (no store, or no petition being filed)."""
    if turn.deps.attachments is None:
        return [Reply(NOT_SUPPORTED)]
    if not petition_open:
        return [Reply(OUTSIDE_PETITION, (PETITION_BUTTON,))]
    return None


def staged(data: dict[str, Any]) -> list[StagedFile]:
    return [StagedFile(**f) for f in data.get("files") or []]


async def stage_all(turn: Turn, files: Sequence[InboundFile]) -> list[str]:
    """Stage `files` into the open form; a note (Chinese) per file that was refused."""
    store, notes = turn.deps.attachments, []
    assert store is not None
    kept: list[dict[str, Any]] = turn.dialog.data.setdefault("files", [])
    for f in files:
        if len(kept) >= MAX_FILES:
            notes.append(TOO_MANY.format(name=sanitize_name(f.name)))
            continue
        try:
            done = await store.stage(f.name, f.data, f.media_type)
        except InvalidAttachment as exc:
            notes.append(str(exc))
            continue
        if all(k["sha256"] != done.sha256 for k in kept):  # the same photo twice counts once
            kept.append(asdict(done))
    return notes


def summary_line(turn: Turn) -> str | None:
    """ "附件：3 个（照片.jpg 等）"; None when the engine takes no files and none were staged."""
    files = staged(turn.dialog.data)
    if not files:
        return None if turn.deps.attachments is None else "附件：无"
    more = " 等" if len(files) > 1 else ""
    return f"附件：{len(files)} 个（{files[0].name}{more}）"


async def attach_all(turn: Turn, number: str) -> str:
    """Attach the form's staged files to the filed order `number`; a line for the user or ""."""
    files, store = staged(turn.dialog.data), turn.deps.attachments
    if not files or store is None:
        return ""
    lost = []
    for f in files:
        try:
            await store.attach_staged(turn.deps.dialogs.db, number, f, by=turn.person, at=turn.now)
        except StoreError:  # the blob was swept meanwhile
            lost.append(f.name)
    line = f"已附上 {len(files) - len(lost)} 个附件。"
    if lost:
        line += f"以下文件已失效，未能附上：{'、'.join(lost)}。"
    return line
