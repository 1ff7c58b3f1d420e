"""Attachments of work orders: the photos and files a petitioner sends with a 诉求.

The bytes are kept outside SQLite, content-addressed: a blob is `root/ab/abcdef…`, named by the
SHA-256 of its content with the first two hex digits as a subfolder (so no directory grows to
hundreds of thousands of entries). Keeping them out of the database keeps backups, the WAL and
checkpoints small, and content addressing makes the same photo sent twice, or to several
orders, one file. A row of `order_attachments` (migration 0003) names the blob of one order.

The blob is written BEFORE its row, and the row only in a transaction after it. A crash in
between leaves an orphan blob, which is harmless (nothing shows it) and is removed by
`sweep_orphans`; the other order could leave a row pointing at a missing file, i.e. an
attachment the order claims but can never show. `sweep_orphans` deletes only while holding the
database's write lock, and `add` checks the blob is still there under that same lock before
inserting its row, so a sweep running at the same time (in this process or another) cannot
delete a blob a row is about to reference.

The file name a client sends is kept for display only; it never reaches the file system.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import mimetypes
import re
import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from bot.store.db import Database, StoreError, from_db, to_db
from bot.store.orders import OrderNotFound
from knowledge.fileio import atomic_write

# Telegram's Bot API lets a bot download files of at most 20 MB (getFile), so nothing bigger can
# reach us through the main channel; other channels get the same limit so that an attachment
# accepted on the web can always be forwarded to Telegram.
MAX_BYTES = 20 * 1024 * 1024
MAX_NAME_CHARS = 200
DEFAULT_NAME = "附件"  # for a name that is empty once sanitised (e.g. "../")

# What a 12345 caseworker can open safely on a government desktop: photos of the problem,
# scanned letters and licences, and office documents. No archives (they hide their content from
# review), no executables, scripts or HTML.
ALLOWED_MEDIA_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",  # iPhone photos
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/plain",
    }
)
_ALLOWED_DESCRIPTION = "图片（JPEG、PNG、GIF、WebP、HEIC）、PDF、Word/Excel 文档或纯文本文件"

# A private table: the module-level `mimetypes.guess_type` also reads /etc/mime.types & co., so
# its answers differ between hosts (Python 3.11's built-in table lacks .docx and .xlsx and has
# .webp only as non-standard). Built-in table plus the allowed types = the same on every host.
_TYPES = mimetypes.MimeTypes(filenames=())
for _ext, _type in {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
}.items():
    _TYPES.add_type(_type, _ext)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TMP_PREFIX = ".tmp-"
# A temp file younger than this may belong to an `add` still writing it (outside any lock).
TEMP_GRACE_SECONDS = 3600

_COLUMNS = "order_number, name, media_type, size, sha256, added_by, added_at"
# ON CONFLICT names the one constraint a duplicate may hit; a bare INSERT OR IGNORE would also
# silently drop rows failing NOT NULL or CHECK.
_INSERT = (
    f"INSERT INTO order_attachments ({_COLUMNS}) "
    "VALUES (:order_number, :name, :media_type, :size, :sha256, :added_by, :added_at) "
    "ON CONFLICT (order_number, sha256) DO NOTHING"
)
_SELECT_ONE = f"SELECT {_COLUMNS} FROM order_attachments WHERE order_number = ? AND sha256 = ?"


class InvalidAttachment(ValueError):
    """A file refused before anything was stored; the message is for the petitioner."""


@dataclass(frozen=True)
class Attachment:
    """One file of one order. `name` is for display; the content is found by `sha256`."""

    order_number: str
    name: str
    media_type: str
    size: int
    sha256: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class StagedFile:
    """A checked file whose blob is written but not yet attached to an order (see `stage`).

    Plain values only, so a dialog can keep it as JSON (`asdict` / `StagedFile(**d)`)."""

    name: str
    media_type: str
    size: int
    sha256: str


def _attachment(row: sqlite3.Row) -> Attachment:
    return Attachment(
        order_number=row["order_number"],
        name=row["name"],
        media_type=row["media_type"],
        size=row["size"],
        sha256=row["sha256"],
        added_by=row["added_by"],
        added_at=from_db(row["added_at"]),
    )


def sanitize_name(name: str) -> str:
    """The base name of `name`, without control or invisible format characters, ≤ 200 chars.

    Both separators count (a Windows client may send `C:\\Users\\…\\照片.jpg`). Format characters
    go too: U+202E (right-to-left override) would make `gpj.exe` display as `exe.jpg`. A long
    name is cut in its stem so the extension, which tells the caseworker the kind, survives.
    """
    visible = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    base = visible.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", ".."):
        return DEFAULT_NAME
    if len(base) > MAX_NAME_CHARS:
        suffix = PurePosixPath(base).suffix
        if len(suffix) > 16:  # not an extension, just a dot in a long name
            suffix = ""
        base = base[: MAX_NAME_CHARS - len(suffix)] + suffix
    return base


def _media_type(name: str, given: str | None) -> str:
    """The declared type (without parameters), else the one guessed from the name's extension.

    `application/octet-stream` declares nothing (Telegram sends it for documents it does not
    recognise), so it is guessed from the name too. Only the last extension counts:
    `x.txt.gz` is a gzip file, not text.
    """
    kind = given.split(";", 1)[0].strip().lower() if given is not None else ""
    if kind in ("", "application/octet-stream"):
        suffix = PurePosixPath(name).suffix
        # A bare "file.ext", not the name: guess_type parses URLs ("data:…" names a type).
        kind = (_TYPES.guess_type(f"file{suffix}", strict=False)[0] if suffix else None) or ""
    if not kind:
        raise InvalidAttachment(f"无法识别文件“{name}”的类型，请发送{_ALLOWED_DESCRIPTION}。")
    if kind not in ALLOWED_MEDIA_TYPES:
        raise InvalidAttachment(f"不支持的文件类型 {kind}（文件“{name}”），只能发送{_ALLOWED_DESCRIPTION}。")
    return kind


def _checked(name: str, data: bytes, media_type: str | None) -> tuple[str, str]:
    """The display name and media type of a file that may be stored; else `InvalidAttachment`."""
    shown = sanitize_name(name)
    if len(data) > MAX_BYTES:
        raise InvalidAttachment(
            f"文件“{shown}”有 {len(data) / 1024 / 1024:.1f} MB，超过了 "
            f"{MAX_BYTES // 1024 // 1024} MB 的上限，请压缩或拆分后再发送。"
        )
    return shown, _media_type(shown, media_type)


def _write_blob(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically and durably, unless a blob is already there.

    A blob that exists is complete (it only ever appears by rename) and, being named by its
    hash, has this content. The temp file is fsynced before the rename and the directory after
    it, so the blob is on disk before the row naming it can commit: a power cut can lose the
    row (synchronous=NORMAL) but not leave it pointing at nothing.
    """
    if path.exists():
        return
    atomic_write(path, data, mode=0o600, prefix=_TMP_PREFIX)


class AttachmentStore:
    """Blobs under `root` (e.g. `var/attachments/`) plus their rows in the `Database` given to
    each call, so one store serves every connection of the process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, att: Attachment) -> Path:
        """Where the content of `att` lives; refuses a hash that is not one (no `../` paths)."""
        if _SHA256.fullmatch(att.sha256) is None:
            raise ValueError(f"不是有效的 SHA-256：{att.sha256!r}")
        return self.root / att.sha256[:2] / att.sha256

    def read(self, att: Attachment) -> bytes:
        """The content of `att`, checked against its hash so a damaged file is never served.

        Blocking (up to `MAX_BYTES`); call it through `asyncio.to_thread` from a handler.
        """
        try:
            data = self.path_of(att).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"附件“{att.name}”的文件缺失（{att.sha256}）") from None
        if len(data) != att.size or hashlib.sha256(data).hexdigest() != att.sha256:
            raise StoreError(f"附件“{att.name}”的文件已损坏（{att.sha256}）")
        return data

    async def stage(self, name: str, data: bytes, media_type: str | None = None) -> StagedFile:
        """Check `data` and write its blob, without a row: for a file received before its order
        exists (petition intake). `attach_staged` records it once the order is filed.

        Raises `InvalidAttachment` (too big, type not allowed) before anything is written. Until
        attached, the blob is an orphan that `sweep_orphans` would remove.
        """
        shown, kind = _checked(name, data, media_type)
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        # Outside any transaction: writing 20 MiB must not hold the write lock.
        await asyncio.to_thread(_write_blob, self.root / digest[:2] / digest, data)
        return StagedFile(shown, kind, len(data), digest)

    async def add(
        self,
        db: Database,
        number: str,
        name: str,
        data: bytes,
        *,
        media_type: str | None,
        by: str,
        at: datetime,
    ) -> Attachment:
        """Attach `data` to order `number`; the stored attachment, or the existing one when the
        order already has this content (the first name and sender are kept).

        Every check runs before anything is written, so a refused file leaves no blob and no
        row: `OrderNotFound`, `InvalidAttachment` (a ValueError: too big, type not allowed) or
        ValueError (naive `at`, empty `by`).
        """
        _checked(name, data, media_type)  # size and type are refused before the order lookup
        added_at = await self._check_order(db, number, by, at)
        staged = await self.stage(name, data, media_type)
        return await self._insert(db, number, staged, by, added_at, data)

    async def attach_staged(
        self, db: Database, number: str, staged: StagedFile, *, by: str, at: datetime
    ) -> Attachment:
        """Record a file `stage` wrote as an attachment of order `number`; as `add` (idempotent).

        Raises `OrderNotFound`, ValueError (naive `at`, empty `by`, a `staged` that `stage`
        could not have returned) or `StoreError` when the blob is gone (swept meanwhile): its
        bytes are no longer known, so the petitioner has to send the file again.
        """
        if _SHA256.fullmatch(staged.sha256) is None or staged.media_type not in ALLOWED_MEDIA_TYPES:
            raise ValueError(f"不是暂存的附件：{staged!r}")
        added_at = await self._check_order(db, number, by, at)
        return await self._insert(db, number, staged, by, added_at, None)

    async def _check_order(self, db: Database, number: str, by: str, at: datetime) -> str:
        if not by.strip():
            raise ValueError("必须注明附件的提交人")
        added_at = to_db(at)
        if await db.fetchone("SELECT 1 FROM work_orders WHERE number = ?", (number,)) is None:
            raise OrderNotFound(number)
        return added_at

    async def _insert(
        self, db: Database, number: str, staged: StagedFile, by: str, added_at: str, data: bytes | None
    ) -> Attachment:
        """The row for a written blob; `data` rewrites the blob if a sweep removed it meanwhile."""
        path = self.root / staged.sha256[:2] / staged.sha256
        values: dict[str, Any] = {
            "order_number": number,
            "name": staged.name,
            "media_type": staged.media_type,
            "size": staged.size,
            "sha256": staged.sha256,
            "added_by": by,
            "added_at": added_at,
        }
        try:
            async with db.transaction() as conn:
                # Under the write lock no sweep runs; if one ran since the write (an orphan with
                # this content was being removed), write the blob again before the row.
                if not path.exists():
                    if data is None:
                        raise StoreError(f"附件“{staged.name}”的文件已不在暂存区，请重新发送")
                    await asyncio.to_thread(_write_blob, path, data)
                await conn.execute(_INSERT, values)
                rows = list(await conn.execute_fetchall(_SELECT_ONE, (number, staged.sha256)))
        except sqlite3.IntegrityError as exc:
            if "FOREIGN KEY" in str(exc):  # the order went away after the check above
                raise OrderNotFound(number) from None
            raise
        return _attachment(rows[0])

    async def list(self, db: Database, number: str) -> builtins.list[Attachment]:
        """The order's attachments, oldest first (insertion order, not `added_at`: clocks can
        disagree); empty for an unknown order."""
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM order_attachments WHERE order_number = ? ORDER BY id", (number,)
        )
        return [_attachment(r) for r in rows]

    async def sweep_orphans(self, db: Database) -> int:
        """Delete the blobs nothing references, and temp files left by crashed writes; how many.

        A blob is referenced by an order's row, or by a form still open in a chat (files staged
        with `stage` and listed in the dialog's `files` until the petition is filed or
        cancelled). Runs inside a write transaction (taken, not used for writing) so that no
        `add` can commit a row while blobs are judged and deleted; see the module docstring.
        Coroutines sharing `db` wait for the sweep. Files that are not ours (other names) are
        left alone. A blob staged in the very turn a sweep runs (before the dialog is saved) can
        still go; `attach_staged` then asks the user to send it again.
        """
        async with db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT sha256 FROM order_attachments UNION "
                "SELECT json_extract(f.value, '$.sha256') FROM dialogs d, json_each(d.data, '$.files') f "
                "WHERE json_type(d.data, '$.files') = 'array'"
            )
            referenced = {str(r[0]) for r in rows if r[0] is not None}
            return await asyncio.to_thread(self._sweep, referenced, time.time())

    def _sweep(self, referenced: set[str], now: float) -> int:
        removed = 0
        if not self.root.is_dir():
            return 0
        for folder in self.root.iterdir():
            if not folder.is_dir() or re.fullmatch(r"[0-9a-f]{2}", folder.name) is None:
                continue
            for file in folder.iterdir():
                if _SHA256.fullmatch(file.name) and file.name.startswith(folder.name):
                    stale = file.name not in referenced
                elif file.name.startswith(_TMP_PREFIX):
                    try:
                        stale = now - file.stat().st_mtime > TEMP_GRACE_SECONDS
                    except FileNotFoundError:  # renamed into place meanwhile
                        continue
                else:
                    continue
                if stale:
                    file.unlink(missing_ok=True)
                    removed += 1
        return removed
