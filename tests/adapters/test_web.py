"""The web chat channel end to end: HTTP in, real engine and SQLite behind, JSON out.

Everything runs in-process through httpx's ASGITransport; the SSE stream is driven through the
raw ASGI interface instead, because ASGITransport buffers a response until it ends.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from bot.adapters.openapi import OPENAPI
from bot.adapters.web import MAX_BODY, push
from bot.core.engine import BUSY, EMPTY, MAX_TEXT, TOO_LONG
from bot.core.messages import Button, Reply

Json = dict[str, Any]
VIEW = Button("查看", "orders:list")
VIEW_JSON = {"label": "查看", "payload": "orders:list"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def say(web: Any, token: str, **body: Any) -> Json:
    r = await web.client.post("/api/messages", headers=auth(token), json=body)
    assert r.status_code == 200, r.text
    data: Json = r.json()
    return data


def texts(data: Json) -> str:
    return "\n".join(reply["text"] for reply in data["replies"])


def payloads(data: Json) -> list[str]:
    return [b["payload"] for reply in data["replies"] for b in reply["buttons"]]


async def logged_in(web: Any, chat_id: str) -> list[tuple[str | None, str | None]]:
    rows = await web.db.fetchall(
        "SELECT text, button FROM messages WHERE channel = 'web' AND chat_id = ? AND direction = 'in' "
        "ORDER BY id",
        (chat_id,),
    )
    return [(row["text"], row["button"]) for row in rows]


# -- the conversation ------------------------------------------------------------------------------


async def test_policy_question_gets_an_answer_with_buttons_and_a_button_press_works(web: Any) -> None:
    token = await web.session()
    answer = await say(web, token, text="小规模纳税人增值税有什么优惠")
    assert "增值税" in texts(answer)
    assert all(set(b) == {"label", "payload"} for reply in answer["replies"] for b in reply["buttons"])
    pressed = payloads(answer)[-1]
    assert pressed.startswith(("fb:", "kb:"))
    followup = await say(web, token, button=pressed)
    assert followup["replies"] and "已失效" not in texts(followup)


async def test_petition_through_the_form_gets_a_work_order_number(web: Any) -> None:
    token = await web.session()
    assert "pt:help" in payloads(await say(web, token, text="我要反映问题"))
    assert "请简要描述" in texts(await say(web, token, button="pt:help"))
    assert "企业名称" in texts(await say(web, token, text="厂区门口道路破损，货车进出困难，请协调维修"))
    await say(web, token, text="跳过")
    assert "地点" in texts(await say(web, token, text="13812345678"))
    assert payloads(await say(web, token, text="二七区大学路 88 号"))[:2] == ["pc:1", "pc:0"]
    summary = await say(web, token, button="pc:0")
    assert "pf:confirm" in payloads(summary)
    done = texts(await say(web, token, button="pf:confirm"))
    number = re.search(r"EQ-[0-9A-Z-]+", done)
    assert number is not None
    row = await web.db.fetchone("SELECT source FROM work_orders WHERE number = ?", (number.group(0),))
    assert row is not None and row["source"] == "web"


async def test_two_sessions_are_two_chats(web: Any) -> None:
    a, b = await web.session(), await web.session()
    assert a != b and await web.chat_id(a) != await web.chat_id(b)
    stored = await web.db.fetchall("SELECT token_hash FROM web_sessions")
    assert {row["token_hash"] for row in stored}.isdisjoint({a, b})  # only hashes are stored


# -- pushed messages -------------------------------------------------------------------------------


async def test_pushed_messages_are_read_once(web: Any) -> None:
    token = await web.session()
    chat_id = await web.chat_id(token)
    assert (await web.client.get("/api/messages/pending", headers=auth(token))).json() == {"messages": []}
    await push(web.db, chat_id, Reply("工作人员：您好，已收到", (VIEW,)), web.clock())
    await push(web.db, chat_id, Reply("第二条"), web.clock())
    first = (await web.client.get("/api/messages/pending", headers=auth(token))).json()["messages"]
    assert [m["text"] for m in first] == ["工作人员：您好，已收到", "第二条"]
    assert first[0]["buttons"] == [VIEW_JSON]
    assert first[0]["at"].startswith("2026-11-26T10:00:00")
    assert (await web.client.get("/api/messages/pending", headers=auth(token))).json() == {"messages": []}
    other = await web.session()
    assert (await web.client.get("/api/messages/pending", headers=auth(other))).json() == {"messages": []}


async def test_push_to_an_unknown_chat_is_refused(web: Any) -> None:
    with pytest.raises(LookupError):
        await push(web.db, "no-such-chat", Reply("x"), web.clock())


async def _sse(web: Any, token: str, spec_version: str) -> list[bytes]:
    """Run GET /api/events as a raw ASGI call; disconnect as soon as a pushed message arrives."""
    app = web.client._transport.app
    disconnect, chunks, started = asyncio.Event(), [], []
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": spec_version}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": "/api/events", "raw_path": b"/api/events",
        "root_path": "", "query_string": f"token={token}".encode(), "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip
    requested = False

    async def receive() -> Json:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Json) -> None:
        if disconnect.is_set() and spec_version >= "2.4":
            raise OSError("client went away")
        if message["type"] == "http.response.start":
            started.append(message)
        elif message.get("body"):
            chunks.append(message["body"])
            if b"event: message" in message["body"]:
                disconnect.set()

    async with asyncio.timeout(5):
        await app(scope, receive, send)
    assert started[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in started[0]["headers"]
    return chunks


@pytest.mark.parametrize("spec_version", ["2.0", "2.4"])
async def test_sse_delivers_a_pushed_message_and_ends_on_disconnect(web: Any, spec_version: str) -> None:
    token = await web.session()
    chat_id = await web.chat_id(token)

    async def push_on_second_wait(calls: int) -> None:
        if calls == 2:
            await push(web.db, chat_id, Reply("您的工单已受理", (VIEW,)), web.clock())

    web.sleeps.hook = push_on_second_wait
    chunks = await _sse(web, token, spec_version)
    events = [c for c in chunks if c.startswith(b"id: ")]
    assert len(events) == 1
    data = json.loads(events[0].decode().split("data: ", 1)[1])
    assert data["text"] == "您的工单已受理" and data["buttons"] == [VIEW_JSON]
    # delivered over SSE means read: polling does not deliver it a second time
    assert (await web.client.get("/api/messages/pending", headers=auth(token))).json() == {"messages": []}


async def test_sse_needs_a_valid_token(web: Any) -> None:
    assert (await web.client.get("/api/events")).status_code == 401
    assert (await web.client.get("/api/events", params={"token": "forged"})).status_code == 401


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic abc"}],
)
async def test_missing_or_forged_token_is_401(web: Any, headers: dict[str, str]) -> None:
    for r in (
        await web.client.post("/api/messages", headers=headers, json={"text": "你好"}),
        await web.client.get("/api/messages/pending", headers=headers),
    ):
        assert r.status_code == 401
        assert "令牌" in r.json()["error"]


@pytest.mark.parametrize(
    ("content", "status", "word"),
    [
        (b"{not json", 400, "JSON"),
        (b"\xff\xfe\x00", 400, "JSON"),
        (b"[1, 2]", 400, "JSON"),
        (b"[" * 20000 + b"]" * 20000, 400, "JSON"),
        (b'{"text": "a", "button": "b"}', 400, "二选一"),
        (b"{}", 400, "二选一"),
        (b'{"text": 5}', 400, "二选一"),
        (b'{"text": 0}', 400, "二选一"),
        (b'{"button": ["x"]}', 400, "二选一"),
        (b'{"text": "\\ud800"}', 400, "无法识别"),
        (json.dumps({"text": "长" * 40000}).encode(), 413, "64 KB"),
        (b'{"text": "' + b"a" * (100 * 1024) + b'"}', 413, "64 KB"),
    ],
)
async def test_malformed_requests_get_a_clear_4xx(web: Any, content: bytes, status: int, word: str) -> None:
    token = await web.session()
    headers = {**auth(token), "Content-Type": "application/json"}
    r = await web.client.post("/api/messages", headers=headers, content=content)
    assert r.status_code == status
    assert word in r.json()["error"]
    assert await logged_in(web, await web.chat_id(token)) == []
    assert "replies" in await say(web, token, text="你好")  # still answering


async def test_oversized_body_without_content_length_is_refused_while_streaming(web: Any) -> None:
    token = await web.session()

    async def body() -> Any:
        for _ in range(3):
            yield b"x" * (MAX_BODY // 2)

    r = await web.client.post("/api/messages", headers=auth(token), content=body())
    assert r.status_code == 413


AWKWARD = [
    ("", EMPTY),
    ("   ", EMPTY),
    ("😀😀🎉", EMPTY),
    ("\x00\x07\x1b[31m\u202e你好", None),
    ("<script>alert(1)</script>", None),
    ("'; DROP TABLE work_orders; --", None),
    ("税" * (MAX_TEXT + 500), TOO_LONG),
]


async def test_awkward_text_gets_a_polite_reply_and_is_logged(web: Any) -> None:
    token = await web.session()
    for text, expected in AWKWARD:
        data = await say(web, token, text=text)
        assert data["replies"], text
        assert BUSY not in texts(data)
        if expected is not None:
            assert expected in texts(data)
    script = await web.client.post(
        "/api/messages", headers=auth(token), json={"text": "<script>alert(1)</script>"}
    )
    assert script.headers["content-type"] == "application/json"  # data, never rendered as HTML
    logged = await logged_in(web, await web.chat_id(token))
    assert len(logged) == len(AWKWARD) + 1
    assert logged[4] == ("<script>alert(1)</script>", None)
    assert logged[5] == ("'; DROP TABLE work_orders; --", None)
    assert (await web.db.fetchone("SELECT count(*) AS n FROM work_orders"))["n"] == 0  # table still there
    assert (await web.client.get("/healthz")).json() == {"status": "ok"}


async def test_unknown_button_payload_is_answered_politely(web: Any) -> None:
    token = await web.session()
    data = await say(web, token, button="'; DROP TABLE dialogs; --")
    assert "已失效" in texts(data)


async def test_unexpected_error_is_a_json_500_and_logged(web: Any, caplog: pytest.LogCaptureFixture) -> None:
    token = await web.session()

    async def broken(inbound: Any) -> list[Reply]:
        raise RuntimeError("boom")

    web.core.handle = broken
    r = await web.client.post("/api/messages", headers=auth(token), json={"text": "你好"})
    assert r.status_code == 500 and r.json() == {"error": BUSY}
    assert "boom" in caplog.text


async def test_unknown_path_and_method_are_json(web: Any) -> None:
    r = await web.client.get("/api/nope")
    assert r.status_code == 404 and "error" in r.json()
    r = await web.client.get("/api/messages")
    assert r.status_code == 405 and "error" in r.json()


# -- service endpoints and the page ----------------------------------------------------------------


async def test_healthz(web: Any) -> None:
    r = await web.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_healthz_reports_a_dead_database(web: Any) -> None:
    await web.db.close()
    r = await web.client.get("/healthz")
    assert r.status_code == 503 and r.json() == {"status": "error"}


async def test_openapi_lists_every_path(web: Any) -> None:
    doc = (await web.client.get("/openapi.json")).json()
    assert doc == OPENAPI and doc["openapi"].startswith("3.1")
    routes = {"/", "/healthz", "/openapi.json", "/api/sessions", "/api/messages", "/api/messages/pending",
              "/api/events", "/api/uploads"}  # fmt: skip
    assert set(doc["paths"]) == routes
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "POST /api/sessions 返回的令牌"
    }  # fmt: skip


async def test_page_and_assets_are_served_without_external_urls(web: Any) -> None:
    page = await web.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "二七帮 · 易企办" in page.text and "请输入您的问题…" in page.text and "发送" in page.text
    for path in ("/static/app.js", "/static/app.css"):
        asset = await web.client.get(path)
        assert asset.status_code == 200
        assert path in page.text
        assert "innerHTML" not in asset.text
    for body in (page.text, (await web.client.get("/static/app.js")).text,
                 (await web.client.get("/static/app.css")).text):  # fmt: skip
        assert "http://" not in body and "https://" not in body
