"""Polls in the conversation engine: 退订 / 订阅问卷, answering, and the comment step's manners."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.core.flows.polls import COMMENT_THANKS, SUBSCRIBED, THANKS, UNSUBSCRIBED
from bot.core.messages import Reply
from bot.core.texts import HELP
from bot.schedule.poll_store import PollStore
from bot.schedule.polls import build_items, default_polls
from bot.schedule.store import ScheduleStore

CST = timezone(timedelta(hours=8))
NOV_DUE = datetime(2026, 11, 2, 10, 0, tzinfo=CST)


def payloads(replies: list[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


async def delivered_poll(env: Any, chat: Any) -> str:
    """November's poll, scheduled and marked sent to the person behind `chat`; their id."""
    env.clock.now = NOV_DUE
    await chat.say("你好")
    person = await chat.person()
    poll = default_polls().get("m")
    assert poll is not None
    store = ScheduleStore(env.db)
    await store.add(build_items(poll, "2026-11", NOV_DUE, [person]), env.clock())
    [item] = await store.due(env.clock(), 10)
    await store.sent(item, env.clock(), f"telegram:{chat.address.chat_id}")
    return str(person)


@pytest.mark.parametrize("word", ["退订", "/unsubscribe", "退订问卷"])
async def test_unsubscribe_words_take_effect_at_once_and_say_how_to_come_back(env: Any, word: str) -> None:
    chat = env.chat()
    [reply] = await chat.say(word)
    assert reply.text == UNSUBSCRIBED and "订阅问卷" in reply.text
    person = await chat.person()
    store = ScheduleStore(env.db)
    assert await store.unsubscribed([person]) == {person}
    assert (await chat.say("订阅问卷"))[0].text == SUBSCRIBED
    assert await store.unsubscribed([person]) == set()


async def test_help_tells_how_to_unsubscribe(env: Any) -> None:
    assert "退订" in HELP and "/unsubscribe" in HELP
    assert (await env.chat().say("帮助"))[0].text == HELP


async def test_a_poll_button_during_a_petition_never_takes_the_form_over(env: Any) -> None:
    chat = env.chat()
    await delivered_poll(env, chat)
    await chat.say("我要反映问题")
    await chat.press("pt:help")
    assert await chat.state() == "petition"
    # The last choice question is answered; the comment step is skipped, the form stays.
    assert (await chat.press("poll:m:2026-11:q3:5"))[0].text == THANKS
    assert await chat.state() == "petition"
    assert "企业名称" in (await chat.say("厂区门口道路破损，货车进出困难，请协调维修"))[0].text


async def test_the_comment_step_takes_one_message_and_leaves_with_cancel_or_unsubscribe(env: Any) -> None:
    chat = env.chat()
    person = await delivered_poll(env, chat)
    prompt = await chat.press("poll:m:2026-11:q3:2")
    assert payloads(prompt) == ["poll:m:2026-11:c:-"] and await chat.state() == "poll_comment"
    assert (await chat.say("取消"))[0].text.startswith("已取消")
    assert await chat.state() == "idle"

    await chat.press("poll:m:2026-11:q3:2")
    assert (await chat.say("退订"))[0].text == UNSUBSCRIBED
    assert await chat.state() == "idle"

    await chat.press("poll:m:2026-11:q3:1")  # the last answer counts
    assert (await chat.say("  办事指南能否再细一些  "))[0].text == COMMENT_THANKS
    answers = await PollStore(env.db).answers("m", "2026-11")
    assert [(a.person_id, a.question_id, a.value, a.comment) for a in answers] == [
        (person, "q3", "1", None),
        (person, "c", "text", "办事指南能否再细一些"),
    ]


async def test_a_comment_after_the_round_closed_is_an_ordinary_message(env: Any) -> None:
    chat = env.chat()
    await delivered_poll(env, chat)
    await chat.press("poll:m:2026-11:q3:4")
    env.clock.now = NOV_DUE + timedelta(days=14)
    replies = await chat.say("小微企业有哪些税费优惠")
    assert replies[0].text != COMMENT_THANKS and payloads(replies)[0].startswith("fb:")
    assert [a.question_id for a in await PollStore(env.db).answers("m", "2026-11")] == ["q3"]


async def test_poll_buttons_of_a_round_never_sent_are_stale(env: Any) -> None:
    chat = env.chat()
    env.clock.now = NOV_DUE
    [reply] = await chat.press("poll:m:2026-11:q1:5")
    assert reply.text.startswith("该按钮已失效") and HELP in reply.text
    assert await PollStore(env.db).answers("m", "2026-11") == []
