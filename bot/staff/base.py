"""The staff console's shared parts: sessions, CSRF, visibility, rendering helpers.

The console is mounted at /staff by `bot.adapters.web.create_web_app`. Its routes live in `web`
(queue, orders), `chats` and `upkeep` (reports, inbox, knowledge base); they all build on
`ConsoleBase`.

Sessions: a random token in an HttpOnly, SameSite=Strict cookie (only its hash is stored) plus a
per-session CSRF token that every form posts back. Visibility is enforced on the server for pages
and the JSON API alike: a handler sees only their unit's orders, and asking for another unit's
order by URL answers 404, the same as an order that does not exist.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.app import KB_OVERLAY
from bot.core.engine import Core
from bot.core.flows.handoff import STATE as ESCALATED
from bot.schedule.producers import work_time_between
from bot.staff.accounts import Account, Role
from bot.staff.actions import ConsoleActions, canned_replies
from bot.staff.kb import KnowledgeEditor
from bot.staff.pages import esc, login_form, page
from bot.staff.reports import Reports
from bot.staff.store import SESSION_HOURS, Session, StaffStore
from bot.store.db import Database
from bot.store.orders import SqliteWorkOrderRepo
from bot.workdays import WorkCalendar
from bot.workorder import (
    TERMINAL,
    Status,
    WorkOrder,
)

COOKIE = "yiqiban_staff"
MAX_FORM = 16 * 1024
QUEUE_LIMIT = 500
NOT_FOUND = "没有这个工单，或您无权查看。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})  # never SVG: it runs
READ_ONLY = '<p class="muted">（只读：您的角色不能修改知识库）</p>'
NEW_ENTRY = """id: faq-local-001
kind: faq
category: 本地编辑
question: 这里写标准问题
answer: |
  这里写答复（写明办理方式、时限、材料等）。
paraphrases:
  - 用户的第一种问法
  - 用户的第二种问法
  - 用户的第三种问法
sample: true
"""


def sla(order: WorkOrder, now: datetime, calendar: WorkCalendar) -> tuple[str, bool]:
    """The order's clock as staff read it, and whether it is overdue."""
    if order.deadline is None or order.status in TERMINAL or order.status is Status.resolved:
        return ("—", False)
    if order.deadline < now:
        days = calendar.workdays_between(order.deadline, now)
        late = (
            f"{days} 个工作日"
            if days
            else f"{max(1, int((now - order.deadline).total_seconds() // 3600))} 小时"
        )
        return (f"超期 {late}", True)
    left = work_time_between(calendar, now, order.deadline).total_seconds() / 3600
    return (f"剩余 {left:.1f} 工作小时", False)


class ConsoleBase:
    """State and helpers every group of console routes uses."""

    def __init__(
        self, core: Core, db: Database, clock: Callable[[], datetime], wake: Callable[[], None]
    ) -> None:
        self.core, self.db, self.clock, self.calendar = core, db, clock, core.deps.calendar
        self.staff, self.orders = StaffStore(db), SqliteWorkOrderRepo(db)
        self.actions = ConsoleActions(db, core.deps.tickets, clock, wake)
        self.kb = KnowledgeEditor(core, db.path.parent / KB_OVERLAY, self.staff, clock)
        self.reports = Reports(core.deps.tickets, core.deps.calendar)

    # -- sessions -----------------------------------------------------------------------------------

    async def _session(self, request: Request) -> Session | None:
        return await self.staff.session(request.cookies.get(COOKIE, ""), self.clock())

    @staticmethod
    async def _form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM:
            return {}
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    async def login_page(self, request: Request) -> Response:
        if await self._session(request) is not None:
            return RedirectResponse("/staff/", status_code=303)
        return HTMLResponse(login_form())

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        username, password = form.get("username", ""), form.get("password", "")
        session = await self.staff.login(username, password, self.clock())
        if session is None:
            return HTMLResponse(login_form("用户名或密码不正确。", username), status_code=401)
        response = RedirectResponse("/staff/", status_code=303)
        response.set_cookie(
            COOKIE,
            session.token,
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/staff",
        )
        return response

    async def logout(self, request: Request) -> Response:
        session = await self._session(request)
        if session is not None and self._csrf_ok(session, await self._form(request)):
            await self.staff.logout(session, self.clock())
        response = RedirectResponse("/staff/login", status_code=303)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    @staticmethod
    def _csrf_ok(session: Session, form: dict[str, str]) -> bool:
        return hmac.compare_digest(form.get("csrf", ""), session.csrf)

    async def _posted(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        """The session and form of a POST, or the response refusing it (no session, bad CSRF)."""
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        form = await self._form(request)
        if not self._csrf_ok(session, form):
            return HTMLResponse(page("错误", "<p>页面已过期，请刷新后重试。</p>"), status_code=403)
        return session, form

    async def _order_for(self, session: Session, number: str) -> WorkOrder | None:
        order = await self.orders.get(number)
        if order is None or not session.account.may_see(order):
            await self.staff.audit(session.account.id, "order.denied", number[:40], "", self.clock())
            return None
        return order

    async def _escalated(self) -> list[dict[str, str]]:
        rows = await self.db.fetchall(
            "SELECT d.channel, d.chat_id, d.updated_at, (SELECT m.text FROM messages m "
            "WHERE m.channel = d.channel AND m.chat_id = d.chat_id AND m.direction = 'in' "
            "ORDER BY m.id DESC LIMIT 1) AS last "
            "FROM dialogs d WHERE d.state = ? ORDER BY d.updated_at",
            (ESCALATED,),
        )
        return [{k: str(r[k] or "") for k in ("channel", "chat_id", "updated_at", "last")} for r in rows]

    def _may_chat(self, account: Account) -> bool:
        """Escalated chats are the 12345 centre's (no unit holds them yet)."""
        return account.role in (Role.admin, Role.dispatcher)

    @staticmethod
    def _reply_form(action: str, csrf: str) -> str:
        options = "".join(f"<option>{esc(c)}</option>" for c in canned_replies())
        return (
            f'<form method="post" action="{esc(action)}" class="box"><h3>回复用户</h3>'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            '<p><textarea name="text" rows="3" cols="60" placeholder="输入回复；留空则发送所选常用语">'
            "</textarea></p>"
            f'<p>常用语 <select name="canned">{options}</select> <button>发送</button></p></form>'
        )

    async def _transcript(self, order: WorkOrder) -> str:
        """The petitioner's chat messages (every channel they used), as text, never as HTML."""
        rows = await self.db.fetchall(
            "SELECT m.direction, m.text, m.button, m.at FROM messages m JOIN identities i "
            "ON i.channel = m.channel AND i.external_id = m.chat_id WHERE i.person_id = ? "
            "ORDER BY m.id DESC LIMIT 200",
            (order.petitioner,),
        )
        return _lines(list(reversed(rows)))


def _lines(rows: list[Any]) -> str:
    """Messages as text lines (never as HTML), oldest first."""
    if not rows:
        return '<p class="muted">（无对话记录）</p>'
    lines = []
    for r in rows:
        who = "用户" if r["direction"] == "in" else "机器人/工作人员"
        said = r["text"] if r["text"] is not None else f"[按钮 {r['button']}]"
        lines.append(
            f'<p class="msg-{esc(r["direction"])}"><span class="muted">{esc(r["at"][:16])} {who}：</span>'
            f"{esc(said)}</p>"
        )
    return "".join(lines)
