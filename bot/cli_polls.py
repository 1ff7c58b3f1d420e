"""`yiqiban polls panel add|list`, `polls schedule`, `polls summary`: satisfaction polls by hand.

`schedule --now` does what the running scheduler does on each pass (schedule a round whose due
time has come, once), so operators can check who a round would reach and tests can drive time.
The summary is what the district reports: per question, the answers per choice, n and 满意率.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, TextIO

from bot.cli_schedule import _when
from bot.cli_tickets import db_path


def _polls(args: argparse.Namespace) -> Any:
    from bot.schedule.polls import default_polls, load_polls

    return load_polls(args.file) if args.file else default_polls()


def cmd_panel_add(args: argparse.Namespace, out: TextIO) -> int:
    from bot.schedule.poll_store import PollStore
    from bot.store.db import open_db

    now = _when(None)

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            new = await PollStore(db).add_to_panel(args.person_id, args.role, now)
        if args.json:
            out.write(json.dumps({"person": args.person_id, "role": args.role, "new": new}) + "\n")
        else:
            what = "已加入问卷名单" if new else "已在问卷名单中，角色已更新"
            out.write(f"{args.person_id}（{args.role}）{what}\n")
        return 0

    return asyncio.run(run())


def cmd_panel_list(args: argparse.Namespace, out: TextIO) -> int:
    from bot.schedule.poll_store import PollStore
    from bot.store.db import open_db

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            members = await PollStore(db).panel()
        if args.json:
            rows = [
                {
                    "person": m.person_id,
                    "role": m.role,
                    "name": m.display_name,
                    "added_at": m.added_at.isoformat(),
                }
                for m in members
            ]
            out.write(json.dumps(rows, ensure_ascii=False) + "\n")
            return 0
        out.write(f"问卷名单共 {len(members)} 人\n")
        for m in members:
            name = f"  {m.display_name}" if m.display_name else ""
            out.write(f"{m.person_id}  {m.role}  {m.added_at:%Y-%m-%d}{name}\n")
        return 0

    return asyncio.run(run())


def cmd_schedule(args: argparse.Namespace, out: TextIO) -> int:
    from bot.calendar_config import load_calendar
    from bot.schedule.poll_store import schedule_due_polls
    from bot.store.db import open_db

    now, polls = _when(args.now), _polls(args)

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            added = await schedule_due_polls(db, now, load_calendar(), polls)
        if args.json:
            out.write(json.dumps({"now": now.isoformat(), "scheduled": added}) + "\n")
        else:
            out.write(f"截至 {now:%Y-%m-%d %H:%M}：新排入问卷推送 {added} 条\n")
        return 0

    return asyncio.run(run())


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def cmd_summary(args: argparse.Namespace, out: TextIO) -> int:
    from bot.schedule.poll_store import PollStore
    from bot.schedule.polls import PollSummary, parse_period, period_of
    from bot.store.db import open_db

    polls = _polls(args)
    chosen = [p for p in polls.polls if args.poll in (None, p.id)]
    if not chosen:
        raise LookupError(f"没有这个问卷：{args.poll}（可选：{'、'.join(p.id for p in polls.polls)}）")
    if args.period is not None and parse_period(args.period) is None:
        raise ValueError(f"期次格式不正确：{args.period!r}（应为 YYYY-MM，如 2026-10）")

    async def run() -> int:
        summaries: list[PollSummary] = []
        async with await open_db(db_path(args)) as db:
            store = PollStore(db)
            for poll in chosen:
                period = args.period
                if period is None:  # the latest round sent, else this month
                    rounds = await store.rounds(poll.id)
                    period = rounds[0].period if rounds else period_of(_when(None))
                summaries.append(await store.summary(poll, period))
        if args.json:
            out.write(json.dumps([s.as_dict() for s in summaries], ensure_ascii=False, indent=2) + "\n")
            return 0
        for s in summaries:
            invited = "未发放" if s.invited is None else f"发放 {s.invited} 人"
            out.write(f"{s.title}（{s.poll_id}）{s.period} 期：{invited}，作答 {s.respondents} 人\n")
            for i, q in enumerate(s.questions, 1):
                out.write(f"{i}. {q.text}\n")
                if q.kind == "comment":
                    out.write(f"   意见建议 {q.n} 条\n")
                    for c in q.comments:
                        out.write(f"   · {c}\n")
                    continue
                cells = "  ".join(f"{label} {count}" for label, count in q.counts)
                out.write(f"   {cells}  |  作答 {q.n}  满意率 {_pct(q.satisfied)}\n")
        return 0

    return asyncio.run(run())


def add_parsers(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="数据库文件（默认 var/yiqiban.db，或环境变量 YIQIBAN_DB）")
    common.add_argument("--json", action="store_true")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--file", help="问卷定义文件（默认内置 bot/data/polls.yaml）")
    polls = sub.add_parser("polls", help="满意度问卷：体验官名单、按期发放、结果汇总")
    cmds = polls.add_subparsers(dest="polls_command", required=True)
    panel = cmds.add_parser("panel", help="问卷名单（营商环境体验官等）").add_subparsers(
        dest="panel_command", required=True
    )
    add = panel.add_parser("add", parents=[common], help="把用户加入问卷名单")
    add.add_argument("person_id", help="用户 id（people.id）")
    add.add_argument("--role", default="体验官", help="角色（默认 体验官）")
    add.set_defaults(func=cmd_panel_add)
    lst = panel.add_parser("list", parents=[common], help="列出问卷名单")
    lst.set_defaults(func=cmd_panel_list)
    sched = cmds.add_parser("schedule", parents=[common, data], help="到期时排入本期问卷（重复执行无副作用）")
    sched.add_argument("--now", help="时刻（ISO 8601，默认现在）")
    sched.set_defaults(func=cmd_schedule)
    summ = cmds.add_parser("summary", parents=[common, data], help="问卷结果汇总")
    summ.add_argument("--poll", help="问卷 id（默认全部）")
    summ.add_argument("--period", help="期次 YYYY-MM（默认最近一期）")
    summ.set_defaults(func=cmd_summary)
