"""The staff console's routes, mounted at /staff by `bot.adapters.web.create_web_app`.

Sessions: a random token in an HttpOnly, SameSite=Strict cookie (only its hash is stored) plus a
per-session CSRF token that every form posts back. Visibility is enforced on the server for pages
and the JSON API alike: a handler sees only their unit's orders, and asking for another unit's
order by URL answers 404, the same as an order that does not exist.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.app import KB_OVERLAY
from bot.core.engine import Core
from bot.core.flows.handoff import STATE as ESCALATED
from bot.core.messages import Address
from bot.dispatch import unit_name
from bot.schedule.producers import work_time_between
from bot.staff.accounts import ROLE_LABELS, Account, Role
from bot.staff.actions import REOPEN, ConsoleActions, allowed_actions, canned_replies
from bot.staff.kb import KbEditError, KnowledgeEditor
from bot.staff.pages import esc, fields, login_form, page, select, table
from bot.staff.reports import Reports
from bot.staff.store import SESSION_HOURS, Session, StaffStore
from bot.store.db import Database, StoreError
from bot.store.orders import SqliteWorkOrderRepo
from bot.workdays import WorkCalendar
from bot.workorder import (
    ACTION_LABELS,
    STATUS_LABELS,
    TERMINAL,
    TYPE_LABELS,
    URGENCY_LABELS,
    OrderType,
    Status,
    Urgency,
    WorkOrder,
)
from knowledge.writer import entry_yaml

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


class StaffConsole:
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

    # -- the queue ----------------------------------------------------------------------------------

    async def _visible(self, account: Account, q: dict[str, str]) -> list[WorkOrder]:
        """The orders `account` may see, filtered by `q` (unit, status, type, urgency, overdue)."""
        unit = account.unit if account.role.value == "handler" else (q.get("unit") or None)
        status = Status(q["status"]) if q.get("status") in Status.__members__ else None
        found = await self.orders.list(status=status, unit=unit, limit=QUEUE_LIMIT)
        now = self.clock()
        out = []
        for o in found:
            if not account.may_see(o):
                continue
            if q.get("type") and o.type.value != q["type"]:
                continue
            if q.get("urgency") and o.urgency.value != q["urgency"]:
                continue
            if q.get("overdue") and not sla(o, now, self.calendar)[1]:
                continue
            out.append(o)
        return out

    async def queue(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        account, q = session.account, dict(request.query_params)
        orders = await self._visible(account, q)
        now = self.clock()
        rows = []
        for o in orders:
            clock_text, late = sla(o, now, self.calendar)
            rows.append(
                [
                    f'<a href="/staff/orders/{esc(o.number)}">{esc(o.number)}</a>',
                    esc(STATUS_LABELS[o.status]),
                    esc(TYPE_LABELS[o.type]),
                    esc(URGENCY_LABELS[o.urgency]),
                    esc(unit_name(o.unit or "") if o.unit else "（未派单）"),
                    esc(o.content[:60]),
                    f'<span class="{"overdue" if late else "ok"}">{esc(clock_text)}</span>',
                ]
            )
        unit_filter = (
            ""
            if account.role.value == "handler"
            else f'<input name="unit" placeholder="承办单位" value="{esc(q.get("unit", ""))}">'
        )
        filters = (
            '<form class="filters" method="get" action="/staff/">'
            f"{unit_filter}"
            f"{select('status', ((s.value, STATUS_LABELS[s]) for s in Status), q.get('status', ''), '状态')}"
            f"{select('type', ((t.value, TYPE_LABELS[t]) for t in OrderType), q.get('type', ''), '类型')}"
            + select(
                "urgency", ((u.value, URGENCY_LABELS[u]) for u in Urgency), q.get("urgency", ""), "紧急程度"
            )
            + '<label><input type="checkbox" name="overdue" value="1"'
            + (" checked" if q.get("overdue") else "")
            + ">只看超期</label><button>筛选</button></form>"
        )
        where = f"·{account.unit}" if account.unit else ""
        who = f"{account.display_name}（{ROLE_LABELS[account.role]}{where}）"
        chats = ""
        if self._may_chat(account):
            waiting = await self._escalated()
            chat_rows = (
                [
                    f'<a href="/staff/chats/{esc(c["channel"])}/{esc(c["chat_id"])}">'
                    f"{esc(c['channel'])}:{esc(c['chat_id'])}</a>",
                    esc(c["updated_at"][:16]),
                    esc(c["last"][:80]),
                ]
                for c in waiting
            )
            chats = f"<h2>待人工回复 <small class='muted'>{len(waiting)} 个会话</small></h2>" + table(
                ["会话", "转人工时间", "用户最后一句"], chat_rows
            )
        body = (
            chats
            + f"<h2>工单队列 <small class='muted'>{len(orders)} 件</small></h2>{filters}"
            + table(["工单号", "状态", "类型", "紧急程度", "承办单位", "内容", "时限"], rows)
        )
        version = await self._version(account)
        live = (  # no CDN, no build: poll a fingerprint of the queue, reload when it changes
            f"<script>(function(){{var v={json.dumps(version)};setInterval(function(){{"
            "fetch('/staff/api/version',{credentials:'same-origin'}).then(function(r){return r.json()})"
            ".then(function(d){if(d.version!==v){location.reload()}}).catch(function(){})},3000)})()</script>"
        )
        return HTMLResponse(page("工单队列", body + live, user=who, csrf=session.csrf))

    async def _version(self, account: Account) -> str:
        """Changes whenever an order is filed or changes, or a chat starts or stops waiting."""
        row = await self.db.fetchone(
            "SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM work_orders), "
            "(SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM dialogs WHERE state = ?)",
            (ESCALATED,),
        )
        return f"{row[0]}|{row[1] if self._may_chat(account) else ''}" if row is not None else ""

    async def api_version(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return JSONResponse({"error": "请先登录。"}, status_code=401)
        return JSONResponse({"version": await self._version(session.account)})

    async def api_orders(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return JSONResponse({"error": "请先登录。"}, status_code=401)
        now = self.clock()
        orders = await self._visible(session.account, dict(request.query_params))
        return JSONResponse({"orders": [self._order_json(session.account, o, now) for o in orders]})

    def _order_json(self, account: Account, o: WorkOrder, now: datetime) -> dict[str, Any]:
        clock_text, late = sla(o, now, self.calendar)
        return {
            "number": o.number,
            "status": o.status.value,
            "type": o.type.value,
            "urgency": o.urgency.value,
            "unit": o.unit,
            "content": o.content,
            "contact_phone": account.contact(o),
            "deadline": o.deadline.isoformat() if o.deadline else None,
            "sla": clock_text,
            "overdue": late,
        }

    # -- one order ----------------------------------------------------------------------------------

    async def _order_for(self, session: Session, number: str) -> WorkOrder | None:
        order = await self.orders.get(number)
        if order is None or not session.account.may_see(order):
            await self.staff.audit(session.account.id, "order.denied", number[:40], "", self.clock())
            return None
        return order

    async def order_page(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        number = request.path_params["number"]
        order = await self._order_for(session, number)
        if order is None:
            return HTMLResponse(page("工单", f"<p>{esc(NOT_FOUND)}</p>", user=session.account.display_name,
                                     csrf=session.csrf), status_code=404)  # fmt: skip
        await self.staff.audit(session.account.id, "order.view", order.number, "", self.clock())
        return await self._order_view(session, order)

    async def _order_view(
        self, session: Session, order: WorkOrder, error: str = "", status: int = 200
    ) -> Response:
        account, now = session.account, self.clock()
        clock_text, late = sla(order, now, self.calendar)
        info = fields(
            {
                "状态": esc(STATUS_LABELS[order.status]),
                "类型": esc(TYPE_LABELS[order.type]),
                "承办单位": esc(unit_name(order.unit) if order.unit else "（未派单）"),
                "内容": esc(order.content),
                "联系电话": esc(account.contact(order)),
                "地点": esc(order.location or "—"),
                "时限": f'<span class="{"overdue" if late else "ok"}">{esc(clock_text)}</span>',
            }
        )
        events = await self.orders.events(order.number)
        timeline = table(
            ["时间", "操作", "操作人", "备注"],
            (
                [esc(f"{e.at:%Y-%m-%d %H:%M}"), esc(ACTION_LABELS[e.action]), esc(e.by), esc(e.note)]
                for e in events
            ),
        )
        notes = await self.actions.notes(order.number)
        note_rows = "".join(
            f'<p><span class="muted">{esc(f"{at:%m-%d %H:%M}")} {esc(who)}：</span>{esc(text)}</p>'
            for who, text, at in notes
        )
        base, csrf = f"/staff/orders/{esc(order.number)}", esc(session.csrf)
        note_form = (
            f'<form method="post" action="{base}/note" class="box"><h3>内部备注（用户看不到）</h3>{note_rows}'
            f'<input type="hidden" name="csrf" value="{csrf}">'
            '<p><textarea name="text" rows="2" cols="60"></textarea> <button>记录</button></p></form>'
        )
        choices = [(a.value, ACTION_LABELS[a]) for a in allowed_actions(account, order)]
        if account.role in (Role.admin, Role.dispatcher):
            choices.append((REOPEN, "重办（登记不满意）"))
        act_form = ""
        if choices:
            act_form = (
                f'<form method="post" action="{base}/act" class="box"><h3>办理</h3>'
                f'<input type="hidden" name="csrf" value="{csrf}">'
                f"<p>{select('action', choices, '')}"
                ' <input name="unit" placeholder="承办单位（派单）">'
                ' <input name="reason" placeholder="原因代码（退单/不予受理）">'
                ' <input name="days" placeholder="延期天数" size="6">'
                ' <input name="result" placeholder="办理结果（办结）">'
                " <button>执行</button></p></form>"
            )
        transcript = await self._transcript(order)
        files = await self._files(order)
        message = f'<p class="error">{esc(error)}</p>' if error else ""
        body = (
            f"<h2>工单 {esc(order.number)}</h2>{message}<div class='box'>{info}{files}</div>{act_form}"
            + self._reply_form(f"{base}/reply", session.csrf)
            + f"{note_form}<h3>办理记录</h3>{timeline}<h3>对话记录</h3><div class='box'>{transcript}</div>"
        )
        return HTMLResponse(
            page(order.number, body, user=account.display_name, csrf=session.csrf), status_code=status
        )

    async def _files(self, order: WorkOrder) -> str:
        store = self.core.deps.attachments
        found = await store.list(self.db, order.number) if store is not None else []
        if not found:
            return ""
        links = "、".join(
            f'<a href="/staff/orders/{esc(order.number)}/files/{i}">{esc(a.name)}</a>'
            f"（{a.size // 1024 + 1} KB）"
            for i, a in enumerate(found)
        )
        return f"<p>附件：{links}</p>"

    async def order_file(self, request: Request) -> Response:
        """One attachment: pictures shown inline, anything else downloaded; never sniffed as HTML."""
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        order = await self._order_for(session, request.path_params["number"])
        store = self.core.deps.attachments
        found = await store.list(self.db, order.number) if order is not None and store is not None else []
        index = request.path_params["index"]
        if order is None or store is None or not 0 <= index < len(found):
            return HTMLResponse(page("附件", f"<p>{esc(NOT_FOUND)}</p>"), status_code=404)
        att = found[index]
        await self.staff.audit(session.account.id, "order.file", order.number, att.name, self.clock())
        inline = att.media_type in INLINE_TYPES
        disposition = "inline" if inline else "attachment"
        safe_name = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in ".-_" else "_" for ch in att.name)
        return Response(
            store.read(att),
            media_type=att.media_type if inline else "application/octet-stream",
            headers={
                "Content-Disposition": f'{disposition}; filename="{safe_name}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def api_order(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return JSONResponse({"error": "请先登录。"}, status_code=401)
        order = await self._order_for(session, request.path_params["number"])
        if order is None:
            return JSONResponse({"error": NOT_FOUND}, status_code=404)
        return JSONResponse(self._order_json(session.account, order, self.clock()))

    # -- writing ------------------------------------------------------------------------------------

    async def _posted(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        """The session and form of a POST, or the response refusing it (no session, bad CSRF)."""
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        form = await self._form(request)
        if not self._csrf_ok(session, form):
            return HTMLResponse(page("错误", "<p>页面已过期，请刷新后重试。</p>"), status_code=403)
        return session, form

    async def _order_post(
        self, request: Request, do: Callable[[Session, WorkOrder, dict[str, str]], Awaitable[object]]
    ) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        order = await self._order_for(session, request.path_params["number"])
        if order is None:
            return HTMLResponse(page("工单", f"<p>{esc(NOT_FOUND)}</p>"), status_code=404)
        try:
            await do(session, order, form)
        except (ValueError, LookupError, StoreError) as exc:  # refusals name the rule
            return await self._order_view(session, order, error=str(exc), status=400)
        return RedirectResponse(f"/staff/orders/{order.number}", status_code=303)

    async def order_reply(self, request: Request) -> Response:
        async def do(session: Session, order: WorkOrder, form: dict[str, str]) -> None:
            text = form.get("text", "").strip() or form.get("canned", "")
            await self.actions.reply(session.account, order.number, text)

        return await self._order_post(request, do)

    async def order_note(self, request: Request) -> Response:
        async def do(session: Session, order: WorkOrder, form: dict[str, str]) -> None:
            await self.actions.note(session.account, order.number, form.get("text", ""))

        return await self._order_post(request, do)

    async def order_act(self, request: Request) -> Response:
        async def do(session: Session, order: WorkOrder, form: dict[str, str]) -> None:
            await self.actions.act(session.account, order, form.get("action", ""), form)

        return await self._order_post(request, do)

    # -- escalated chats ------------------------------------------------------------------------------

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

    async def chat_page(self, request: Request, error: str = "") -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        if not self._may_chat(session.account):
            return HTMLResponse(page("会话", "<p>无权查看。</p>"), status_code=404)
        address = Address(request.path_params["channel"], request.path_params["chat_id"])
        transcript = await self._chat_transcript(address)
        base = f"/staff/chats/{esc(address.channel)}/{esc(address.chat_id)}"
        message = f'<p class="error">{esc(error)}</p>' if error else ""
        body = (
            f"<h2>人工服务会话 {esc(address.channel)}:{esc(address.chat_id)}</h2>{message}"
            f"<div class='box'>{transcript}</div>"
            + self._reply_form(f"{base}/reply", session.csrf)
            + f'<form method="post" action="{base}/end">'
            f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
            "<button>结束人工服务</button></form>"
        )
        return HTMLResponse(page("会话", body, user=session.account.display_name, csrf=session.csrf))

    async def chat_reply(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        if not self._may_chat(session.account):
            return HTMLResponse(page("会话", "<p>无权查看。</p>"), status_code=404)
        address = Address(request.path_params["channel"], request.path_params["chat_id"])
        try:
            await self.actions.reply(
                session.account, address, form.get("text", "").strip() or form.get("canned", "")
            )
        except ValueError as exc:
            return await self.chat_page(request, error=str(exc))
        return RedirectResponse(f"/staff/chats/{address.channel}/{address.chat_id}", status_code=303)

    async def chat_end(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, _ = posted
        if not self._may_chat(session.account):
            return HTMLResponse(page("会话", "<p>无权查看。</p>"), status_code=404)
        address = Address(request.path_params["channel"], request.path_params["chat_id"])
        if await self.core.end_escalation(address):
            await self.actions.reply(
                session.account, address, "本次人工服务已结束，如有需要可以随时再联系我们。"
            )
        await self.staff.audit(
            session.account.id, "chat.end", f"{address.channel}:{address.chat_id}", "", self.clock()
        )
        return RedirectResponse("/staff/", status_code=303)

    async def _chat_transcript(self, address: Address) -> str:
        rows = await self.db.fetchall(
            "SELECT direction, text, button, at FROM messages WHERE channel = ? AND chat_id = ? "
            "ORDER BY id DESC LIMIT 200",
            (address.channel, address.chat_id),
        )
        return _lines(list(reversed(rows)))

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

    # -- reports and the staff inbox -----------------------------------------------------------------

    async def reports_page(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        try:
            body = await self.reports.page(session.account, self.clock(), request.query_params.get("month"))
        except ValueError as exc:
            body, status = f'<p class="error">{esc(exc)}</p>', 400
        else:
            status = 200
        await self.staff.audit(
            session.account.id, "reports.view", request.query_params.get("month", ""), "", self.clock()
        )
        return HTMLResponse(
            page("报表", body, user=session.account.display_name, csrf=session.csrf), status_code=status
        )

    async def reports_export(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        kind = request.path_params["kind"]
        if kind not in ("csv", "xlsx"):
            return HTMLResponse(page("报表", "<p>只能导出 CSV 或 Excel（xlsx）。</p>"), status_code=404)
        month = request.query_params.get("month")
        try:
            data = await self.reports.export(session.account, self.clock(), month, kind)
        except ValueError as exc:
            return HTMLResponse(page("报表", f'<p class="error">{esc(exc)}</p>'), status_code=400)
        await self.staff.audit(session.account.id, f"export.{kind}", month or "", "", self.clock())
        media = "text/csv; charset=utf-8" if kind == "csv" else XLSX
        name = f"orders-{month or 'this-month'}.{kind}"
        return Response(
            data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    async def inbox(self, request: Request) -> Response:
        """Reminders, warnings, 催办, 督办 and summaries the scheduler delivered to staff."""
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        account = session.account
        where, params = ("WHERE unit = ?", (account.unit,)) if account.role is Role.handler else ("", ())
        rows = await self.db.fetchall(
            f"SELECT audience, unit, kind, text, created_at FROM staff_inbox {where} "
            "ORDER BY id DESC LIMIT 200",
            params,
        )
        shown = ([esc(r["created_at"][:16]), esc(r["unit"]), esc(r["kind"]), esc(r["text"])] for r in rows)
        body = "<h2>工作消息</h2>" + table(["时间", "对象", "种类", "内容"], shown)
        return HTMLResponse(page("工作消息", body, user=account.display_name, csrf=session.csrf))

    # -- knowledge base ------------------------------------------------------------------------------

    async def kb_list(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        q = request.query_params.get("q", "").strip()
        entries = [e for e in self.kb.kb if not q or q in e.id or q in e.title or q in e.category]
        rows = (
            [
                f'<a href="/staff/kb/{esc(e.id)}">{esc(e.id)}</a>',
                esc(e.title),
                esc(e.kind),
                esc(e.category),
                "示例数据" if e.sample else "有出处",
            ]
            for e in entries
        )
        add = '<p><a href="/staff/kb/new">新增条目</a></p>' if self.kb.may_edit(session.account) else ""
        body = (
            f"<h2>知识库 <small class='muted'>{len(entries)} 条</small></h2>{add}"
            '<form class="filters" method="get">'
            f'<input name="q" value="{esc(q)}" placeholder="编号、标题或类别">'
            "<button>搜索</button></form>" + table(["编号", "标题", "类型", "类别", "来源"], rows)
        )
        return HTMLResponse(page("知识库", body, user=session.account.display_name, csrf=session.csrf))

    async def kb_entry(
        self, request: Request, text: str | None = None, error: str = "", status: int = 200
    ) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/staff/login", status_code=303)
        entry_id = request.path_params.get("entry_id", "")
        entry = self.kb.kb.get(entry_id) if entry_id else None
        if entry_id and entry is None:
            return HTMLResponse(page("知识库", "<p>没有这个条目。</p>"), status_code=404)
        if text is None:
            text = entry_yaml(entry) if entry is not None else NEW_ENTRY
        editable = self.kb.may_edit(session.account)
        message = f'<p class="error">{esc(error)}</p>' if error else ""
        form = (
            f'<form method="post" action="/staff/kb/save" class="box"><input type="hidden" name="csrf" '
            f'value="{esc(session.csrf)}"><input type="hidden" name="expected" value="{esc(entry_id)}">'
            f'<p><textarea name="text" rows="24" cols="100"{"" if editable else " readonly"}>'
            f"{esc(text)}</textarea></p>"
            + ("<p><button>保存并立即生效</button></p>" if editable else READ_ONLY)
            + "</form>"
        )
        title = f"条目 {entry_id}" if entry_id else "新增条目"
        body = f"<h2>{esc(title)}</h2>{message}{form}"
        return HTMLResponse(
            page("知识库", body, user=session.account.display_name, csrf=session.csrf), status_code=status
        )

    async def kb_save(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        expected = form.get("expected") or None
        try:
            entry = await self.kb.save(session.account, form.get("text", ""), expected)
        except KbEditError as exc:
            request.path_params["entry_id"] = expected or ""
            return await self.kb_entry(request, text=form.get("text", ""), error=str(exc), status=400)
        return RedirectResponse(f"/staff/kb/{entry.id}", status_code=303)

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


def create_staff_app(
    core: Core, db: Database, *, clock: Callable[[], datetime], wake: Callable[[], None] = lambda: None
) -> Starlette:
    """`wake`: called after a reply is scheduled (serve passes the scheduler's poke)."""
    console = StaffConsole(core, db, clock, wake)
    return Starlette(
        routes=[
            Route("/", console.queue),
            Route("/login", console.login_page),
            Route("/login", console.login, methods=["POST"]),
            Route("/logout", console.logout, methods=["POST"]),
            Route("/orders/{number}", console.order_page),
            Route("/api/orders", console.api_orders),
            Route("/api/version", console.api_version),
            Route("/kb", console.kb_list),
            Route("/reports", console.reports_page),
            Route("/reports/orders.{kind:str}", console.reports_export),
            Route("/inbox", console.inbox),
            Route("/kb/new", console.kb_entry),
            Route("/kb/save", console.kb_save, methods=["POST"]),
            Route("/kb/{entry_id}", console.kb_entry),
            Route("/api/orders/{number}", console.api_order),
            Route("/orders/{number}/reply", console.order_reply, methods=["POST"]),
            Route("/orders/{number}/files/{index:int}", console.order_file),
            Route("/orders/{number}/note", console.order_note, methods=["POST"]),
            Route("/orders/{number}/act", console.order_act, methods=["POST"]),
            Route("/chats/{channel}/{chat_id}", console.chat_page),
            Route("/chats/{channel}/{chat_id}/reply", console.chat_reply, methods=["POST"]),
            Route("/chats/{channel}/{chat_id}/end", console.chat_end, methods=["POST"]),
        ]
    )
