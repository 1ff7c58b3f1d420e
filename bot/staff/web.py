"""The staff console's queue and order routes, and the Starlette app that mounts every route of
the console at /staff (`create_staff_app`, used by `bot.adapters.web.create_web_app`).

Sessions, CSRF and who may see what: `bot.staff.base`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.core.engine import Core
from bot.core.flows.handoff import STATE as ESCALATED
from bot.dispatch import unit_name
from bot.staff.accounts import ROLE_LABELS, Account, Role
from bot.staff.actions import REOPEN, allowed_actions
from bot.staff.base import (
    INLINE_TYPES,
    NOT_FOUND,
    QUEUE_LIMIT,
    ConsoleBase,
    sla,
)
from bot.staff.chats import ChatRoutes
from bot.staff.pages import esc, fields, page, select, table
from bot.staff.store import Session
from bot.staff.upkeep import UpkeepRoutes
from bot.store.db import Database, StoreError
from bot.workorder import (
    ACTION_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    URGENCY_LABELS,
    OrderType,
    Status,
    Urgency,
    WorkOrder,
)


class StaffConsole(ChatRoutes, UpkeepRoutes, ConsoleBase):
    """The queue and the order pages; the other routes come from the groups it inherits."""

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
