"""Chats waiting for a person (转人工) at the staff console.

Sessions, CSRF and visibility: `bot.staff.base`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.core.messages import Address
from bot.staff.base import (
    ConsoleBase,
    _lines,
)
from bot.staff.pages import esc, page


class ChatRoutes(ConsoleBase):
    """Chats waiting for a person (转人工): read, answer, hand back to the bot."""

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
