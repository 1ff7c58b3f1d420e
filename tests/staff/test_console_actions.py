"""The console's write side: replying to a waiting chat or an order's petitioner (through the
durable schedule, to the user's own web chat), internal notes, lifecycle actions, CSRF."""

from __future__ import annotations

from typing import Any

from bot.calendar_config import load_calendar
from bot.schedule.runner import Scheduler
from bot.staff.accounts import Role
from tests.staff.conftest import Console


async def web_user(console: Console) -> tuple[dict[str, str], str]:
    token = (await console.client.post("/api/sessions")).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    await console.client.post("/api/messages", json={"text": "你好"}, headers=auth)
    chat = await console.db.fetchone(
        "SELECT chat_id FROM messages WHERE channel = 'web' ORDER BY id DESC LIMIT 1"
    )
    assert chat is not None
    return auth, str(chat["chat_id"])


async def pending(console: Console, auth: dict[str, str]) -> list[str]:
    return [
        m["text"]
        for m in (await console.client.get("/api/messages/pending", headers=auth)).json()["messages"]
    ]


def scheduler(console: Console) -> Scheduler:
    return Scheduler(console.db, clock=console.clock, calendar=load_calendar(), tickets=console.tickets)


async def test_a_waiting_chat_is_answered_from_the_console_and_handed_back(console: Console) -> None:
    auth, chat_id = await web_user(console)
    asked = await console.client.post("/api/messages", json={"text": "转人工"}, headers=auth)
    assert "人工" in asked.json()["replies"][0]["text"]
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    queue = (await console.client.get("/staff/")).text
    assert "待人工回复" in queue and f"/staff/chats/web/{chat_id}" in queue

    chat_page = (await console.client.get(f"/staff/chats/web/{chat_id}")).text
    assert "转人工" in chat_page
    csrf = await console.csrf()
    sent = await console.client.post(
        f"/staff/chats/web/{chat_id}/reply", data={"csrf": csrf, "text": "您好，我是 12345 的王芳，请讲。"}
    )
    assert sent.status_code == 303
    assert (await scheduler(console).tick()).sent == 1
    assert await pending(console, auth) == ["【工作人员】您好，我是 12345 的王芳，请讲。"]

    ended = await console.client.post(f"/staff/chats/web/{chat_id}/end", data={"csrf": csrf})
    assert ended.status_code == 303
    await scheduler(console).tick()
    assert "人工服务已结束" in (await pending(console, auth))[0]
    assert "待人工回复" in (await console.client.get("/staff/")).text  # the heading stays …
    assert (
        f"/staff/chats/web/{chat_id}" not in (await console.client.get("/staff/")).text
    )  # … the chat is gone
    log = [a for _, a, *_ in await console.staff.audit_log()]
    assert "reply" in log and "chat.end" in log


async def test_an_order_is_worked_from_the_console(console: Console) -> None:
    auth, _ = await web_user(console)
    person = await console.db.fetchone("SELECT person_id FROM identities WHERE channel = 'web'")
    order = await console.order(None, petitioner=str(person["person_id"]))
    await console.account("centre1", Role.dispatcher)
    await console.account("urban1", Role.handler, "urban")
    await console.account("housing1", Role.handler, "housing")

    await console.login("centre1")
    csrf = await console.csrf()
    path = f"/staff/orders/{order.number}"
    for form in ({"action": "accept"}, {"action": "dispatch", "unit": "urban"}):
        assert (await console.client.post(f"{path}/act", data={"csrf": csrf, **form})).status_code == 303
    refused = await console.client.post(
        f"{path}/act", data={"csrf": csrf, "action": "resolve", "result": "x"}
    )
    assert refused.status_code == 400 and "您的角色不能执行这个操作" in refused.text
    await console.client.post(f"{path}/note", data={"csrf": csrf, "text": "<b>请尽快</b>，该企业已多次反映"})
    await console.client.post(
        f"{path}/reply", data={"csrf": csrf, "text": "", "canned": "您好，该事项已转交相关单位办理。"}
    )

    await console.login("housing1")  # another unit: neither the page nor any action
    other_csrf = await console.csrf()
    for suffix in ("", "/note", "/act", "/reply"):
        method = console.client.get if not suffix else console.client.post
        kwargs: dict[str, Any] = (
            {} if not suffix else {"data": {"csrf": other_csrf, "action": "acknowledge", "text": "x"}}
        )
        assert (await method(f"{path}{suffix}", **kwargs)).status_code == 404

    await console.login("urban1")
    csrf = await console.csrf()
    page = (await console.client.get(path)).text
    assert "&lt;b&gt;请尽快&lt;/b&gt;" in page and "13812345678" in page  # the note, the full phone
    assert (
        await console.client.post(f"{path}/act", data={"csrf": "forged", "action": "acknowledge"})
    ).status_code == 403
    for form in ({"action": "acknowledge"}, {"action": "resolve", "result": "已修复道路。"}):
        assert (await console.client.post(f"{path}/act", data={"csrf": csrf, **form})).status_code == 303
    done = await console.tickets.get(order.number)
    assert done.status.value == "resolved" and done.result == "已修复道路。"
    events = await console.tickets.repo.events(order.number)
    assert [e.by for e in events[-2:]] == ["staff:urban1", "staff:urban1"]

    await scheduler(console).run_due()
    texts = await pending(console, auth)
    assert "【工作人员】您好，该事项已转交相关单位办理。" in texts
    assert any("已办结" in t for t in texts)  # the notice of the change itself
