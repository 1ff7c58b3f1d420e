"""Staff accounts, login sessions and the staff audit trail in SQLite (migration 0013)."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.staff.accounts import Account, Role, hash_password, verify_password
from bot.store.db import Database, from_db, to_db

SESSION_HOURS = 12  # a working day; staff log in again the next morning
_COLUMNS = "id, username, display_name, role, unit, active"


def _account(row: sqlite3.Row) -> Account:
    return Account(
        row["id"], row["username"], row["display_name"], Role(row["role"]), row["unit"], bool(row["active"])
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # goes into the cookie; only its hash is stored
    csrf: str  # goes into every form of the session
    account: Account


class StaffStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        username: str,
        display_name: str,
        role: Role,
        password: str,
        at: datetime,
        unit: str | None = None,
    ) -> Account:
        """A new account. Raises ValueError (in Chinese) for a taken name, a weak password or a
        handler without a unit."""
        username = username.strip()
        if not username or not display_name.strip():
            raise ValueError("用户名和姓名不能为空")
        if role is Role.handler and not (unit or "").strip():
            raise ValueError("承办单位账号必须指定单位（--unit）")
        try:
            [row] = await self.db.execute_atomic(
                "INSERT INTO staff_accounts (username, display_name, role, unit, password_hash, created_at) "
                f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (username, display_name.strip(), role.value, unit, hash_password(password), to_db(at)),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"用户名 {username} 已存在") from None
        account = _account(row)
        await self.audit(account.id, "account.create", username, f"role={role.value} unit={unit or ''}", at)
        return account

    async def accounts(self) -> list[Account]:
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM staff_accounts ORDER BY id")
        return [_account(r) for r in rows]

    async def login(self, username: str, password: str, at: datetime) -> Session | None:
        """A new session for the right password of an active account; None otherwise (the same
        answer for an unknown name and a wrong password). The attempt is audited either way."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS}, password_hash FROM staff_accounts WHERE username = ?", (username.strip(),)
        )
        if row is None or not row["active"] or not verify_password(password, row["password_hash"]):
            await self.audit(row["id"] if row is not None else None, "login.failed", username[:50], "", at)
            return None
        account = _account(row)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        await self.db.execute_atomic(
            "INSERT INTO staff_sessions (token_hash, account_id, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (_hash(token), account.id, csrf, to_db(at), to_db(at + timedelta(hours=SESSION_HOURS))),
        )
        await self.audit(account.id, "login", "", "", at)
        return Session(token, csrf, account)

    async def session(self, token: str, at: datetime) -> Session | None:
        """The live session of a cookie token: None when unknown, expired or the account is off."""
        if not token:
            return None
        row = await self.db.fetchone(
            "SELECT s.csrf, s.expires_at, a.id, a.username, a.display_name, a.role, a.unit, a.active "
            "FROM staff_sessions s JOIN staff_accounts a ON a.id = s.account_id WHERE s.token_hash = ?",
            (_hash(token),),
        )
        if row is None or not row["active"] or from_db(row["expires_at"]) <= at:
            return None
        return Session(token, row["csrf"], _account(row))

    async def logout(self, session: Session, at: datetime) -> None:
        await self.db.execute_atomic(
            "DELETE FROM staff_sessions WHERE token_hash = ?", (_hash(session.token),)
        )
        await self.audit(session.account.id, "logout", "", "", at)

    async def audit(
        self, account_id: int | None, action: str, target: str, detail: str, at: datetime
    ) -> None:
        await self.db.execute_atomic(
            "INSERT INTO staff_audit (account_id, action, target, detail, at) VALUES (?, ?, ?, ?, ?)",
            (account_id, action, target, detail, to_db(at)),
        )

    async def audit_log(self, limit: int = 200) -> list[tuple[int | None, str, str, str, datetime]]:
        rows = await self.db.fetchall(
            "SELECT account_id, action, target, detail, at FROM staff_audit ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [(r["account_id"], r["action"], r["target"], r["detail"], from_db(r["at"])) for r in rows]
