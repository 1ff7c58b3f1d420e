"""Enterprises and the people who speak for them, reachable through several channels.

A person is one row whatever channel they use: a Telegram id, a web session and a WeChat openid
are identities pointing at the same person, so their orders follow them across channels. The
person id is random and opaque, which is what a work order stores as its `petitioner`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.store.db import Database, StoreError, from_db, to_db
from intents.credit_code import is_valid_credit_code


class IdentityConflict(StoreError, ValueError):
    """The channel account is already linked to a different person; nothing was changed."""

    def __init__(self, channel: str, external_id: str, person_id: str) -> None:
        self.channel, self.external_id, self.person_id = channel, external_id, person_id
        super().__init__(f"该{channel}账号已绑定其他用户，如需更换请联系管理员")


@dataclass(frozen=True, slots=True, kw_only=True)
class Enterprise:
    credit_code: str
    name: str
    created_at: datetime
    industry: str | None = None
    scale: str | None = None  # e.g. 小微/中型/大型, as the district grades it
    street: str | None = None
    grid: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    id: str
    created_at: datetime
    display_name: str | None = None
    phone: str | None = None


def normalize_credit_code(code: str) -> str:
    """Upper case without surrounding blanks, or ValueError with a message the user can act on."""
    canonical = code.strip().upper() if isinstance(code, str) else ""
    if not is_valid_credit_code(canonical):
        raise ValueError(f"统一社会信用代码不正确，请核对 18 位代码：{code!r}")
    return canonical


class EnterpriseRepo(Protocol):
    async def upsert(self, enterprise: Enterprise) -> Enterprise: ...
    async def get(self, credit_code: str) -> Enterprise | None: ...


class PeopleRepo(Protocol):
    async def create(
        self, *, at: datetime, display_name: str | None = None, phone: str | None = None
    ) -> Person: ...
    async def get(self, person_id: str) -> Person | None: ...
    async def link_identity(self, channel: str, external_id: str, person_id: str) -> None: ...
    async def first_contact(
        self, channel: str, external_id: str, *, at: datetime, display_name: str | None = None
    ) -> str: ...
    async def find_by_identity(self, channel: str, external_id: str) -> Person | None: ...
    async def link_enterprise(self, person_id: str, credit_code: str, role: str) -> None: ...
    async def enterprises_of(self, person_id: str) -> list[Enterprise]: ...


_ENTERPRISE_COLUMNS = "credit_code, name, industry, scale, street, grid, tags, created_at"
_PERSON_COLUMNS = "id, display_name, phone, created_at"


def _enterprise(row: sqlite3.Row) -> Enterprise:
    return Enterprise(
        credit_code=row["credit_code"],
        name=row["name"],
        industry=row["industry"],
        scale=row["scale"],
        street=row["street"],
        grid=row["grid"],
        tags=tuple(json.loads(row["tags"])),
        created_at=from_db(row["created_at"]),
    )


def _person(row: sqlite3.Row) -> Person:
    return Person(
        id=row["id"],
        display_name=row["display_name"],
        phone=row["phone"],
        created_at=from_db(row["created_at"]),
    )


class SqliteEnterpriseRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, enterprise: Enterprise) -> Enterprise:
        """Insert or update by credit code; the first `created_at` is kept. Returns the stored row."""
        code = normalize_credit_code(enterprise.credit_code)
        if not enterprise.name.strip():
            raise ValueError("企业名称不能为空")
        tags = json.dumps(list(enterprise.tags), ensure_ascii=False)
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO enterprises ({_ENTERPRISE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name, "
                "industry = excluded.industry, scale = excluded.scale, street = excluded.street, "
                "grid = excluded.grid, tags = excluded.tags",
                (code, enterprise.name.strip(), enterprise.industry, enterprise.scale, enterprise.street,
                 enterprise.grid, tags, to_db(enterprise.created_at)),
            )  # fmt: skip
            async with conn.execute(
                f"SELECT {_ENTERPRISE_COLUMNS} FROM enterprises WHERE credit_code = ?", (code,)
            ) as cur:
                row = await cur.fetchone()
        assert row is not None
        return _enterprise(row)

    async def get(self, credit_code: str) -> Enterprise | None:
        code = credit_code.strip().upper()
        row = await self.db.fetchone(
            f"SELECT {_ENTERPRISE_COLUMNS} FROM enterprises WHERE credit_code = ?", (code,)
        )
        return _enterprise(row) if row is not None else None


class SqlitePeopleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, *, at: datetime, display_name: str | None = None, phone: str | None = None
    ) -> Person:
        person = Person(id=uuid.uuid4().hex, created_at=at, display_name=display_name, phone=phone)
        await self.db.execute_atomic(  # one statement, committed on its own: one round trip
            f"INSERT INTO people ({_PERSON_COLUMNS}) VALUES (?, ?, ?, ?)",
            (person.id, display_name, phone, to_db(at)),
        )
        return person

    async def get(self, person_id: str) -> Person | None:
        row = await self.db.fetchone(f"SELECT {_PERSON_COLUMNS} FROM people WHERE id = ?", (person_id,))
        return _person(row) if row is not None else None

    async def link_identity(self, channel: str, external_id: str, person_id: str) -> None:
        """Point (channel, external_id) at the person; linking again to the same person is a no-op.

        Raises IdentityConflict if the account already belongs to someone else: silently moving
        it would hand one person's orders to another.
        """
        if not channel.strip() or not external_id.strip():
            raise ValueError("渠道和账号标识不能为空")
        # The no-op DO UPDATE makes RETURNING give the owner whether the row is new or not:
        # insert-or-read in one atomic statement (a new chat's first message pays for it).
        [row] = await self.db.execute_atomic(
            "INSERT INTO identities (channel, external_id, person_id) VALUES (?, ?, ?) "
            "ON CONFLICT (channel, external_id) DO UPDATE SET person_id = identities.person_id "
            "RETURNING person_id",
            (channel, external_id, person_id),
        )
        if row["person_id"] != person_id:
            raise IdentityConflict(channel, external_id, row["person_id"])

    async def first_contact(
        self, channel: str, external_id: str, *, at: datetime, display_name: str | None = None
    ) -> str:
        """The person behind an identity seen for the first time: created and linked in one
        atomic statement (migration 0009). If the identity got linked meanwhile (another process),
        nothing is created and its owner is returned."""
        if not channel.strip() or not external_id.strip():
            raise ValueError("渠道和账号标识不能为空")
        person_id = uuid.uuid4().hex
        try:
            await self.db.execute_atomic(
                "INSERT INTO first_contacts (channel, external_id, person_id, display_name, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel, external_id, person_id, display_name, to_db(at)),
            )
        except sqlite3.IntegrityError as exc:
            if "identity_taken" not in str(exc):
                raise
            owner = await self.find_by_identity(channel, external_id)
            if owner is None:  # unlinking does not exist, so the owner cannot have vanished
                raise
            return owner.id
        return person_id

    async def find_by_identity(self, channel: str, external_id: str) -> Person | None:
        row = await self.db.fetchone(
            "SELECT p.id, p.display_name, p.phone, p.created_at FROM identities i "
            "JOIN people p ON p.id = i.person_id WHERE i.channel = ? AND i.external_id = ?",
            (channel, external_id),
        )
        return _person(row) if row is not None else None

    async def link_enterprise(self, person_id: str, credit_code: str, role: str) -> None:
        """Record that the person acts for the enterprise (as `role`); linking again updates the role."""
        code = normalize_credit_code(credit_code)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO person_enterprises (person_id, credit_code, role) VALUES (?, ?, ?) "
                "ON CONFLICT (person_id, credit_code) DO UPDATE SET role = excluded.role",
                (person_id, code, role),
            )

    async def enterprises_of(self, person_id: str) -> list[Enterprise]:
        rows = await self.db.fetchall(
            "SELECT e.credit_code, e.name, e.industry, e.scale, e.street, e.grid, e.tags, e.created_at "
            "FROM person_enterprises pe JOIN enterprises e ON e.credit_code = pe.credit_code "
            "WHERE pe.person_id = ? ORDER BY e.name, e.credit_code",
            (person_id,),
        )
        return [_enterprise(r) for r in rows]
