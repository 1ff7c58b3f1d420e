"""Staff roles, what each may see, and password hashing. Pure: no I/O.

Roles follow the hotline's division of work: the 12345 centre's 受理/派单员 see every order, a
承办单位 handler only their own unit's, 领导 and 监督员 read everything (and the reports), and the
管理员 manages accounts. A petitioner's phone is shown in full only to the handler of the unit that
holds the order; a confidential (保密) order's contact details to nobody else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from bot.workorder import WorkOrder
from intents.slots import mask_phone


class Role(StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    handler = "handler"
    leader = "leader"
    supervisor = "supervisor"


ROLE_LABELS: dict[Role, str] = {
    Role.admin: "管理员",
    Role.dispatcher: "受理/派单员",
    Role.handler: "承办单位",
    Role.leader: "领导",
    Role.supervisor: "监督员",
}


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    unit: str | None
    active: bool = True

    def may_see(self, order: WorkOrder) -> bool:
        """A handler sees only orders of their own unit; everyone else sees every order."""
        return self.role is not Role.handler or (order.unit is not None and order.unit == self.unit)

    def handles(self, order: WorkOrder) -> bool:
        return self.role is Role.handler and order.unit is not None and order.unit == self.unit

    def contact(self, order: WorkOrder) -> str:
        """The phone as this account may see it: in full only for the handler of the unit that
        holds the order (it must call back); masked for everyone else, and for a confidential
        (保密) order not shown at all."""
        if order.contact_phone is None:
            return "—"
        if self.handles(order):
            return order.contact_phone
        return HIDDEN if order.confidential else mask_phone(order.contact_phone)


HIDDEN = "（保密，仅承办单位可见）"

# scrypt (RFC 7914) with the parameters OWASP lists for it: memory-hard, in the standard library.
_N, _R, _P, _LEN = 2**14, 8, 1, 32
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash`, salt and hash in base64: everything needed to verify it later,
    so the parameters can be raised without invalidating stored hashes."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 个字符")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    return "$".join(("scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; False (never an exception) for a malformed stored hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
