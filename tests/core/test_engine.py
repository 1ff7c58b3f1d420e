"""The conversation engine end to end: every flow through `await core.handle(Inbound(...))`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.app import build_core
from bot.core.engine import BUSY, EMPTY, MAX_TEXT, TOO_LONG
from bot.core.messages import Address, Inbound, Reply
from bot.core.texts import GREETING, HELP, NO_MATCH, OUT_OF_SCOPE
from bot.workorder import OrderType, Rating, Source, Status
from intents.model import OutOfScopeReason
from knowledge.answer import render
from knowledge.types import Match

CST = timezone(timedelta(hours=8))
VALID_CODE = "91410103MA44GT7U3X"
INVALID_CODE = "91410103MA44GT7U30"


def payloads(replies: list[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


def text(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


# -- consult ---------------------------------------------------------------------------------------


async def test_answer_has_feedback_buttons_and_feedback_is_stored(env: Any) -> None:
    chat = env.chat()
    replies = await chat.say("小微企业有哪些税费优惠")
    entry = env.matcher.match("小微企业有哪些税费优惠").best.entry_id
    assert replies[0].text == render(env.kb.get(entry))
    assert payloads(replies) == [f"fb:{entry}:1", f"fb:{entry}:0"]
    assert "感谢" in text(await chat.press(f"fb:{entry}:0"))
    assert "感谢" in text(await chat.press(f"fb:{entry}:1"))
    assert await env.core.dialogs.feedback(entry) == [("telegram", "1001", False), ("telegram", "1001", True)]


async def test_clarify_offers_at_most_three_titles_and_shows_the_chosen_answer(env: Any) -> None:
    chat = env.chat()
    replies = await chat.say("税")
    buttons = replies[0].buttons
    assert 1 <= len(buttons) <= 3
    assert all(b.payload.startswith("kb:") for b in buttons)
    entry = buttons[0].payload.removeprefix("kb:")
    assert buttons[0].label == env.kb.get(entry).title or buttons[0].label.endswith("…")
    chosen = await chat.press(buttons[0].payload)
    assert chosen[0].text == render(env.kb.get(entry))


async def test_no_match_offers_petition_and_handoff(env: Any) -> None:
    replies = await env.chat().say("asdfgh")
    assert replies[0].text == NO_MATCH
    assert payloads(replies) == ["petition:start", "handoff:start"]


async def test_greeting_help_and_out_of_scope_reuse_the_console_texts(env: Any) -> None:
    chat = env.chat()
    assert (await chat.say("你好"))[0].text == GREETING
    assert (await chat.say("帮助"))[0].text == HELP
    fire = text(await chat.say("着火了"))
    assert fire.startswith("情况紧急！请立即拨打 119")
    assert text(await chat.say("这事已经起诉到法院了")) == OUT_OF_SCOPE[OutOfScopeReason.LITIGATION]
    assert text(await chat.say("我想信访")) == OUT_OF_SCOPE[OutOfScopeReason.XINFANG]


# -- petition --------------------------------------------------------------------------------------


async def test_petition_form_across_messages_survives_a_restart(env: Any) -> None:
    chat = env.chat()
    first = await chat.say("我要反映问题")
    assert "请选择诉求类型" in text(first)
    assert {"pt:inquiry", "pt:help", "pt:complaint", "pt:report", "pt:suggestion"} <= set(payloads(first))
    assert "请简要描述" in text(await chat.press("pt:help"))
    assert "企业名称" in text(await chat.say("厂区门口道路破损，货车进出困难，请协调维修"))

    await env.restart()  # a new Core on the same file continues the form
    refused = text(await chat.say(INVALID_CODE))
    assert "不是有效的统一社会信用代码" in refused and "跳过" in refused
    assert "联系电话" in text(await chat.say(f"郑州某某科技有限公司 {VALID_CODE}"))
    assert "没有识别出有效的电话号码" in text(await chat.say("12345"))
    assert "地点" in text(await chat.say("13812345678"))
    confidential = await chat.say("二七区大学路 88 号")
    assert payloads(confidential)[:2] == ["pc:1", "pc:0"]
    summary = text(await chat.press("pc:0"))
    assert "138****5678" in summary and "13812345678" not in summary
    assert "求助" in summary and VALID_CODE in summary

    done = text(await chat.press("pf:confirm"))
    assert "按规定求助类诉求一般在 5 个工作日内办结" in done
    [order] = await env.repo.list(petitioner=await chat.person())
    assert order.number in done
    assert order.type is OrderType.help and order.source is Source.telegram
    assert order.enterprise_credit_code == VALID_CODE and order.contact_phone == "13812345678"
    assert order.location == "二七区大学路 88 号" and order.confidential is False
    assert order.content.startswith("厂区门口道路破损") and "郑州某某科技有限公司" in order.content
    assert await chat.state() == "idle"


async def test_dialog_rows_are_written_only_when_the_dialog_changes(env: Any) -> None:
    chat = env.chat()

    async def row() -> tuple[str, str] | None:
        found = await env.db.fetchone(
            "SELECT state, updated_at FROM dialogs WHERE chat_id = ?", (chat.address.chat_id,)
        )
        return (found["state"], found["updated_at"]) if found is not None else None

    await chat.say("营业执照怎么办理")
    assert await row() is None  # an idle chat needs no row: loading it gives the same dialog
    await chat.say("我要反映问题")
    assert (await row() or ("", ""))[0] == "petition"
    env.clock.advance(minutes=1)
    await chat.say("取消")  # back to idle: this change must be written
    cancelled = await row()
    assert cancelled is not None and cancelled[0] == "idle"
    env.clock.advance(minutes=1)
    await chat.say("营业执照怎么办理")
    assert await row() == cancelled  # unchanged: no write
    await env.restart()
    assert await chat.state() == "idle"


async def test_a_turn_logs_every_reply_in_order(env: Any) -> None:
    chat = env.chat()
    replies = await chat.say("x" * (MAX_TEXT + 1))  # cut: a notice first, then the answer
    assert len(replies) >= 2
    logged = [m for m in await env.core.dialogs.messages(chat.address) if m.direction == "out"]
    assert [m.text for m in logged] == [r.text for r in replies]
    assert await env.db.fetchall("SELECT * FROM turn_ends") == []  # staging rows never stay


async def test_slots_of_the_first_message_are_not_asked_again(env: Any) -> None:
    chat = env.chat()
    asked = [await chat.say("我要投诉，我们公司门口被占道，电话13812345678")]
    assert "企业名称" in text(asked[0])  # type, description and phone were all in the message
    asked.append(await chat.say("跳过"))
    asked.append(await chat.say("跳过"))
    asked.append(await chat.press("pc:1"))
    joined = "\n".join(text(r) for r in asked)
    assert "请选择诉求类型" not in joined and "请简要描述" not in joined and "请留下联系电话" not in joined
    assert "身份保密：是" in text(asked[-1])
    done = text(await chat.say("确认提交"))
    assert "按规定投诉类诉求一般在 10 个工作日内办结" in done
    [order] = await env.repo.list(petitioner=await chat.person())
    assert order.type is OrderType.complaint and order.contact_phone == "13812345678"
    assert (
        order.content == "我要投诉，我们公司门口被占道，电话138****5678"
    )  # the number lives in contact_phone
    assert order.enterprise_credit_code is None and order.confidential is True


async def test_modify_a_field_from_the_summary(env: Any) -> None:
    chat = env.chat()
    await chat.say("我要投诉，我们公司门口被占道，电话13812345678")
    await chat.say("跳过")
    await chat.say("跳过")
    await chat.press("pc:0")
    assert "pe:phone" in payloads(await chat.press("pf:edit"))
    assert "请留下联系电话" in text(await chat.press("pe:phone"))
    summary = text(await chat.say("0371-66778899"))
    assert "请核对您的诉求" in summary and "0371-****8899" in summary
    await chat.press("pf:confirm")
    [order] = await env.repo.list(petitioner=await chat.person())
    assert order.contact_phone == "0371-66778899"


@pytest.mark.parametrize("steps", range(7))
@pytest.mark.parametrize("how", ["取消", "/cancel", "button"])
async def test_cancel_at_any_step_files_nothing(env: Any, steps: int, how: str) -> None:
    chat = env.chat()
    form = [("say", "我要反映问题"), ("press", "pt:suggestion"), ("say", "希望园区增加公交班次"),
            ("say", "跳过"), ("say", "13812345678"), ("say", "跳过"), ("press", "pc:0")]  # fmt: skip
    for kind, value in form[:steps]:
        await (chat.say(value) if kind == "say" else chat.press(value))
    assert await chat.state() == ("petition" if steps else "idle")
    replies = await (chat.press("cancel") if how == "button" else chat.say(how))
    assert "已取消" in text(replies)
    assert await chat.state() == "idle"
    assert await env.repo.list() == []
    assert "已失效" in text(await chat.press("pf:confirm"))  # the summary's button is dead now


# -- my orders -------------------------------------------------------------------------------------


async def test_my_orders_lists_only_ones_own(env: Any) -> None:
    alice, bob = env.chat("alice"), env.chat("bob")
    order = await env.file_for(alice)
    await bob.say("你好")
    assert "还没有提交" in text(await bob.say("我的工单"))
    mine = await alice.say("我的工单")
    assert payloads(mine) == [f"order:{order.number}"] and "待受理" in text(mine)
    detail = text(await alice.press(f"order:{order.number}"))
    assert "当前状态：待受理" in detail and "提交（待受理）" in detail
    for replies in (await bob.press(f"order:{order.number}"), await bob.say(f"查询工单{order.number}")):
        assert "未找到您名下的这个工单" in text(replies) and "厂区" not in text(replies)


async def test_order_detail_shows_deadline_and_timeline(env: Any) -> None:
    alice = env.chat("alice")
    order = await env.file_for(alice)
    await env.to_awaiting_visit(order.number)
    detail = await alice.say(f"查询工单{order.number}")
    body = text(detail)
    assert "当前状态：待回访" in body and "办理结果：已修复道路" in body
    for label in ("提交", "受理", "派单", "签收", "办结", "回访"):
        assert label in body
    assert "办理时限：2026-" in body
    assert payloads(detail) == [f"rate:{order.number}"]


# -- rating ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "status", "redo"),
    [(Rating.satisfied, Status.archived, False), (Rating.unsatisfied, Status.in_progress, True)],
)
async def test_rating_flow(env: Any, rating: Rating, status: Status, redo: bool) -> None:
    alice = env.chat("alice")
    order = await env.file_for(alice)
    assert "没有待评价" in text(await alice.say("评价"))
    await env.to_awaiting_visit(order.number)
    listed = await alice.say("评价")
    assert payloads(listed) == [f"rate:{order.number}"]
    choices = await alice.press(f"rate:{order.number}")
    assert payloads(choices) == [f"rv:{order.number}:{r.value}" for r in Rating]
    thanks = text(await alice.press(f"rv:{order.number}:{rating.value}"))
    assert "感谢您的评价" in thanks
    assert ("重办" in thanks) is redo
    stored = await env.repo.get(order.number)
    assert stored.status is status and stored.rating is rating


async def test_a_rating_can_be_followed_by_a_comment_or_not(env: Any) -> None:
    alice = env.chat("alice")
    first, second = await env.file_for(alice), await env.file_for(alice)
    for order in (first, second):
        await env.to_awaiting_visit(order.number)

    thanks = await alice.press(f"rv:{first.number}:unsatisfied")
    assert "如有意见或建议" in text(thanks) and payloads(thanks) == ["rc:skip"]
    noted = text(await alice.say("维修只做了一半，路面还是坑洼"))
    assert first.number in noted and "已记录" in noted
    [(who, said, _)] = await env.repo.rating_comments(first.number)
    assert said == "维修只做了一半，路面还是坑洼" and who == await alice.person()
    assert await alice.state() == "idle"  # the next message is an ordinary one again

    await alice.press(f"rv:{second.number}:satisfied")
    assert "感谢" in text(await alice.press("rc:skip"))
    assert await env.repo.rating_comments(second.number) == []
    assert await alice.state() == "idle"
    assert "营业执照" in text(await alice.say("营业执照怎么办理"))  # not taken as a comment


async def test_rating_someone_elses_order_or_twice_is_refused(env: Any) -> None:
    alice, bob = env.chat("alice"), env.chat("bob")
    order = await env.file_for(alice)
    await env.to_awaiting_visit(order.number)
    await bob.say("你好")
    assert "未找到您名下" in text(await bob.press(f"rate:{order.number}"))
    assert "未找到您名下" in text(await bob.press(f"rv:{order.number}:very_unsatisfied"))
    assert (await env.repo.get(order.number)).status is Status.awaiting_visit
    await alice.press(f"rv:{order.number}:satisfied")
    again = text(await alice.press(f"rv:{order.number}:satisfied"))
    assert "操作未能完成" in again and "已归档" in again  # TransitionError, in Chinese
    assert "已失效" in text(await alice.press(f"rv:{order.number}:great"))


# -- handoff ---------------------------------------------------------------------------------------


async def test_handoff_in_office_hours_escalates_without_an_order(env: Any) -> None:
    chat = env.chat()
    assert "工作人员会尽快" in text(await chat.say("转人工"))
    assert await chat.state() == "escalated"
    assert await env.repo.list() == []
    assert "消息已记录" in text(await chat.say("我们的问题是厂房漏水"))
    assert await chat.state() == "escalated"
    await chat.say("取消")
    assert await chat.state() == "idle"


@pytest.mark.parametrize(
    ("now", "when"),
    [
        (datetime(2026, 11, 27, 20, 0, tzinfo=CST), "11月30日 09:00"),  # Friday night → Monday
        (datetime(2026, 11, 26, 12, 30, tzinfo=CST), "11月26日 13:30"),  # lunch break → afternoon
        (datetime(2026, 11, 26, 7, 0, tzinfo=CST), "11月26日 09:00"),  # early morning → today
    ],
)
async def test_handoff_outside_office_hours_files_an_inquiry(env: Any, now: datetime, when: str) -> None:
    env.clock.now = now
    chat = env.chat()
    await chat.say("营业执照怎么网上办理")
    replies = text(await chat.press("handoff:start"))
    assert when in replies
    [order] = await env.repo.list(petitioner=await chat.person())
    assert order.number in replies
    assert order.type is OrderType.inquiry and order.source is Source.telegram
    assert "营业执照怎么网上办理" in order.content
    assert await chat.state() == "escalated"
    await chat.say("转人工")  # asking again while waiting does not file a second order
    assert len(await env.repo.list()) == 1


async def test_handoff_from_an_unknown_channel_is_filed_as_web(env: Any) -> None:
    env.clock.now = datetime(2026, 11, 28, 10, 0, tzinfo=CST)  # Saturday
    chat = env.chat("x", channel="dingtalk")
    await chat.say("转人工")
    [order] = await env.repo.list()
    assert order.source is Source.web and "未留下具体问题" in order.content


# -- input hardening -------------------------------------------------------------------------------


async def test_control_characters_are_stripped(env: Any) -> None:
    chat = env.chat()
    assert (await chat.say("\x00\x07你\u200b好\x1b\r"))[0].text == GREETING
    [inbound, _] = await env.core.dialogs.messages(chat.address)
    assert inbound.direction == "in" and inbound.text == "你好"


async def test_huge_text_is_cut_politely_and_stored_cut(env: Any) -> None:
    chat = env.chat()
    replies = await chat.say("税" * 100_000)
    assert replies[0].text == TOO_LONG and len(replies) >= 2
    inbound = (await env.core.dialogs.messages(chat.address))[0]
    assert len(inbound.text) == MAX_TEXT


@pytest.mark.parametrize("message", ["😀😀🎉", "", "   ", "？！。", None])
async def test_empty_or_emoji_only_gets_a_prompt(env: Any, message: str | None) -> None:
    chat = env.chat()
    assert [r.text for r in await chat.say(message)] == [EMPTY]
    log = await env.core.dialogs.messages(chat.address)
    assert [m.direction for m in log] == ["in", "out"]


async def test_html_looking_text_is_just_text(env: Any) -> None:
    chat = env.chat()
    replies = await chat.say("<script>alert(1)</script>")
    assert replies[0].text == NO_MATCH
    log = await env.core.dialogs.messages(chat.address)
    assert log[0].text == "<script>alert(1)</script>" and log[1].text == NO_MATCH


@pytest.mark.parametrize("payload", ["zzz", "kb:no-such-entry", "pt:help", "fb:faq-overview-tax:7", "rv:x"])
async def test_unknown_or_stale_buttons_get_the_help_menu(env: Any, payload: str) -> None:
    replies = await env.chat().press(payload)
    assert replies[0].text.startswith("该按钮已失效") and HELP in replies[0].text
    assert "petition:start" in payloads(replies)


class BrokenMatcher:
    def match(self, text: str) -> Match:
        raise RuntimeError("index corrupted")


async def test_unexpected_errors_become_busy_and_the_message_is_kept(env: Any) -> None:
    core = build_core(env.db, env.kb, BrokenMatcher(), clock=env.clock)
    address = Address("web", "s1")
    assert await core.handle(Inbound(address, env.clock(), text="营业执照怎么办")) == [Reply(BUSY)]
    [stored] = await core.dialogs.messages(address)
    assert stored.text == "营业执照怎么办"


async def test_one_person_per_address_and_concurrent_messages_are_serialised(env: Any) -> None:
    chat = env.chat()
    await asyncio.gather(*(chat.say(f"你好{i}") for i in range(5)))
    other = env.chat("1002")
    await other.say("你好")
    assert await chat.person() != await other.person()
    log = await env.core.dialogs.messages(chat.address)
    assert [m.direction for m in log] == ["in", "out"] * 5  # never interleaved


async def test_confirming_twice_after_a_crash_files_one_order(env: Any) -> None:
    chat = env.chat()
    await chat.say("我要投诉，我们公司门口被占道，电话13812345678")
    replies = [await chat.say(t) for t in ("跳过", "跳过")]
    while "pf:confirm" not in payloads(replies[-1]):
        replies.append(await chat.press(payloads(replies[-1])[1]))  # answer the remaining questions
    at_summary = await env.core.dialogs.load(chat.address)
    first = text(await chat.press("pf:confirm"))
    # The crash: the order committed, the dialog save did not; the user is back at the summary.
    await env.core.dialogs.save(chat.address, at_summary, env.clock())
    await env.restart()
    again = text(await chat.press("pf:confirm"))
    orders = await env.repo.list(petitioner=await chat.person())
    assert len(orders) == 1 and orders[0].number in first and orders[0].number in again


async def test_a_phone_typed_in_the_description_is_kept_only_in_its_own_field(env: Any) -> None:
    chat = env.chat()
    await chat.say("我要投诉，我们公司门口被占道，电话138 1234 5678")
    replies = [await chat.say(t) for t in ("跳过", "跳过")]
    while "pf:confirm" not in payloads(replies[-1]):
        replies.append(await chat.press(payloads(replies[-1])[1]))
    assert "1234 5678" not in text(replies[-1]) and "12345678" not in text(replies[-1])
    await chat.press("pf:confirm")
    [order] = await env.repo.list(petitioner=await chat.person())
    assert order.contact_phone == "13812345678"
    assert "138****5678" in order.content and "5678" not in order.content.replace("138****5678", "")
