"""Reports and exports, the staff inbox and knowledge-base upkeep at the staff console.

Sessions, CSRF and visibility: `bot.staff.base`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.staff.accounts import Role
from bot.staff.base import (
    NEW_ENTRY,
    READ_ONLY,
    XLSX,
    ConsoleBase,
)
from bot.staff.kb import KbEditError
from bot.staff.pages import esc, page, table
from knowledge.writer import entry_yaml


class UpkeepRoutes(ConsoleBase):
    """Reports and exports, the staff inbox, and knowledge-base upkeep."""

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
