"""Monthly satisfaction polls through the public surfaces: the web API, the scheduler and the CLI.

October 2026 is the month of the tests: the national holiday runs to 10-07, so the round is due on
Thursday 10-08 at 10:00 China time.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.calendar_config import load_calendar
from bot.cli import main
from bot.core.flows.polls import COMMENT_THANKS, SUBSCRIBED, THANKS, UNSUBSCRIBED
from bot.schedule.poll_store import PollStore, schedule_due_polls
from bot.schedule.polls import (
    PollConfigError,
    build_items,
    closes_at,
    current_round,
    default_polls,
    due_at,
    load_polls,
    polls_from_text,
)

CAL = load_calendar()
POLL = default_polls().get("m")
DUE = "2026-10-08T10:00"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


async def cli(*argv: str) -> tuple[int, str]:
    """The CLI runs its own event loop, so from an async test it runs in a thread."""
    return await asyncio.to_thread(run, *argv)


async def say(env: Any, token: str, text: str) -> list[dict[str, Any]]:
    r = await env.client.post("/api/messages", json={"text": text}, headers=env.auth(token))
    assert r.status_code == 200
    replies: list[dict[str, Any]] = r.json()["replies"]
    return replies


async def press(env: Any, token: str, payload: str) -> list[dict[str, Any]]:
    r = await env.client.post("/api/messages", json={"button": payload}, headers=env.auth(token))
    assert r.status_code == 200
    replies: list[dict[str, Any]] = r.json()["replies"]
    return replies


async def inbox(env: Any, token: str) -> list[dict[str, Any]]:
    r = await env.client.get("/api/messages/pending", headers=env.auth(token))
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in message["buttons"]]


async def user_at(env: Any, iso: str) -> tuple[str, str]:
    env.clock.now = env.at(iso)
    return await env.web_user()


async def poll_rows(env: Any) -> dict[str, tuple[str, str]]:
    rows = await env.db.fetchall("SELECT target_id, state, note FROM schedule WHERE kind = 'poll'")
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


# -- when a round is due ---------------------------------------------------------------------------


async def test_the_round_is_due_on_the_first_working_day_at_ten_china_time(env: Any) -> None:
    assert POLL is not None
    assert current_round(POLL, env.at("2026-10-02T12:00"), CAL) == ("2026-10", env.at(DUE))
    assert due_at(POLL, "2026-11", CAL) == env.at("2026-11-02T10:00")  # 11-01 is a Sunday
    assert due_at(POLL, "2026-09", CAL) == env.at("2026-09-01T10:00")
    assert closes_at(POLL, "2026-10", CAL) == env.at("2026-10-22T10:00")
    await user_at(env, "2026-10-05T12:00")
    assert await schedule_due_polls(env.db, env.at("2026-10-08T09:59"), CAL) == 0
    assert await schedule_due_polls(env.db, env.at("2026-10-01T10:00"), CAL) == 0  # a holiday
    assert await schedule_due_polls(env.db, env.at(DUE), CAL) == 1
    [due] = await env.db.fetchall("SELECT due_at FROM schedule WHERE kind = 'poll'")
    assert due[0].startswith("2026-10-08T10:00:00")


async def test_recipients_are_the_panel_and_recent_writers_each_once(env: Any) -> None:
    _, old = await user_at(env, "2026-08-01T10:00")  # wrote long ago …
    _, gone = await user_at(env, "2026-09-01T10:00")  # … and more than 30 days before the due day
    token_a, a = await user_at(env, "2026-10-05T12:00")  # recent and on the panel
    _, b = await user_at(env, "2026-10-06T12:00")  # recent
    token_e, e = await user_at(env, "2026-10-06T13:00")
    assert (await say(env, token_e, "退订"))[0]["text"] == UNSUBSCRIBED
    store = PollStore(env.db)
    assert await store.add_to_panel(a, "体验官", env.clock())
    assert await store.add_to_panel(old, "体验官", env.clock())
    assert not await store.add_to_panel(a, "监督员", env.clock())  # already there: role changed

    assert await schedule_due_polls(env.db, env.at("2026-10-08T11:00"), CAL) == 3
    rows = await poll_rows(env)
    assert sorted(rows) == sorted([a, old, b])  # not `gone` (too long ago), not `e` (退订)
    assert gone not in rows and e not in rows

    # Idempotent: later passes add nothing, not even for a newcomer of the same month.
    _, newcomer = await user_at(env, "2026-10-09T10:00")
    assert await schedule_due_polls(env.db, env.at("2026-10-09T10:01"), CAL) == 0
    assert await schedule_due_polls(env.db, env.at("2026-10-20T10:00"), CAL) == 0
    assert sorted(await poll_rows(env)) == sorted([a, old, b])
    assert [(r.period, r.recipients) for r in await store.rounds("m")] == [("2026-10", 3)]
    # Scheduling the same items again (a crash before the round was marked) keeps the first.
    assert POLL is not None
    items = build_items(POLL, "2026-10", env.at(DUE), [a, b, a, newcomer])
    assert [i.target.chat_id for i in items] == [a, b, newcomer]
    assert await env.scheduler.store.add(items, env.clock()) == 1  # only the newcomer was new
    assert token_a


# -- answering on the web chat ---------------------------------------------------------------------


async def test_answering_every_question_by_buttons_after_the_scheduler_delivered(env: Any) -> None:
    token_a, _ = await user_at(env, "2026-10-05T12:00")
    token_b, _ = await user_at(env, "2026-10-06T12:00")
    env.clock.now = env.at(DUE)
    assert await schedule_due_polls(env.db, env.clock(), CAL) == 2
    tick = await env.scheduler.tick()
    assert tick.sent == 2

    [message] = await inbox(env, token_a)
    assert "营商环境月度满意度调查" in message["text"] and "退订" in message["text"]
    assert "（1/3）" in message["text"]
    assert buttons(message) == [f"poll:m:2026-10:q1:{v}" for v in "54321"]
    assert [b["label"] for b in message["buttons"]] == ["非常满意", "满意", "一般", "不满意", "非常不满意"]
    assert all(len(p.encode()) <= 64 for p in buttons(message))

    env.clock.advance(minutes=5)
    [q2] = await press(env, token_a, "poll:m:2026-10:q1:5")
    assert q2["text"].startswith("（2/3）") and buttons(q2) == ["poll:m:2026-10:q2:y", "poll:m:2026-10:q2:n"]
    [q3] = await press(env, token_a, "poll:m:2026-10:q2:y")
    assert q3["text"].startswith("（3/3）")
    [comment] = await press(env, token_a, "poll:m:2026-10:q3:4")
    assert "意见或建议" in comment["text"] and buttons(comment) == ["poll:m:2026-10:c:-"]
    [noted] = await say(env, token_a, "希望延长窗口午间办公时间")
    assert noted["text"] == COMMENT_THANKS
    # The comment is taken once: the next message is an ordinary question again.
    assert (await say(env, token_a, "希望延长窗口午间办公时间"))[0]["text"] != COMMENT_THANKS

    [inbox_b] = await inbox(env, token_b)
    for payload in ("poll:m:2026-10:q1:2", "poll:m:2026-10:q2:n", "poll:m:2026-10:q3:3"):
        await press(env, token_b, payload)
    assert (await press(env, token_b, "poll:m:2026-10:c:-"))[0]["text"] == THANKS
    assert inbox_b["text"] == message["text"]

    code, out = await cli("polls", "summary", "--period", "2026-10", "--db", str(env.path), "--json")
    assert code == 0
    [summary] = json.loads(out)
    assert (summary["invited"], summary["respondents"]) == (2, 2)
    q1, q2s, q3s, c = summary["questions"]
    assert q1["counts"] == {"非常满意": 1, "满意": 0, "一般": 0, "不满意": 1, "非常不满意": 0}
    assert (q1["n"], q1["satisfied"]) == (2, 0.5)
    assert (q2s["counts"], q2s["satisfied"]) == ({"是": 1, "否": 1}, 0.5)
    assert (q3s["n"], q3s["satisfied"]) == (2, 0.5)
    assert (c["n"], c["comments"]) == (1, ["希望延长窗口午间办公时间"])

    # The last answer counts: B changes the first answer while the round is open.
    [again] = await press(env, token_b, "poll:m:2026-10:q1:4")
    assert again["text"].startswith("（2/3）")
    code, out = await cli("polls", "summary", "--db", str(env.path))  # the latest round by default
    assert code == 0
    assert "营商环境月度满意度调查（m）2026-10 期：发放 2 人，作答 2 人" in out
    assert "非常满意 1  满意 1  一般 0  不满意 0  非常不满意 0  |  作答 2  满意率 100.0%" in out
    assert "· 希望延长窗口午间办公时间" in out


async def test_unsubscribe_drops_a_scheduled_poll_at_the_next_tick_and_resubscribe_restores(
    env: Any,
) -> None:
    token_a, a = await user_at(env, "2026-10-05T12:00")
    _, b = await user_at(env, "2026-10-06T12:00")
    env.clock.now = env.at(DUE)
    assert await schedule_due_polls(env.db, env.clock(), CAL) == 2
    [reply] = await say(env, token_a, "退订")  # after scheduling, before delivery
    assert reply["text"] == UNSUBSCRIBED and "订阅问卷" in reply["text"]
    await env.scheduler.tick()
    rows = await poll_rows(env)
    assert rows[a] == ("dropped", "unsubscribed")
    assert rows[b][0] == "sent"
    assert await inbox(env, token_a) == []
    # The dropped poll's buttons are not A's to press.
    assert (await press(env, token_a, "poll:m:2026-10:q1:5"))[0]["text"].startswith("该按钮已失效")

    assert (await say(env, token_a, "订阅问卷"))[0]["text"] == SUBSCRIBED
    env.clock.now = env.at("2026-11-02T10:00")
    assert await schedule_due_polls(env.db, env.clock(), CAL) == 2  # A wrote on 10-08: still recent
    await env.scheduler.tick()
    rounds = await env.db.fetchall(
        "SELECT key, state, note FROM schedule WHERE target_id = ? ORDER BY id", (a,)
    )
    assert [tuple(r) for r in rounds] == [
        (f"poll:m:2026-10:{a}", "dropped", "unsubscribed"),  # October's record stays
        (f"poll:m:2026-11:{a}", "sent", ""),
    ]
    assert any("营商环境月度满意度调查" in m["text"] for m in await inbox(env, token_a))


async def test_forged_and_stale_poll_buttons_get_the_stale_button_help(env: Any) -> None:
    token_a, _ = await user_at(env, "2026-10-05T12:00")
    env.clock.now = env.at(DUE)
    await schedule_due_polls(env.db, env.clock(), CAL)
    await env.scheduler.tick()
    token_b, _ = await env.web_user()  # not a recipient of this round

    async def stale(token: str, payload: str) -> bool:
        [reply] = await press(env, token, payload)
        return bool(reply["text"].startswith("该按钮已失效"))

    assert await stale(token_b, "poll:m:2026-10:q1:5")  # someone else's round
    for forged in (
        "poll:m:2026-10:q1:9",
        "poll:m:2026-10:q2:5",
        "poll:m:2026-10:zz:5",
        "poll:x:2026-10:q1:5",
        "poll:m:2026-13:q1:5",
        "poll:m:2026-09:q1:5",
        "poll:m:2026-10:q1",
        "poll:m:2026-10:q1:5:5",
        "poll:",
    ):
        assert await stale(token_a, forged), forged
    env.clock.now = env.at("2026-10-22T10:00")  # answer_days after the due time: closed
    assert await stale(token_a, "poll:m:2026-10:q1:5")
    assert await env.db.fetchall("SELECT * FROM poll_answers") == []
    env.clock.now = env.at("2026-10-22T09:59")
    assert not await stale(token_a, "poll:m:2026-10:q1:5")
    assert len(await env.db.fetchall("SELECT * FROM poll_answers")) == 1


# -- the command line ------------------------------------------------------------------------------


async def test_cli_panel_schedule_and_summary_table(env: Any, capsys: Any) -> None:
    _, member = await user_at(env, "2026-08-01T10:00")  # not recent: reached as a panel member
    db = str(env.path)
    code, _ = await cli("polls", "panel", "add", "no-such-person", "--db", db)
    assert code == 1 and "没有这个用户：no-such-person" in capsys.readouterr().err
    code, out = await cli("polls", "panel", "add", member, "--db", db)
    assert code == 0 and out == f"{member}（体验官）已加入问卷名单\n"
    code, out = await cli("polls", "panel", "list", "--db", db)
    assert code == 0 and out.startswith("问卷名单共 1 人\n") and f"{member}  体验官" in out
    code, out = await cli("polls", "panel", "list", "--db", db, "--json")
    assert [m["person"] for m in json.loads(out)] == [member]

    code, out = await cli("polls", "schedule", "--now", "2026-10-08T09:59", "--db", db)
    assert code == 0 and out == "截至 2026-10-08 09:59：新排入问卷推送 0 条\n"
    code, out = await cli("polls", "schedule", "--now", DUE, "--db", db, "--json")
    assert json.loads(out)["scheduled"] == 1
    code, out = await cli("polls", "schedule", "--now", "2026-10-08T10:30", "--db", db, "--json")
    assert json.loads(out)["scheduled"] == 0

    code, out = await cli("polls", "summary", "--poll", "m", "--period", "2026-10", "--db", db)
    assert code == 0
    assert out.splitlines()[0] == "营商环境月度满意度调查（m）2026-10 期：发放 1 人，作答 0 人"
    assert "|  作答 0  满意率 —" in out
    code, _ = await cli("polls", "summary", "--poll", "nope", "--db", db)
    assert code == 1 and "没有这个问卷：nope" in capsys.readouterr().err
    code, _ = await cli("polls", "summary", "--period", "2026-13", "--db", db)
    assert code == 1 and "期次格式不正确" in capsys.readouterr().err


# -- the definition file ---------------------------------------------------------------------------


GOOD = """
version: 1
sample: true
polls:
  - id: m
    title: 测试问卷
    period: monthly
    audiences: [panel]
    questions:
      - {id: q1, kind: scale5, text: 满意吗？}
      - {id: q2, kind: yes_no, text: 回应了吗？}
"""


def test_the_bundled_file_is_marked_as_sample_content() -> None:
    polls = load_polls()
    assert polls.config.sample is True and polls.source == "bot/data/polls.yaml"
    assert polls_from_text(GOOD).polls[0].recent_days == 30


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("kind: yes_no, text", "kind: yes_no, colour: red, text"), "polls.m.questions.1.colour", "未知字段"),
        (("sample: true\n", ""), "sample", "缺少必填字段"),
        (("period: monthly", "period: weekly"), "polls.m.period", "monthly"),
        (("id: q2", "id: q2_is_a_far_too_long_id"), "polls.m.questions.1.id", "pattern"),
        (("[panel]", "[panel, panel]"), "polls.m.audiences", "不能重复"),
        (
            ("      - {id: q1", "      - {id: c, kind: comment, text: 意见？}\n      - {id: q1"),
            "polls.m",
            "最后一题",
        ),
        (("  - {id: q2, kind: yes_no, text: 回应了吗？}\n", ""), "polls.m", "2–4 道选择题"),
        (("kind: scale5, text", "kind: scale5, favourable: n, text"), "polls.m.questions.0", "yes_no"),
    ],
)
def test_a_bad_definition_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, message: str
) -> None:
    old, new = change
    assert old in GOOD
    path = tmp_path / "polls.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(PollConfigError) as caught:
        load_polls(path)
    assert caught.value.path == str(path) and caught.value.field == field
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}，字段 {field}：")


def test_a_bad_file_stops_the_cli_with_its_name(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "polls.yaml"
    path.write_text("version: 1\nsample: true\npolls: [\n", encoding="utf-8")
    code, _ = run("polls", "summary", "--file", str(path), "--db", str(tmp_path / "x.db"))
    assert code == 1 and f"错误：{path}：YAML 语法错误" in capsys.readouterr().err
