"""Attachments of work orders: content-addressed blobs, their rows, refusals and the orphan sweep."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.filing import NewOrder
from bot.store import Database, OrderNotFound, SqliteWorkOrderRepo
from bot.store.attachments import (
    MAX_BYTES,
    MAX_NAME_CHARS,
    Attachment,
    AttachmentStore,
    InvalidAttachment,
    sanitize_name,
)
from bot.store.db import StoreError, to_db

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CST)
PHOTO = b"\xff\xd8\xff\xe0" + b"road damage" * 100
Draft = Callable[..., NewOrder]


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "var" / "attachments")


@pytest.fixture
async def number(repo: SqliteWorkOrderRepo, make_draft: Draft) -> str:
    return (await repo.file(make_draft(), by="bot", at=T0)).number


def files(store: AttachmentStore) -> list[str]:
    """Every file under the store's root, relative, sorted."""
    if not store.root.exists():
        return []
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


async def rows(db: Database) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await db.fetchall("SELECT * FROM order_attachments ORDER BY id")]


async def test_add_list_and_read_back(db: Database, store: AttachmentStore, number: str) -> None:
    att = await store.add(db, number, "现场照片.jpg", PHOTO, media_type=None, by="person:abc", at=T0)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert att == Attachment(
        order_number=number,
        name="现场照片.jpg",
        media_type="image/jpeg",  # guessed from the name
        size=len(PHOTO),
        sha256=digest,
        added_by="person:abc",
        added_at=T0,
    )
    assert store.path_of(att) == store.root / digest[:2] / digest
    assert files(store) == [f"{digest[:2]}/{digest}"]
    assert store.read(att) == PHOTO

    letter = await store.add(
        db, number, "说明.txt", "情况说明".encode(), media_type="text/plain; charset=utf-8", by="person:abc",
        at=T0 + timedelta(minutes=1),
    )  # fmt: skip
    assert letter.media_type == "text/plain"
    assert await store.list(db, number) == [att, letter]  # oldest first
    assert await store.list(db, "EQ-20261126-9999") == []


async def test_declared_octet_stream_is_guessed_from_the_name(
    db: Database, store: AttachmentStore, number: str
) -> None:
    att = await store.add(
        db, number, "营业执照.PDF", b"%PDF-1.7", media_type="application/octet-stream", by="bot", at=T0
    )
    assert att.media_type == "application/pdf"
    docx = await store.add(db, number, "合同.docx", b"PK\x03\x04", media_type=None, by="bot", at=T0)
    assert docx.media_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def test_same_bytes_twice_to_one_order_is_one_row_and_one_blob(
    db: Database, store: AttachmentStore, number: str
) -> None:
    first = await store.add(db, number, "a.jpg", PHOTO, media_type=None, by="person:abc", at=T0)
    again = await store.add(
        db, number, "copy.jpg", PHOTO, media_type=None, by="person:xyz", at=T0 + timedelta(hours=1)
    )
    assert again == first  # the existing row: first name, sender and time
    assert len(await rows(db)) == 1
    assert len(files(store)) == 1


async def test_different_orders_share_one_blob(
    db: Database, store: AttachmentStore, repo: SqliteWorkOrderRepo, make_draft: Draft, number: str
) -> None:
    other = (await repo.file(make_draft(), by="bot", at=T0)).number
    a = await store.add(db, number, "a.jpg", PHOTO, media_type=None, by="bot", at=T0)
    b = await store.add(db, other, "b.jpg", PHOTO, media_type=None, by="bot", at=T0)
    assert (a.order_number, b.order_number) == (number, other) and a.sha256 == b.sha256
    assert len(await rows(db)) == 2
    assert len(files(store)) == 1
    assert [x.name for x in await store.list(db, other)] == ["b.jpg"]


async def test_too_large_is_refused_naming_the_file_and_limit(
    db: Database, store: AttachmentStore, number: str
) -> None:
    with pytest.raises(InvalidAttachment, match=r"视频截图\.png.*20 MB") as info:
        await store.add(db, number, "视频截图.png", bytes(MAX_BYTES + 1), media_type=None, by="bot", at=T0)
    assert isinstance(info.value, ValueError)
    assert await rows(db) == [] and files(store) == []
    # The limit itself is allowed.
    att = await store.add(db, number, "大图.png", bytes(MAX_BYTES), media_type=None, by="bot", at=T0)
    assert att.size == MAX_BYTES


@pytest.mark.parametrize(
    ("name", "media_type", "message"),
    [
        ("setup.exe", None, "不支持的文件类型 application/octet-stream"),
        ("资料.zip", "application/zip", "不支持的文件类型 application/zip"),
        ("page.html", None, "不支持的文件类型 text/html"),
        ("logs.txt.gz", None, "无法识别"),  # gzip, whatever it contains
        ("没有扩展名", None, "无法识别"),
        ("伪装.jpg", "IMAGE/SVG+XML", "不支持的文件类型 image/svg\\+xml"),
    ],
)
async def test_forbidden_types_are_refused_and_nothing_is_written(
    db: Database, store: AttachmentStore, number: str, name: str, media_type: str | None, message: str
) -> None:
    with pytest.raises(InvalidAttachment, match=message) as info:
        await store.add(db, number, name, b"data", media_type=media_type, by="bot", at=T0)
    assert name in str(info.value)
    assert await rows(db) == [] and files(store) == []


async def test_unknown_order_or_naive_time_writes_nothing(db: Database, store: AttachmentStore) -> None:
    with pytest.raises(OrderNotFound, match="EQ-20261126-0042"):
        await store.add(db, "EQ-20261126-0042", "a.jpg", PHOTO, media_type=None, by="bot", at=T0)
    with pytest.raises(ValueError, match="时区"):
        await store.add(db, "EQ-20261126-0042", "a.jpg", PHOTO, media_type=None, by="bot",
                        at=T0.replace(tzinfo=None))  # fmt: skip
    assert await rows(db) == [] and files(store) == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\张三\\Desktop\\照片.jpg", "照片.jpg"),
        ("\u202egpj.exe", "gpj.exe"),  # right-to-left override removed: no "exe.jpg" on screen
        ("a\x00b\n.txt", "ab.txt"),
        ("  报告.pdf  ", "报告.pdf"),
        ("../", "附件"),
        ("..", "附件"),
        ("", "附件"),
    ],
)
def test_sanitize_name(raw: str, clean: str) -> None:
    assert sanitize_name(raw) == clean


def test_long_names_are_cut_keeping_the_extension() -> None:
    cut = sanitize_name("很" * 300 + ".pdf")
    assert len(cut) == MAX_NAME_CHARS and cut.endswith("很.pdf")
    assert len(sanitize_name("x" * 300)) == MAX_NAME_CHARS


async def test_stored_name_is_sanitised(db: Database, store: AttachmentStore, number: str) -> None:
    att = await store.add(
        db, number, "../../etc/passwd", b"root:x:0:0", media_type="text/plain", by="bot", at=T0
    )
    assert att.name == "passwd"
    assert (await rows(db))[0][2] == "passwd"
    assert files(store) == [f"{att.sha256[:2]}/{att.sha256}"]  # the name never reaches the disk


async def test_migration_3_is_applied(db: Database) -> None:
    row = await db.fetchone("SELECT name FROM schema_migrations WHERE version = 3")
    assert row is not None and row[0] == "0003_attachments.sql"
    indexes = {r["name"] for r in await db.fetchall("PRAGMA index_list(order_attachments)")}
    assert "order_attachments_order" in indexes


async def test_schema_refuses_bad_rows(db: Database, number: str) -> None:
    insert = (
        "INSERT INTO order_attachments (order_number, name, media_type, size, sha256, added_by, added_at) "
        "VALUES (?, 'a', 'text/plain', ?, ?, 'bot', '2026-11-26T09:00:00.000000+08:00')"
    )
    with pytest.raises(Exception, match="CHECK"):
        await db.execute_atomic(insert, (number, 1, "A" * 64))  # not lower-case hex
    with pytest.raises(Exception, match="CHECK"):
        await db.execute_atomic(insert, (number, -1, "a" * 64))
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await db.execute_atomic(insert, ("EQ-20261126-0042", 1, "a" * 64))


async def test_a_crash_between_blob_and_row_leaves_an_orphan_that_the_sweep_removes(
    db: Database, store: AttachmentStore, number: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = await store.add(db, number, "a.jpg", PHOTO, media_type=None, by="bot", at=T0)

    @asynccontextmanager
    async def killed() -> AsyncIterator[Any]:
        raise RuntimeError("process killed")
        yield  # pragma: no cover

    orphan_bytes = b"never recorded"
    with monkeypatch.context() as m:
        m.setattr(db, "transaction", killed)
        with pytest.raises(RuntimeError):
            await store.add(db, number, "b.txt", orphan_bytes, media_type=None, by="bot", at=T0)
    orphan = hashlib.sha256(orphan_bytes).hexdigest()
    assert len(await rows(db)) == 1  # no row points at anything missing
    assert f"{orphan[:2]}/{orphan}" in files(store)

    # Leftovers of a crashed write: an old temp file goes, a fresh one may still be in use.
    folder = store.root / kept.sha256[:2]
    old_tmp, new_tmp, foreign = folder / ".tmp-old", folder / ".tmp-new", folder / "README"
    for f in (old_tmp, new_tmp, foreign):
        f.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old_tmp, (two_hours_ago, two_hours_ago))

    assert await store.sweep_orphans(db) == 2  # the orphan blob and the stale temp file
    assert sorted(files(store)) == sorted(
        [f"{kept.sha256[:2]}/{kept.sha256}", f"{kept.sha256[:2]}/.tmp-new", f"{kept.sha256[:2]}/README"]
    )
    assert store.read(kept) == PHOTO
    assert await store.sweep_orphans(db) == 0


async def test_sweep_without_a_directory_is_a_no_op(db: Database, store: AttachmentStore) -> None:
    assert await store.sweep_orphans(db) == 0


async def test_a_blob_swept_before_the_row_is_written_again(
    db: Database, store: AttachmentStore, number: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep in another process may remove the blob between `add`'s write and its row."""
    real = db.transaction
    digest = hashlib.sha256(PHOTO).hexdigest()

    @asynccontextmanager
    async def swept_first() -> AsyncIterator[Any]:
        (store.root / digest[:2] / digest).unlink()
        async with real() as conn:
            yield conn

    monkeypatch.setattr(db, "transaction", swept_first)
    att = await store.add(db, number, "a.jpg", PHOTO, media_type=None, by="bot", at=T0)
    monkeypatch.undo()
    assert store.read(att) == PHOTO


async def test_read_refuses_damaged_or_missing_blobs(
    db: Database, store: AttachmentStore, number: str
) -> None:
    att = await store.add(db, number, "a.jpg", PHOTO, media_type=None, by="bot", at=T0)
    store.path_of(att).write_bytes(PHOTO[:-1] + b"!")
    with pytest.raises(StoreError, match="损坏"):
        store.read(att)
    store.path_of(att).unlink()
    with pytest.raises(StoreError, match="缺失"):
        store.read(att)
    with pytest.raises(ValueError, match="SHA-256"):
        store.path_of(Attachment(number, "x", "text/plain", 1, "../../etc/passwd", "bot", T0))


async def test_stage_writes_the_blob_only_and_attach_staged_adds_the_row(
    db: Database, store: AttachmentStore, number: str
) -> None:
    staged = await store.stage("../照片.jpg", PHOTO)
    assert (staged.name, staged.media_type, staged.size) == ("照片.jpg", "image/jpeg", len(PHOTO))
    assert files(store) == [f"{staged.sha256[:2]}/{staged.sha256}"] and await rows(db) == []
    with pytest.raises(InvalidAttachment):
        await store.stage("x.exe", b"MZ")
    with pytest.raises(OrderNotFound):
        await store.attach_staged(db, "EQ-20261126-0042", staged, by="bot", at=T0)
    att = await store.attach_staged(db, number, staged, by="bot", at=T0)
    assert await store.attach_staged(db, number, staged, by="bot", at=T0) == att  # idempotent
    assert store.read(att) == PHOTO and len(await rows(db)) == 1


async def test_attach_staged_refuses_a_swept_blob(db: Database, store: AttachmentStore, number: str) -> None:
    staged = await store.stage("a.jpg", PHOTO)
    assert await store.sweep_orphans(db) == 1  # a staged blob has no row yet
    with pytest.raises(StoreError, match="重新发送"):
        await store.attach_staged(db, number, staged, by="bot", at=T0)
    assert await rows(db) == []


async def test_sweep_keeps_blobs_staged_in_an_open_form(db: Database, store: AttachmentStore) -> None:
    in_form = await store.stage("现场.jpg", PHOTO)
    loose = await store.stage("other.jpg", PHOTO + b"another photo")
    await db.execute_atomic(
        "INSERT INTO dialogs (channel, chat_id, state, data, updated_at) VALUES (?, ?, ?, ?, ?)",
        ("web", "c1", "petition", json.dumps({"files": [{"sha256": in_form.sha256}]}), to_db(T0)),
    )
    await db.execute_atomic(  # a dialog without files, and one whose `files` is not a list
        "INSERT INTO dialogs (channel, chat_id, state, data, updated_at) VALUES "
        "('web', 'c2', 'idle', '{}', ?), ('web', 'c3', 'petition', '{\"files\": 3}', ?)",
        (to_db(T0), to_db(T0)),
    )
    assert await store.sweep_orphans(db) == 1
    assert files(store) == [f"{in_form.sha256[:2]}/{in_form.sha256}"]
    assert loose.sha256 != in_form.sha256
