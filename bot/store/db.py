"""The SQLite file: opening it safely, versioned migrations, transactions and online backups.

One `Database` wraps one `aiosqlite.Connection` (one worker thread). Coroutines of the same
process share it, so `transaction()` and the read helpers take an `asyncio.Lock`: without it a
read could see another coroutine's uncommitted writes on the same connection, and two
coroutines would try to nest BEGINs. Other processes (or other `Database` objects) coordinate
through SQLite's own locks, which `busy_timeout` waits on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

# Datetimes are stored in China Standard Time: the district's own clock, so raw rows read
# naturally and ISO strings with one fixed offset sort in time order. China has no DST, so a
# fixed offset is exact and needs no tz database.
CST = timezone(timedelta(hours=8), "Asia/Shanghai")
BUSY_TIMEOUT_MS = 5000

_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""

Params = Sequence[Any] | Mapping[str, Any]


log = logging.getLogger(__name__)


class StoreError(Exception):
    """Base of the store's own errors (as opposed to domain refusals)."""


class MigrationError(StoreError):
    """A migration file could not be applied; nothing of it was kept."""


def to_db(when: datetime) -> str:
    """ISO-8601 with offset, always +08:00 and microseconds, so stored values sort lexically."""
    if when.tzinfo is None:
        raise ValueError(f"只能保存带时区的时间：{when!r}")
    return when.astimezone(CST).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    """An aware datetime back from `to_db` (equal to the one stored, in CST)."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"数据库中的时间缺少时区：{text!r}")
    return when


def split_statements(script: str) -> list[str]:
    """Split a SQL script into statements, honouring strings, comments and trigger bodies.

    Needed because `executescript` COMMITs any open transaction first, which would make a
    migration non-atomic; executing statement by statement keeps it inside our BEGIN.
    """
    statements: list[str] = []
    *pieces, tail = script.split(";")
    buf = ""
    for piece in pieces:
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if _has_code(buf):
                statements.append(buf.strip())
            buf = ""
    if _has_code(buf + tail):
        raise ValueError("SQL 脚本末尾有未结束的语句（缺少分号？）")
    return statements


def _has_code(sql: str) -> bool:
    lines = (line.split("--", 1)[0] for line in sql.splitlines())
    return any(line.strip(" \t;") for line in lines)


def default_migrations() -> Traversable:
    return resources.files("bot.store") / "migrations"


class Database:
    """One open SQLite database; use `open_db` to get one, and `async with` or `close()` to end it."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT; ROLLBACK and re-raise on any exception (cancellation too).

        IMMEDIATE takes the write lock up front, so a writer waits (busy_timeout) at BEGIN
        instead of failing later with SQLITE_BUSY when a read transaction tries to upgrade.
        """
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                # The original error matters more than a failed rollback (e.g. SQLite already
                # rolled back on its own after SQLITE_FULL).
                with suppress(sqlite3.Error):
                    await self.conn.execute("ROLLBACK")
                raise
            try:
                await self.conn.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    await self.conn.execute("ROLLBACK")
                raise

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Rows of a read outside any transaction of this connection (autocommit snapshot).

        `execute_fetchall` is one round trip to the database thread; a cursor would be three.
        """
        if not self._lock.locked():  # as in `execute_atomic`
            return list(await self.conn.execute_fetchall(sql, params))
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute_atomic(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one writing statement on its own and return its RETURNING rows: SQLite applies it
        (triggers included) atomically and, outside `transaction()`, commits it before this
        returns. One round trip to the database thread.

        Without waiting for the lock when nobody holds it: aiosqlite runs calls in the order they
        are queued, and the statement is queued before this first yields, so a transaction that
        begins later cannot take it in; a transaction already open holds the lock, and then
        this waits for it to end. Under load this saves a lock hand-off per statement.
        """
        if not self._lock.locked():
            return list(await self.conn.execute_fetchall(sql, params))
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def migrate(self, source: Traversable | None = None) -> list[int]:
        """Apply the migrations not yet recorded, in version order; returns the versions applied.

        Each file runs in its own transaction and re-checks `schema_migrations` inside it, so two
        processes opening a fresh file at once apply each migration exactly once.
        """
        async with self._lock:
            await self.conn.execute(_SCHEMA_MIGRATIONS)
        applied: list[int] = []
        for version, name, sql in _load_migrations(source or default_migrations()):
            async with self.transaction() as conn:
                async with conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ) as cur:
                    if await cur.fetchone() is not None:
                        continue
                try:
                    for statement in split_statements(sql):
                        await conn.execute(statement)
                except (sqlite3.Error, ValueError) as exc:
                    raise MigrationError(f"数据库迁移 {name} 执行失败，已回滚：{exc}") from exc
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, to_db(datetime.now(CST))),
                )
            applied.append(version)
        return applied

    async def backup(self, target: Path) -> None:
        """Copy the database to `target` while it stays in use; `target` is replaced atomically.

        The copy is made in one step of the SQLite backup API, i.e. inside one read transaction,
        so it is a consistent snapshot even while other connections write (a multi-step backup
        would restart on every foreign write). It goes to a temp file in the same directory, is
        switched out of WAL (a backup should be one self-contained file) and fsynced, and only
        then renamed over `target`: a crash mid-backup never leaves a half-written backup.
        `target` must not be a database somebody has open. Coroutines sharing this `Database`
        wait for the copy (it takes the connection lock); other connections do not.
        """
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        # check_same_thread=False: the backup itself runs on aiosqlite's worker thread.
        dest = await asyncio.to_thread(sqlite3.connect, tmp, check_same_thread=False)
        try:
            async with self._lock:
                await self.conn.backup(dest, pages=0)
            await asyncio.to_thread(_finish_backup, dest, tmp)
            os.replace(tmp, target)
        except BaseException:
            dest.close()
            tmp.unlink(missing_ok=True)
            raise


def _finish_backup(dest: sqlite3.Connection, tmp: Path) -> None:
    dest.execute("PRAGMA journal_mode=DELETE")
    dest.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_migrations(source: Traversable) -> list[tuple[int, str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for item in source.iterdir():
        match = _MIGRATION_NAME.fullmatch(item.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"迁移版本号重复：{found[version][0]} 与 {item.name}")
        found[version] = (item.name, item.read_text(encoding="utf-8"))
    return [(v, name, sql) for v, (name, sql) in sorted(found.items())]


async def _pragma(conn: aiosqlite.Connection, statements: Iterable[str]) -> None:
    for statement in statements:
        await conn.execute(statement)


async def _enable_wal(conn: aiosqlite.Connection) -> sqlite3.Row | None:
    """`PRAGMA journal_mode=WAL`, retried while another connection holds the file.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is locked"
    at once (without its busy handler) when two processes open the same new file together; the
    switch is persistent, so this only matters on the very first opens.
    """
    delay = 0.01
    deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            rows = await conn.execute_fetchall("PRAGMA journal_mode=WAL")
            return next(iter(rows), None)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


async def open_db(
    path: str | Path, *, migrations: Traversable | None = None, autocheckpoint: bool = True
) -> Database:
    """Open (creating if needed) the database at `path`, configured and migrated.

    With `autocheckpoint=False` this connection never copies the WAL back into the database
    itself (the commit that crosses the threshold would pay for it, with fsyncs: the engine's
    latency tail); a `Checkpointer` on its own connection must then do it in the background.

    - WAL: readers never block the writer and vice versa, so a report does not stall filing,
      and a killed process cannot corrupt the file (an unfinished transaction is simply absent).
    - foreign_keys=ON: SQLite leaves them off per connection, and events must not outlive orders.
    - busy_timeout: wait up to 5 s for another connection's write lock instead of failing.
    - synchronous=NORMAL: in WAL mode this is still corruption-free and survives a killed
      process (committed data is in the WAL, in the OS cache); only a power cut or OS crash can
      lose the last commits, which is the accepted price for not fsyncing every commit.
    """
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit BEGINs from the sqlite3 module; `transaction()` owns them.
    conn = await aiosqlite.connect(file, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        row = await _enable_wal(conn)
        if row is None or str(row[0]).lower() != "wal":
            raise StoreError(f"数据库 {file} 无法启用 WAL 模式（当前：{row[0] if row else '未知'}）")
        await _pragma(conn, ("PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"))
        if not autocheckpoint:
            await conn.execute("PRAGMA wal_autocheckpoint=0")
        db = Database(conn, file)
        await db.migrate(migrations)
    except BaseException:
        await conn.close()
        raise
    return db


def _lower_own_priority() -> str:
    """Give the calling thread the lowest nice value (19); returns what it did.

    A checkpoint is bulk copying that can wait; on a busy single core it would otherwise take
    time slices from the thread that answers users, which shows up as their latency tail. Not
    SCHED_IDLE: a checkpoint briefly holds WAL locks the writer may need, and a thread that only
    runs when the CPU is idle would then hold them for as long as the service is busy (measured:
    a worse tail than nice 19). On Linux the nice value is per thread; elsewhere it applies to
    the process, so it is only lowered on Linux.
    """
    if not sys.platform.startswith("linux"):
        return "unchanged"
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 19)  # who=0: the calling thread, on Linux
    except OSError:
        return "unchanged"
    return "nice 19"


class Checkpointer:
    """Copies the WAL back into the database file from its own connection and thread.

    A PASSIVE checkpoint never blocks writers, so the serving connection's commits stay fast
    while the WAL is kept short; `stop()` runs a final TRUNCATE checkpoint so a cleanly stopped
    service leaves one compact file behind.
    """

    def __init__(self, path: Path, interval_s: float = 0.25) -> None:
        self.path, self.interval_s = path, interval_s
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        await self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # A SQL function runs on the connection's own thread: the one place to lower its priority.
        await self._conn.create_function("yiqiban_background", 0, _lower_own_priority)
        await self._conn.execute_fetchall("SELECT yiqiban_background()")
        self._task = asyncio.create_task(self._run(), name="wal-checkpointer")

    async def checkpoint(self, mode: str = "PASSIVE") -> None:
        assert self._conn is not None and mode in {"PASSIVE", "TRUNCATE"}
        await self._conn.execute_fetchall(f"PRAGMA wal_checkpoint({mode})")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.checkpoint()
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; retrying", exc_info=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with suppress(sqlite3.Error):
                await self.checkpoint("TRUNCATE")
            await self._conn.close()
            self._conn = None
