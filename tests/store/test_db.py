"""Opening, migrating, transactions and online backups of the SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest

from bot.filing import NewOrder
from bot.store import Database, MigrationError, SqliteWorkOrderRepo, open_db
from bot.store.db import from_db, split_statements, to_db

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CST)


# Every migration file shipped in the package, as (version, name): adding one needs no test edit.
BUNDLED = sorted(
    (int(f.name[:4]), f.name)
    for f in resources.files("bot.store").joinpath("migrations").iterdir()
    if f.name.endswith(".sql")
)


async def test_open_creates_dirs_sets_pragmas_and_migrates(db: Database, db_path: Path) -> None:
    assert db_path.exists()
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert (await db.fetchone("PRAGMA busy_timeout"))[0] == 5000  # type: ignore[index]
    assert (await db.fetchone("PRAGMA synchronous"))[0] == 1  # type: ignore[index]  # NORMAL
    rows = await db.fetchall("SELECT version, name FROM schema_migrations")
    assert [tuple(r) for r in rows] == BUNDLED
    assert BUNDLED[:4] == [
        (1, "0001_init.sql"),
        (2, "0002_file_in_one_statement.sql"),
        (3, "0003_attachments.sql"),
        (4, "0004_notices.sql"),
    ]


async def test_migrations_are_applied_once(db_path: Path) -> None:
    async with await open_db(db_path) as first:
        assert await first.migrate() == []
    async with await open_db(db_path) as again:
        assert await again.migrate() == []
        assert (await again.fetchone("SELECT count(*) FROM schema_migrations"))[0] == len(BUNDLED)  # type: ignore[index]


async def test_concurrent_first_open_applies_each_migration_once(db_path: Path) -> None:
    a, b = await asyncio.gather(open_db(db_path), open_db(db_path))
    async with a, b:
        assert (await a.fetchone("SELECT count(*) FROM schema_migrations"))[0] == len(BUNDLED)  # type: ignore[index]


async def test_a_failing_migration_rolls_back_and_names_the_file(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_ok.sql").write_text("CREATE TABLE a (x INTEGER);\n", encoding="utf-8")
    (migrations / "0002_bad.sql").write_text(
        "CREATE TABLE b (x INTEGER);\nINSERT INTO missing VALUES (1);\n", encoding="utf-8"
    )
    path = tmp_path / "m.db"
    with pytest.raises(MigrationError, match=r"0002_bad\.sql"):
        await open_db(path, migrations=migrations)  # type: ignore[arg-type]
    with sqlite3.connect(path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert raw.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]
    raw.close()
    assert "a" in tables and "b" not in tables


def test_split_statements_keeps_strings_comments_and_triggers_whole() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'c;d';
        DELETE FROM t WHERE x = 'e';
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert "'a;b'" in statements[0] and statements[1].rstrip().endswith("END;")
    with pytest.raises(ValueError, match="分号"):
        split_statements("CREATE TABLE t (x)")


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO order_sequences (day, last) VALUES (?, ?)", ("2026-11-26", 3))
            raise RuntimeError("boom")
    assert await db.fetchall("SELECT * FROM order_sequences") == []
    async with db.transaction() as conn:  # the connection is usable again
        await conn.execute("INSERT INTO order_sequences (day, last) VALUES (?, ?)", ("2026-11-26", 3))
    assert len(await db.fetchall("SELECT * FROM order_sequences")) == 1


def test_datetimes_round_trip_as_aware_values() -> None:
    utc = (T0 + timedelta(microseconds=5)).astimezone(tz=None)
    text = to_db(utc)
    assert text.endswith("+08:00") and from_db(text) == utc and from_db(text).tzinfo is not None
    with pytest.raises(ValueError, match="时区"):
        to_db(T0.replace(tzinfo=None))


async def test_backup_while_another_connection_writes(
    db: Database, db_path: Path, tmp_path: Path, make_draft: Callable[..., NewOrder]
) -> None:
    committed: list[str] = []
    ready, stop = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with await open_db(db_path) as other:
            repo = SqliteWorkOrderRepo(other)
            i = 0
            while not stop.is_set():
                order = await repo.file(make_draft(), by="bot", at=T0 + timedelta(seconds=i))
                committed.append(order.number)
                i += 1
                if i == 5:
                    ready.set()

    task = asyncio.create_task(writer())
    await asyncio.wait_for(ready.wait(), timeout=30)
    before = list(committed)
    target = tmp_path / "backups" / "yiqiban-backup.db"
    await db.backup(target)
    stop.set()
    await asyncio.wait_for(task, timeout=30)

    raw = sqlite3.connect(target)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        numbers = {r[0] for r in raw.execute("SELECT number FROM work_orders")}
        assert set(before) <= numbers <= set(committed)
        events = raw.execute("SELECT count(*) FROM order_events WHERE action = 'file'").fetchone()[0]
        assert events == len(numbers)
    finally:
        raw.close()
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left behind

    await db.backup(target)  # replacing an existing backup works too
    raw = sqlite3.connect(target)
    try:
        assert raw.execute("SELECT count(*) FROM work_orders").fetchone()[0] == len(committed)
    finally:
        raw.close()


async def test_background_checkpointer_keeps_the_wal_short(db_path: Path) -> None:
    from bot.store.db import Checkpointer

    wal = db_path.with_name(db_path.name + "-wal")
    async with await open_db(db_path, autocheckpoint=False) as db:
        assert (await db.fetchone("PRAGMA wal_autocheckpoint"))[0] == 0  # type: ignore[index]
        checkpointer = Checkpointer(db.path, interval_s=3600)  # only the explicit calls below
        await checkpointer.start()
        for i in range(300):
            await db.execute_atomic(
                "INSERT INTO people (id, created_at) VALUES (?, '2026-11-26T10:00:00+08:00')", (f"p{i}",)
            )
        grown = wal.stat().st_size
        assert grown > 0
        await checkpointer.stop()  # final TRUNCATE checkpoint
        assert wal.stat().st_size == 0
        assert (await db.fetchone("SELECT count(*) FROM people"))[0] == 300  # type: ignore[index]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
async def test_the_checkpointer_thread_runs_at_the_lowest_priority(db_path: Path) -> None:
    """Its copying must not take CPU from the thread that answers users (bench/engine.py)."""
    from bot.store.db import Checkpointer

    def nice_values() -> dict[int, int]:
        tasks = Path("/proc/self/task")
        return {
            int(t.name): int((t / "stat").read_text().rsplit(")", 1)[1].split()[16]) for t in tasks.iterdir()
        }

    async with await open_db(db_path) as db:
        before = set(nice_values())
        checkpointer = Checkpointer(db.path, interval_s=3600)
        await checkpointer.start()
        try:
            new = {tid: nice for tid, nice in nice_values().items() if tid not in before}
            assert list(new.values()) == [19]  # its own connection thread, and only that one
            assert nice_values()[threading.get_native_id()] == 0
        finally:
            await checkpointer.stop()
