"""`yiqiban scheduler tick --now` and `yiqiban scheduler list` on a real database file."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

from bot.cli import main
from bot.workorder import Action


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


async def cli(*argv: str) -> tuple[int, str]:
    """The CLI runs its own event loop, so from an async test it runs in a thread."""
    return await asyncio.to_thread(run, *argv)


async def test_tick_runs_what_is_due_as_of_the_given_time(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    env.clock.now = env.at("2026-11-26T21:30")
    await env.tickets.act(order.number, Action.accept, by="staff:1", at=env.clock())
    db = str(env.path)

    code, text = await cli("scheduler", "tick", "--now", "2026-11-26T21:31", "--db", db)
    assert code == 0 and "推迟 1" in text  # the notice waits for the morning
    code, text = await cli("scheduler", "list", "--db", db, "--json")
    [item] = json.loads(text)["items"]
    assert item["kind"] == "notice" and item["due_at"] == "2026-11-27T08:00:00+08:00"
    assert item["note"] == "quiet hours"

    code, text = await cli("scheduler", "tick", "--now", "2026-11-27T08:00", "--db", db, "--json")
    assert code == 0 and json.loads(text)["sent"] == 1
    assert len(await env.pending(token)) == 1
    code, text = await cli("scheduler", "list", "--db", db, "--state", "sent")
    assert "sent 2" in text and order.number in text  # the notice and the weekly summary


def test_a_bad_time_is_a_polite_error(tmp_path: Any, capsys: Any) -> None:
    code, _ = run("scheduler", "tick", "--now", "明天早上", "--db", str(tmp_path / "x.db"))
    assert code == 1 and "时间格式不正确" in capsys.readouterr().err


async def test_an_uncertain_push_is_resolved_by_a_person(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    await env.tickets.act(order.number, Action.accept, by="staff:1", at=env.clock())
    [item] = await env.scheduler.store.due(env.clock(), 10)
    assert item.id is not None
    assert await env.scheduler.store.claim(item.id, env.clock())  # a send began …
    assert await env.scheduler.store.recover(env.clock()) == 1  # … and the process died
    db = str(env.path)

    code, text = await cli("scheduler", "list", "--db", db)
    assert f"#{item.id}" in text and "uncertain" in text
    code, _ = await cli("scheduler", "resolve", str(item.id + 1), "--resend", "--db", db)
    assert code == 1  # not an uncertain item: refused, nothing changes
    code, text = await cli("scheduler", "resolve", str(item.id), "--resend", "--by", "王芳", "--db", db)
    assert code == 0 and "重新发送" in text
    assert (await env.scheduler.tick()).sent == 1
    assert len(await env.pending(token)) == 1
    code, _ = await cli("scheduler", "resolve", str(item.id), "--delivered", "--db", db)
    assert code == 1  # already settled
