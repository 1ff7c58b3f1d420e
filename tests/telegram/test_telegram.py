"""The Telegram channel end to end: captured Bot API updates in, recorded Bot API calls out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update

from bot.adapters.telegram import (
    CLOSED,
    FILE_TOO_BIG,
    MAX_CALLBACK_DATA,
    MAX_DOWNLOAD,
    MAX_MESSAGE,
    NOT_STAFF,
    TopicStore,
    build_application,
    callback_data,
    chunks,
)
from bot.adapters.telegram_desk import NOT_A_TOPIC, NOTHING_TO_CLOSE
from bot.core.messages import Address, InboundFile
from bot.filing import NewOrder
from bot.schedule.store import ScheduleStore
from bot.workorder import Action, OrderType, Source, Status, Urgency, WorkOrder
from knowledge.loader import KnowledgeBase
from tests.telegram.conftest import (
    FIRST_THREAD,
    STAFF,
    STAFF_CHAT,
    THURSDAY_10,
    USER_CHAT,
    FakeTelegram,
    Harness,
    command,
    load_update,
)

ADDRESS = Address("telegram", str(USER_CHAT))
OTHER = 5555  # a group member who is not configured staff


def payloads(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [button["callback_data"] for row in markup["inline_keyboard"] for button in row]


def say(text: str) -> dict[str, Any]:
    return load_update("private_text", text=text)


def press(data: str) -> dict[str, Any]:
    return load_update("callback_query", data=data)


def staff_says(text: str, sender: int = STAFF, thread: int = FIRST_THREAD) -> dict[str, Any]:
    who = {"id": sender, "is_bot": False, "first_name": "成员"}
    changes: dict[str, Any] = {"from": who, "message_thread_id": thread}
    return (
        command("staff_topic_message", text, **changes)
        if text.startswith("/")
        else load_update("staff_topic_message", text=text, **changes)
    )


async def state(tg: Harness) -> str:
    return (await tg.core.dialogs.load(ADDRESS)).state


# -- private chats ---------------------------------------------------------------------------------


async def test_policy_question_is_answered_in_the_users_chat(tg: Harness) -> None:
    await tg.feed(load_update("private_text"))
    [answer] = tg.fake.sent(USER_CHAT)
    entry = tg.matcher.match("高新技术企业认定有什么条件？").best.entry_id  # type: ignore[union-attr]
    assert entry == "policy-tax-high-tech-rate"
    assert tg.kb.get(entry).title in answer["text"]  # type: ignore[union-attr]
    assert payloads(answer) == [f"fb:{entry}:1", f"fb:{entry}:0"]  # our payloads, verbatim
    assert all(len(p.encode()) <= MAX_CALLBACK_DATA for p in payloads(answer))
    assert tg.fake.sent(STAFF_CHAT) == []


async def test_start_greets_and_a_deep_link_answers_its_policy(tg: Harness) -> None:
    await tg.feed(command("private_text", "/start"))
    greeting = tg.fake.sent(USER_CHAT)[-1]
    assert {"petition:start", "orders:list", "handoff:start"} <= set(payloads(greeting))
    await tg.feed(load_update("start_payload"))
    assert tg.kb.get("policy-tax-high-tech-rate").title in tg.fake.texts_to(USER_CHAT)[-1]  # type: ignore[union-attr]


async def test_help_and_policy_commands(tg: Harness) -> None:
    await tg.feed(command("private_text", "/help"))
    assert "petition:start" in payloads(tg.fake.sent(USER_CHAT)[-1])
    await tg.feed(command("private_text", "/policy"))
    assert tg.fake.texts_to(USER_CHAT)[-1].startswith("请在 /policy 后面写上您的问题")
    await tg.feed(command("private_text", "/policy 小微企业有哪些税费优惠"))
    assert payloads(tg.fake.sent(USER_CHAT)[-1]) == ["fb:faq-overview-tax:1", "fb:faq-overview-tax:0"]


async def test_button_pressed_after_a_restart_still_works(tg: Harness) -> None:
    await tg.feed(load_update("private_text"))
    useful = payloads(tg.fake.sent(USER_CHAT)[-1])[0]
    await tg.restart()  # new Application and Core: nothing in memory survives
    await tg.feed(press(useful))
    assert tg.fake.count("answerCallbackQuery") == 1
    assert "感谢" in tg.fake.texts_to(USER_CHAT)[-1]


async def test_new_starts_the_intake_and_filing_yields_an_eq_number(tg: Harness) -> None:
    await tg.feed(command("private_text", "/new"))
    assert {"pt:help", "pt:complaint"} <= set(payloads(tg.fake.sent(USER_CHAT)[-1]))
    await tg.feed(press("pt:help"))
    steps = ["厂区门口道路破损，货车进出困难，请协调维修", "跳过", "13812345678", "二七区大学路 88 号"]
    for text in steps:
        await tg.feed(say(text))
    await tg.feed(press("pc:0"))
    assert "pf:confirm" in payloads(tg.fake.sent(USER_CHAT)[-1])
    await tg.feed(press("pf:confirm"))
    assert "EQ-" in tg.fake.texts_to(USER_CHAT)[-1]
    await tg.feed(command("private_text", "/my"))
    assert any(p.startswith("order:EQ-") for p in payloads(tg.fake.sent(USER_CHAT)[-1]))


async def test_unsubscribe_command_stops_polls(tg: Harness) -> None:
    await tg.feed(command("private_text", "/unsubscribe"))
    assert tg.fake.texts_to(USER_CHAT)[-1].startswith("已为您退订满意度问卷")
    person = await tg.core.deps.people.find_by_identity("telegram", str(USER_CHAT))
    assert person is not None
    assert await ScheduleStore(tg.core.deps.dialogs.db).unsubscribed([person.id]) == {person.id}


async def test_cancel_command_leaves_the_intake(tg: Harness) -> None:
    await tg.feed(command("private_text", "/new"))
    await tg.feed(command("private_text", "/cancel"))
    assert tg.fake.texts_to(USER_CHAT)[-1].startswith("已取消")
    assert await state(tg) == "idle"


def test_callback_data_over_64_bytes_is_refused_not_cut() -> None:
    assert callback_data("kb:" + "x" * 61) == "kb:" + "x" * 61
    with pytest.raises(ValueError, match="64 bytes"):
        callback_data("kb:" + "政" * 21)


def test_long_texts_are_split_at_the_telegram_limit() -> None:
    assert chunks("") == [""]
    assert [len(c) for c in chunks("政" * (MAX_MESSAGE + 1))] == [MAX_MESSAGE, 1]


def test_every_knowledge_payload_fits_in_callback_data(kb: KnowledgeBase) -> None:
    longest = max(len(f"fb:{entry}:1".encode()) for entry in kb.entries)
    assert longest <= MAX_CALLBACK_DATA


# -- staff desk ------------------------------------------------------------------------------------


async def escalate(tg: Harness) -> None:
    await tg.feed(say("转人工"))
    assert tg.fake.texts_to(USER_CHAT)[-1].startswith("已为您转接人工客服")
    assert await state(tg) == "escalated"
    assert tg.fake.count("createForumTopic") == 0  # only a real message opens a topic


async def open_order(tg: Harness) -> WorkOrder:
    """The one order the desk works on for USER_CHAT (the one its topic belongs to)."""
    [topic] = await TopicStore(tg.db).of_user(USER_CHAT)
    assert topic.order_number is not None
    return await tg.tickets.get(topic.order_number)


async def test_two_quick_messages_open_one_topic_for_one_new_order(tg: Harness) -> None:
    await escalate(tg)
    await asyncio.gather(tg.feed(say("我们厂门口道路破损，货车进不来")), tg.feed(say("很着急")))
    assert tg.fake.count("createForumTopic") == 1
    assert sorted(tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)) == ["很着急", "我们厂门口道路破损，货车进不来"]
    order = await open_order(tg)
    assert (order.type, order.urgency, order.source, order.status) == (
        OrderType.inquiry, Urgency.hoped, Source.telegram, Status.pending,
    )  # fmt: skip
    assert order.content in ("我们厂门口道路破损，货车进不来", "很着急")  # whichever came first
    [created] = tg.fake.params("createForumTopic")
    assert created["name"] == f"{order.number} {order.content[:20]}"
    await tg.restart()
    await tg.feed(say("还在吗"))
    assert tg.fake.count("createForumTopic") == 1  # the stored topic is reused
    assert tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1] == "还在吗"
    assert len(await tg.repo.list(petitioner=order.petitioner)) == 1  # and no second order


async def test_out_of_hours_handoff_uses_the_order_the_engine_filed(tg: Harness) -> None:
    tg.clock.now = THURSDAY_10.replace(hour=20)
    await tg.feed(load_update("private_text"))  # a policy question, answered by the bot
    await tg.feed(say("转人工"))
    filed = (await tg.core.dialogs.load(ADDRESS)).data["order"]
    assert filed in tg.fake.texts_to(USER_CHAT)[-1]
    await tg.feed(say("明天能来人看看吗"))
    [created] = tg.fake.params("createForumTopic")
    assert str(created["name"]).startswith(f"{filed} ")
    assert (await open_order(tg)).number == filed
    assert len(await tg.repo.list()) == 1


async def test_an_open_order_of_the_user_gets_the_topic(tg: Harness) -> None:
    await tg.feed(say("转人工"))  # creates the person behind the chat
    person = await tg.people.find_by_identity("telegram", str(USER_CHAT))
    assert person is not None
    draft = NewOrder(type=OrderType.help, urgency=Urgency.worrying, source=Source.web,
                     content="厂区门口道路破损，请协调维修", petitioner=person.id)  # fmt: skip
    mine = await tg.repo.file(draft, by=person.id, at=THURSDAY_10)
    await tg.feed(say("我上周提交的工单怎么样了"))
    assert (await open_order(tg)).number == mine.number
    assert tg.fake.params("createForumTopic")[0]["name"] == f"{mine.number} 厂区门口道路破损，请协调维修"


# -- photos and documents --------------------------------------------------------------------------

PHOTO_BYTES = b"\xff\xd8\xff\xe0" + b"JFIF-road" * 100
PDF_BYTES = b"%PDF-1.7 business licence"


async def test_photo_reaches_the_engine_as_an_inbound_file(tg: Harness) -> None:
    tg.fake.add_file("AgACAgUAAxkBAAIBc2large", PHOTO_BYTES)
    await tg.feed(load_update("private_photo"))
    [getfile] = tg.fake.params("getFile")
    assert getfile["file_id"] == "AgACAgUAAxkBAAIBc2large"  # the largest size
    assert tg.fake.params("download") == [{"path": "documents/AgACAgUAAxkBAAIBc2large.bin"}]
    inbound = tg.core.inbounds[-1]
    assert inbound.text == "厂区门口道路破损的照片"
    assert inbound.files == (InboundFile("photo_AQADlarge.jpg", PHOTO_BYTES, "image/jpeg"),)
    assert tg.fake.texts_to(USER_CHAT)  # the engine answered
    assert tg.fake.count("sendPhoto") == 0  # not escalated: nothing to the desk


async def test_document_keeps_its_name_and_type(tg: Harness) -> None:
    tg.fake.add_file("BQACAgUAAxkBAAIBdGdoc", PDF_BYTES)
    await tg.feed(load_update("private_document"))
    assert tg.core.inbounds[-1].files == (InboundFile("营业执照.pdf", PDF_BYTES, "application/pdf"),)
    assert tg.core.inbounds[-1].text is None


async def test_oversized_document_is_refused_without_downloading(tg: Harness) -> None:
    update = load_update("private_document")
    update["message"]["document"]["file_size"] = MAX_DOWNLOAD + 1
    await tg.feed(update)
    assert tg.fake.texts_to(USER_CHAT) == [FILE_TOO_BIG]
    assert tg.fake.count("getFile") == 0 and tg.fake.count("download") == 0
    assert tg.core.inbounds == []  # the engine never saw it


async def test_escalated_photo_is_forwarded_by_file_id(tg: Harness) -> None:
    tg.fake.add_file("AgACAgUAAxkBAAIBc2large", PHOTO_BYTES)
    await escalate(tg)
    await tg.feed(load_update("private_photo"))
    [sent] = tg.fake.params("sendPhoto")
    assert (int(sent["chat_id"]), sent["message_thread_id"]) == (STAFF_CHAT, FIRST_THREAD)
    assert sent["photo"] == "AgACAgUAAxkBAAIBc2large" and sent["caption"] == "厂区门口道路破损的照片"
    assert (await open_order(tg)).content == "厂区门口道路破损的照片"


async def test_staff_reply_reaches_the_user_and_is_stored(tg: Harness) -> None:
    await escalate(tg)
    await tg.feed(say("请问有人吗"))
    reply = load_update("staff_topic_message")["message"]["text"]
    await tg.feed(load_update("staff_topic_message"))
    assert tg.fake.texts_to(USER_CHAT)[-1] == reply
    logged = await tg.core.dialogs.messages(ADDRESS)
    assert (logged[-1].direction, logged[-1].text) == ("out", reply)


async def test_transfer_dispatches_and_close_resolves_the_order(tg: Harness) -> None:
    await escalate(tg)
    await tg.feed(say("厂区门口道路破损，货车进出困难"))
    number = (await open_order(tg)).number
    to_user = len(tg.fake.sent(USER_CHAT))
    await tg.feed(staff_says("/note 该企业上月已反映过同一路段"))
    assert len(tg.fake.sent(USER_CHAT)) == to_user  # nothing went to the user
    assert "内部备注" in tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1]
    await tg.feed(staff_says("/assign 李专员"))
    assert tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1].startswith("已记录承办人：李专员。")
    await tg.feed(staff_says("/transfer urban"))
    order = await tg.tickets.get(number)
    assert (order.status, order.unit) == (Status.dispatched, "urban")
    assert order.deadline is not None  # the 签收 clock runs
    assert [e.action for e in await tg.repo.events(number)] == [Action.file, Action.accept, Action.dispatch]
    assert "二七区城市管理局" in tg.fake.texts_to(USER_CHAT)[-1] and number in tg.fake.texts_to(USER_CHAT)[-1]
    await tg.feed(staff_says("/transfer 二七区住房和城乡建设局"))  # by name: return + dispatch
    order = await tg.tickets.get(number)
    assert (order.status, order.unit, order.return_count) == (Status.dispatched, "hcd", 1)
    await tg.tickets.act(number, Action.acknowledge, by="hcd", at=THURSDAY_10)  # the unit signs
    await tg.feed(staff_says("/close 已答复"))
    order = await tg.tickets.get(number)
    assert (order.status, order.result) == (Status.resolved, "已答复")
    assert await state(tg) == "idle"
    assert tg.fake.texts_to(USER_CHAT)[-1].endswith(CLOSED) and "已答复" in tg.fake.texts_to(USER_CHAT)[-1]
    assert await TopicStore(tg.db).order_actions(number) == [
        ("note", "该企业上月已反映过同一路段"),
        ("assign", "李专员"),
        ("transfer", "urban"),
        ("transfer", "hcd"),
        ("close", "已答复"),
    ]
    row = await tg.db.fetchone(
        "SELECT assignee, unit FROM telegram_order_topics WHERE order_number = ?", (number,)
    )
    assert row is not None and tuple(row) == ("李专员", "hcd")
    await tg.feed(staff_says("还有别的问题吗"))  # after /close nothing is relayed
    assert tg.fake.texts_to(USER_CHAT)[-1].endswith(CLOSED)
    await tg.feed(say("谢谢"))  # and the user is back with the bot, not copied to the desk
    assert tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1] != "谢谢"


async def test_close_of_a_pending_order_ends_the_chat_and_keeps_the_order(tg: Harness) -> None:
    await escalate(tg)
    await tg.feed(say("请问有人吗"))
    await tg.feed(staff_says("/transfer 不存在的局"))
    assert "派单目录中没有承办单位" in tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1]
    await tg.feed(staff_says("/close"))
    assert tg.fake.texts_to(USER_CHAT)[-1] == CLOSED
    assert "未办结" in tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1]
    assert (await open_order(tg)).status is Status.pending
    assert await state(tg) == "idle"
    await tg.feed(staff_says("/close"))
    assert tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1] == NOTHING_TO_CLOSE


async def test_transfer_refused_by_the_state_machine_is_explained(tg: Harness) -> None:
    await escalate(tg)
    await tg.feed(say("请问有人吗"))
    number = (await open_order(tg)).number
    await tg.tickets.act(number, Action.withdraw, by="petitioner", at=THURSDAY_10)
    await tg.feed(staff_says("/transfer urban"))
    assert tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-1].startswith(f"工单 {number}：当前状态“已撤销”")
    assert (await tg.tickets.get(number)).status is Status.withdrawn


async def test_non_staff_in_the_group_cannot_act(tg: Harness) -> None:
    await escalate(tg)
    await tg.feed(say("请问有人吗"))
    to_user = len(tg.fake.sent(USER_CHAT))
    await tg.feed(staff_says("我来回复一下", sender=OTHER))
    await tg.feed(staff_says("/close", sender=OTHER))
    await tg.feed(staff_says("/transfer urban", sender=OTHER))
    assert tg.fake.texts_to(STAFF_CHAT, FIRST_THREAD)[-3:] == [NOT_STAFF] * 3
    assert len(tg.fake.sent(USER_CHAT)) == to_user
    assert await state(tg) == "escalated"
    assert (await open_order(tg)).status is Status.pending


async def test_staff_command_outside_a_topic_is_explained(tg: Harness) -> None:
    general = command("staff_topic_message", "/close", is_topic_message=False)
    del general["message"]["message_thread_id"], general["message"]["reply_to_message"]
    await tg.feed(general)
    assert tg.fake.texts_to(STAFF_CHAT)[-1] == NOT_A_TOPIC


async def test_rate_limiter_is_wired_with_three_retries(tg: Harness) -> None:
    app = build_application(tg.core, "123456:TEST-TOKEN", request=FakeTelegram())
    limiter: Any = app.bot.rate_limiter
    assert type(limiter).__name__ == "AIORateLimiter" and limiter._max_retries == 3
    assert build_application(tg.core, "123456:TEST-TOKEN", rate_limit=False).bot.rate_limiter is None


# -- webhook ---------------------------------------------------------------------------------------


async def test_webhook_checks_the_secret_and_queues_the_update(tg: Harness) -> None:
    pytest.importorskip("starlette", reason="the webhook route needs starlette (web extra)")
    import httpx
    from starlette.applications import Starlette

    from bot.adapters.telegram import telegram_webhook_route

    web = Starlette(routes=[telegram_webhook_route(tg.app, "s3cret-token")])
    body = load_update("private_text")
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        wrong = await client.post(
            "/telegram/webhook", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
        )
        missing = await client.post("/telegram/webhook", json=body)
        assert (wrong.status_code, missing.status_code) == (403, 403)
        assert tg.app.update_queue.empty()
        ok = await client.post(
            "/telegram/webhook", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        )
    assert ok.status_code == 200
    update = tg.app.update_queue.get_nowait()
    assert isinstance(update, Update) and update.update_id == body["update_id"]
    assert update.effective_message is not None and update.effective_message.text == body["message"]["text"]
