"""The staff console through HTTP: login, the queue, one order, who may see what."""

from __future__ import annotations

import asyncio
import io
import sys
from typing import Any

import pytest

from bot.cli import main
from bot.staff.accounts import MIN_PASSWORD, Role, hash_password, verify_password
from tests.staff.conftest import PASSWORD, Console


def test_passwords_are_scrypt_hashes_that_verify() -> None:
    stored = hash_password("一个足够长的密码 2026")
    assert stored.startswith("scrypt$16384$8$1$") and "足够" not in stored
    assert verify_password("一个足够长的密码 2026", stored)
    assert not verify_password("一个足够长的密码 2027", stored)
    assert not verify_password("x", "not-a-hash") and not verify_password("x", "scrypt$1$2$3$@@$@@")
    assert hash_password("一个足够长的密码 2026") != stored  # salted
    with pytest.raises(ValueError, match=str(MIN_PASSWORD)):
        hash_password("short")


async def test_accounts_are_refused_politely_when_incomplete(console: Console) -> None:
    await console.account("admin", Role.admin)
    with pytest.raises(ValueError, match="已存在"):
        await console.account("ADMIN", Role.dispatcher)  # names are case-insensitive
    with pytest.raises(ValueError, match="必须指定单位"):
        await console.account("h1", Role.handler)


async def test_staff_add_from_the_cli_then_log_in(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    args = ["staff", "add", "wangfang", "--role", "admin", "--name", "王芳", "--password-stdin"]
    db = ["--db", str(console.db.path)]
    code = await asyncio.to_thread(main, [*args, *db], out)
    assert code == 0 and "已创建账号 wangfang（管理员）" in out.getvalue()

    assert (await console.client.get("/staff/")).headers["location"] == "/staff/login"
    refused = await console.login("wangfang", "wrong password!!")
    assert refused.status_code == 401 and "用户名或密码不正确" in refused.text
    assert (await console.login("nobody")).status_code == 401  # the same answer as a wrong password
    ok = await console.login("wangfang")
    assert ok.status_code == 303 and ok.headers["location"] == "/staff/"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/staff" in cookie
    page = await console.client.get("/staff/")
    assert page.status_code == 200 and "王芳（管理员）" in page.text
    log = await console.staff.audit_log()
    assert [a for _, a, *_ in log][:3] == ["login", "login.failed", "login.failed"]


async def test_a_handler_sees_only_their_units_orders(console: Console) -> None:
    mine = await console.order("urban", content="占道经营，影响通行")
    theirs = await console.order("housing", content="小区楼道堆放杂物")
    unassigned = await console.order(None, content="还没有派单的诉求")
    await console.account("urban1", Role.handler, "urban")
    await console.account("centre1", Role.dispatcher)

    await console.login("urban1")
    queue = (await console.client.get("/staff/")).text
    assert mine.number in queue and theirs.number not in queue and unassigned.number not in queue
    api = (await console.client.get("/staff/api/orders", params={"unit": "housing"})).json()["orders"]
    assert [o["number"] for o in api] == [mine.number]  # the unit filter cannot widen a handler's view
    for path in (f"/staff/orders/{theirs.number}", f"/staff/api/orders/{theirs.number}"):
        denied = await console.client.get(path)
        assert denied.status_code == 404 and "无权查看" in denied.text
    assert (await console.client.get(f"/staff/orders/{mine.number}")).status_code == 200
    log = await console.staff.audit_log()
    assert ("order.denied", theirs.number) in [(a, t) for _, a, t, *_ in log]

    await console.login("centre1")
    everything = [o["number"] for o in (await console.client.get("/staff/api/orders")).json()["orders"]]
    assert {mine.number, theirs.number, unassigned.number} <= set(everything)


async def test_phones_are_masked_except_for_the_handling_unit(console: Console) -> None:
    plain = await console.order("urban")
    secret = await console.order("urban", confidential=True, contact_phone="13900001111")
    await console.account("urban1", Role.handler, "urban")
    await console.account("centre1", Role.dispatcher)

    async def phones() -> dict[str, Any]:
        rows = (await console.client.get("/staff/api/orders")).json()["orders"]
        return {o["number"]: o["contact_phone"] for o in rows}

    await console.login("centre1")
    seen = await phones()
    assert seen[plain.number] == "138****5678" and "1390000" not in seen[secret.number]
    assert "保密" in seen[secret.number]
    page = (await console.client.get(f"/staff/orders/{plain.number}")).text
    assert "138****5678" in page and "13812345678" not in page
    await console.login("urban1")
    assert await phones() == {plain.number: "13812345678", secret.number: "13900001111"}


async def test_html_typed_by_a_user_is_shown_as_text(console: Console) -> None:
    order = await console.order("urban", content='<script>alert("x")</script><b>门口</b>')
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    for path in ("/staff/", f"/staff/orders/{order.number}"):
        html = (await console.client.get(path)).text
        assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


async def test_the_sla_clock_turns_red_when_overdue(console: Console) -> None:
    order = await console.order("urban")  # dispatched: the 签收 clock runs (24 h)
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    row = (await console.client.get("/staff/api/orders")).json()["orders"][0]
    assert row["sla"].startswith("剩余") and not row["overdue"]
    console.clock.advance(days=6)
    await console.login("centre1")  # a new working day, a new session
    overdue = await console.client.get("/staff/", params={"overdue": "1"})
    assert order.number in overdue.text and 'class="overdue">超期' in overdue.text


async def test_logout_needs_the_session_csrf_token(console: Console) -> None:
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    forged = await console.client.post("/staff/logout", data={"csrf": "guessed"})
    assert forged.status_code == 303
    console.client.cookies.set(
        "yiqiban_staff", forged.request.headers["cookie"].split("=", 1)[1], path="/staff"
    )
    assert (await console.client.get("/staff/")).status_code == 200  # still logged in
    token = await console.csrf()
    await console.client.post("/staff/logout", data={"csrf": token})
    assert (await console.client.get("/staff/api/orders")).status_code == 401


async def test_a_session_expires_after_a_working_day(console: Console) -> None:
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    console.clock.advance(hours=11)
    assert (await console.client.get("/staff/api/orders")).status_code == 200
    console.clock.advance(hours=2)
    assert (await console.client.get("/staff/api/orders")).status_code == 401


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201f0b7ab530000000049454e44ae426082"
)


async def test_attachments_are_viewable_by_those_who_may_see_the_order(console: Console) -> None:
    order = await console.order("urban")
    store = console.core.deps.attachments
    await store.add(
        console.db, order.number, "现场.png", PNG, media_type="image/png", by="p-1", at=console.clock()
    )
    await store.add(
        console.db,
        order.number,
        "情况说明.pdf",
        b"%PDF-1.4 test",
        media_type="application/pdf",
        by="p-1",
        at=console.clock(),
    )
    await console.account("urban1", Role.handler, "urban")
    await console.account("housing1", Role.handler, "housing")
    await console.login("urban1")
    page = (await console.client.get(f"/staff/orders/{order.number}")).text
    assert "现场.png" in page and "情况说明.pdf" in page
    picture = await console.client.get(f"/staff/orders/{order.number}/files/0")
    assert picture.content == PNG and picture.headers["content-type"] == "image/png"
    assert picture.headers["x-content-type-options"] == "nosniff"
    document = await console.client.get(f"/staff/orders/{order.number}/files/1")
    assert document.headers["content-disposition"].startswith("attachment")  # downloaded, not rendered
    assert (await console.client.get(f"/staff/orders/{order.number}/files/9")).status_code == 404
    await console.login("housing1")
    assert (await console.client.get(f"/staff/orders/{order.number}/files/0")).status_code == 404
