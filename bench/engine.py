"""The conversation engine under many simulated users, with persistence on, beside a bare
aiosqlite write loop in the same run.

The engine is built exactly as production builds it (`bot.app.open_app` on a fresh SQLite file:
WAL, synchronous=NORMAL, every migration, the bundled knowledge base), and every message goes
through `Core.handle`, which commits the inbound row, the dialog and the reply rows before it
returns. Simulated users (seeded, so every run sends the same conversation given the same engine)
send a realistic mix: policy questions (the bundled KB's paraphrases and the calibration queries
`knowledge/data/calibration/queries.yaml`), 有用/没用 and "did you mean" button presses on the
answers, greetings, 帮助, 我的工单 (and a look at one order), petitions walking the intake form a few
steps (some filed, most cancelled), 转人工 + 取消, chit-chat the KB does not cover. Each user sends
its next message only after the reply to the previous one, as a chat client does.

Two load models, both over the same number of messages, for both sides:
- saturated: N users with no think time (`asyncio.gather`, each user awaits its own replies in
  order). Gives the capacity in messages/s. Its latencies are queueing by construction (Little's
  law: mean latency ≈ N / rate, e.g. 200 users at 1,000/s wait 200 ms), so they are printed but
  say nothing about responsiveness.
- paced: the same N users with seeded exponential think times so that together they offer
  `--rate` messages/s (default: the 1,000/s target). A message's latency runs from its send to
  its reply; when its user is behind schedule (the engine fell behind the offered load), from
  when it was due (or the previous reply, if later), so backlog counts too.
  This p99 is the one checked against the 10 ms target.
The bare peer is one aiosqlite connection (same pragmas) where each message is one INSERT of a
message row and one COMMIT, under an `asyncio.Lock` like `bot.store.db.Database` (without it
concurrent users would share commits).

"One core": the whole process (every thread, including aiosqlite's worker threads, which start
later and inherit it) is pinned with `os.sched_setaffinity` to the lowest CPU it may use, unless
`--no-pin`. `--profile` runs the saturated engine phase under cProfile (main thread only: the
SQLite calls themselves run in aiosqlite's worker thread and show up as event-loop waiting).

Usage: python bench/engine.py [--users 200] [--messages 5000] [--rate 1000] [--seed 7]
       [--no-pin] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `bot` and `knowledge` importable
    sys.path.insert(0, str(REPO))

import aiosqlite  # noqa: E402
import yaml  # noqa: E402

import knowledge  # noqa: E402
from bot.app import App, open_app  # noqa: E402
from bot.core.messages import Address, Inbound, Reply  # noqa: E402

CALIBRATION = Path(knowledge.__file__).resolve().parent / "data/calibration/queries.yaml"
CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 26, 10, 0, tzinfo=CST)  # a Thursday in office hours: handoff stays in-chat
WARMUP = 200  # untimed engine messages first (jieba, caches, SQLite pages); bare: 50
TARGET_RATE = 1000.0  # messages/s, saturated
TARGET_P99_MS = 10.0  # at the paced rate

GREETINGS = ("你好", "您好", "在吗", "你好，请问有人吗", "早上好", "hello")
HELP = ("帮助", "/start", "你能做什么", "怎么用")
ORDERS = ("我的工单", "查一下我的工单", "我提交的诉求办得怎么样了")
CHITCHAT = ("今天天气怎么样", "哈哈", "谢谢", "好的", "中午吃什么", "你是机器人吗", "？？？")
OPENERS = (
    "我要反映问题",
    "我要提交诉求",
    "我要投诉，我们公司门口被占道，电话{phone}",
    "想反映一下园区路灯坏了好几天了，晚上货车进出不安全",
    "我要举报旁边工地夜间施工噪音扰民",
    "建议园区增加公交班次，员工上下班太不方便",
)
CONTENTS = (
    "厂区门口道路破损，货车进出困难，请协调维修。",
    "园区附近夜间施工噪音很大，影响员工休息。",
    "申请的稳岗返还一直没到账，想问问进度。",
    "希望增加园区到地铁站的公交班次。",
)
COMPANIES = ("跳过", "郑州二七某某科技有限公司", "河南某某商贸有限公司", "无")
PLACES = ("跳过", "大学路与航海路交叉口", "二七区马寨产业园", "跳过")


class Done(Exception):
    """The user's message budget is used up."""


@dataclass
class Phase:
    messages: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def pct(self, q: float) -> float:
        """The q-quantile of latency in ms (nearest rank)."""
        xs = sorted(self.latencies)
        return 1000 * xs[min(len(xs) - 1, max(0, round(q * len(xs)) - 1))]

    def summary(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "seconds": round(self.seconds, 3),
            "per_s": round(self.rate, 1),
            "p50_ms": round(self.pct(0.50), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "max_ms": round(1000 * max(self.latencies), 2),
            "mean_ms": round(1000 * statistics.fmean(self.latencies), 2),
        }


Call = Callable[[str, str | None, str | None], Awaitable[list[Reply]]]


class Session:
    """One simulated user's connection to a side: sends, times, paces, counts its budget."""

    def __init__(self, user: str, call: Call, budget: int, latencies: list[float]) -> None:
        self.user, self.call, self.left, self.latencies = user, call, budget, latencies
        self.due: list[float] | None = None  # paced: absolute send times, in order (None: saturated)
        self.prev_end = 0.0

    async def send(self, text: str | None = None, button: str | None = None) -> list[Reply]:
        if self.left <= 0:
            raise Done
        self.left -= 1
        if self.due is None:
            start = time.perf_counter()
        else:  # open loop: a late reply does not slow the schedule, it counts as latency
            due = self.due.pop(0)
            start = max(due, self.prev_end)
            if start > time.perf_counter():  # on schedule: timed from the actual send, since
                await asyncio.sleep(start - time.perf_counter())  # asyncio timers wake up to
                start = time.perf_counter()  # 1 ms late (epoll's ms timeout), a socket would not
        replies = await self.call(self.user, text, button)
        self.prev_end = time.perf_counter()
        self.latencies.append(self.prev_end - start)
        return replies


def payloads(replies: Sequence[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


async def consult(s: Session, rng: random.Random, queries: Sequence[str]) -> None:
    replies = await s.send(rng.choice(queries))
    buttons = payloads(replies)
    choices = [p for p in buttons if p.startswith("kb:")]
    if choices and rng.random() < 0.6:  # "您是不是想问": pick one
        replies = await s.send(button=rng.choice(choices))
        buttons = payloads(replies)
    rated = [p for p in buttons if p.startswith("fb:")]
    if rated and rng.random() < 0.25:
        await s.send(button=rng.choice(rated))


async def my_orders(s: Session, rng: random.Random) -> None:
    replies = await (s.send(rng.choice(ORDERS)) if rng.random() < 0.7 else s.send(button="orders:list"))
    listed = [p for p in payloads(replies) if p.startswith("order:")]
    if listed and rng.random() < 0.5:
        await s.send(button=rng.choice(listed))


async def petition(s: Session, rng: random.Random) -> None:
    """Open the form, answer what it asks for a few steps; file about half of the completed forms,
    cancel the rest."""
    if rng.random() < 0.2:
        replies = await s.send(button="petition:start")
    else:
        replies = await s.send(rng.choice(OPENERS).format(phone=phone(rng)))
    for _ in range(rng.randint(2, 8)):
        last = replies[-1]
        buttons = payloads(replies)
        if "pf:confirm" in buttons:
            if rng.random() < 0.5:
                await s.send(button="pf:confirm")
                return
            break
        if any(p.startswith("pt:") for p in buttons):
            replies = await s.send(button=rng.choice([p for p in buttons if p.startswith("pt:")]))
        elif "pc:0" in buttons:
            replies = await s.send(button=rng.choice(("pc:0", "pc:1")))
        elif "请简要描述" in last.text or "描述太短" in last.text:
            replies = await s.send(rng.choice(CONTENTS))
        elif "企业名称" in last.text:
            replies = await s.send(rng.choice(COMPANIES))
        elif "联系电话" in last.text or "电话号码" in last.text:
            replies = await s.send(phone(rng))
        elif "地点" in last.text:
            replies = await s.send(rng.choice(PLACES))
        elif forward := [p for p in buttons if p != "cancel"]:  # a step it does not know: 跳过/完成
            replies = await s.send(button=forward[-1])
        else:
            return  # the form did not start (e.g. classified otherwise): nothing to cancel
    await (s.send("取消") if rng.random() < 0.7 else s.send(button="cancel"))


async def simulated_user(s: Session, rng: random.Random, queries: Sequence[str]) -> None:
    """Episodes in a realistic mix until the budget is used up."""
    try:
        while True:
            x = rng.random()
            if x < 0.50:
                await consult(s, rng, queries)
            elif x < 0.60:
                await s.send(rng.choice(GREETINGS))
            elif x < 0.66:
                await s.send(rng.choice(HELP))
            elif x < 0.74:
                await my_orders(s, rng)
            elif x < 0.88:
                await petition(s, rng)
            elif x < 0.91:
                await s.send("转人工")
                await s.send("取消")
            elif x < 0.93:
                await s.send("评价")
            else:
                await s.send(rng.choice(CHITCHAT))
    except Done:
        return


async def bare_user(s: Session, rng: random.Random, queries: Sequence[str]) -> None:
    try:
        while True:
            await s.send(rng.choice(queries))
    except Done:
        return


User = Callable[[Session, random.Random, Sequence[str]], Awaitable[None]]


async def drive(
    call: Call, user: User, queries: Sequence[str], *, users: int, messages: int,
    prefix: str, seed: int, rate: float | None,
) -> Phase:  # fmt: skip
    """`messages` spread over `users` concurrent users; `rate` None = saturated (no think time).

    Paced: one seeded Poisson stream of `messages` send times at `rate`/s, dealt round-robin to
    the users, so the offered load is exactly `rate` while each user still waits for its replies.
    """
    latencies: list[float] = []
    sessions = [
        Session(f"{prefix}{i}", call, messages // users + (i < messages % users), latencies)
        for i in range(users)
    ]
    t0 = time.perf_counter()
    if rate:
        arrivals, t, clock = random.Random(f"{seed}:{prefix}:arrivals"), t0, []
        for _ in range(messages):
            t += arrivals.expovariate(rate)
            clock.append(t)
        for i, s in enumerate(sessions):
            s.due = clock[i::users]
    for s in sessions:
        s.prev_end = t0
    await asyncio.gather(
        *(user(s, random.Random(f"{seed}:{prefix}:{i}"), queries) for i, s in enumerate(sessions))
    )
    return Phase(len(latencies), time.perf_counter() - t0, latencies)


def load_queries(app: App) -> list[str]:
    """Every paraphrase of the bundled KB plus every calibration query, in a fixed order."""
    queries = [p for e in app.core.deps.kb for p in e.paraphrases]
    with CALIBRATION.open(encoding="utf-8") as f:
        queries += [str(q["query"]) for q in yaml.safe_load(f)["queries"]]
    return queries


def sim_clock() -> Callable[[], datetime]:
    """Simulated time: starts in office hours on a working day, runs at wall speed."""
    t0 = time.perf_counter()
    return lambda: START + timedelta(seconds=time.perf_counter() - t0)


def engine_call(app: App, clock: Callable[[], datetime]) -> Call:
    async def call(user: str, text: str | None, button: str | None) -> list[Reply]:
        return await app.core.handle(Inbound(Address("web", user), at=clock(), text=text, button=button))

    return call


async def bare_open(path: Path) -> tuple[aiosqlite.Connection, Call]:
    conn = await aiosqlite.connect(path)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, channel TEXT NOT NULL, chat_id TEXT NOT NULL,"
        " direction TEXT NOT NULL, text TEXT, button TEXT, at TEXT NOT NULL)"
    )
    await conn.commit()
    lock = asyncio.Lock()

    async def call(user: str, text: str | None, button: str | None) -> list[Reply]:
        at = datetime.now(CST).isoformat(timespec="microseconds")
        async with lock:
            await conn.execute(
                "INSERT INTO messages (channel, chat_id, direction, text, button, at) "
                "VALUES (?, ?, 'in', ?, ?, ?)",
                ("web", user, text, button, at),
            )
            await conn.commit()
        return []

    return conn, call


def pin_one_core() -> int | None:
    """Pin every thread of this process to the lowest allowed CPU; None where unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    tasks = Path("/proc/self/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, {cpu})
    return cpu


async def run(args: argparse.Namespace) -> dict[str, Any]:
    common = {"users": args.users, "messages": args.messages, "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        t_open = time.perf_counter()
        clock = sim_clock()
        app = await open_app(Path(tmp) / "engine.db", clock=clock)
        open_s = time.perf_counter() - t_open
        try:
            queries = load_queries(app)
            call = engine_call(app, clock)
            warm = {**common, "messages": WARMUP}
            await drive(call, simulated_user, queries, **warm, prefix="w", rate=None)
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            sat = await drive(call, simulated_user, queries, **common, prefix="u", rate=None)
            if profiler:
                profiler.disable()
            paced = await drive(call, simulated_user, queries, **common, prefix="p", rate=args.rate)
            rows = await app.db.fetchone(
                "SELECT (SELECT count(*) FROM messages) m, (SELECT count(*) FROM work_orders) o"
            )
        finally:
            await app.close()
        conn, bcall = await bare_open(Path(tmp) / "bare.db")
        try:
            await drive(bcall, bare_user, queries, **{**common, "messages": 50}, prefix="w", rate=None)
            bsat = await drive(bcall, bare_user, queries, **common, prefix="u", rate=None)
            bpaced = await drive(bcall, bare_user, queries, **common, prefix="p", rate=args.rate)
        finally:
            await conn.close()
    out: dict[str, Any] = {
        **common,
        "rate_offered": args.rate,
        "cpu_pinned": args.cpu,
        "python": platform.python_version(),
        "open_app_s": round(open_s, 2),
        "db_rows": {"messages": rows["m"] if rows else 0, "work_orders": rows["o"] if rows else 0},
        "engine_saturated": sat.summary(),
        "engine_paced": paced.summary(),
        "bare_saturated": bsat.summary(),
        "bare_paced": bpaced.summary(),
        "ratio": round(sat.rate / bsat.rate, 3),
        "target_per_s": TARGET_RATE,
        "target_p99_ms": TARGET_P99_MS,
        "rate_ok": sat.rate >= TARGET_RATE,
        "p99_ok": paced.pct(0.99) <= TARGET_P99_MS,
    }
    if profiler:
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        out["profile"] = buf.getvalue()
    return out


def report(r: dict[str, Any]) -> str:
    pin = f"pinned to CPU {r['cpu_pinned']}" if r["cpu_pinned"] is not None else "not pinned"
    lines = [
        f"{r['messages']} messages from {r['users']} simulated users (seed {r['seed']}), {pin}, "
        f"Python {r['python']}; open_app {r['open_app_s']:.2f} s",
        "",
        "| side | load | msgs/s | p50 ms | p99 ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for side, key in (("engine", "engine"), ("bare aiosqlite insert+commit", "bare")):
        for load, sub in (("saturated", "saturated"), (f"paced {r['rate_offered']:.0f}/s", "paced")):
            p = r[f"{key}_{sub}"]
            ms = " | ".join(f"{p[k]:.2f}" for k in ("p50_ms", "p99_ms", "max_ms"))
            lines.append(f"| {side} | {load} | {p['per_s']:.0f} | {ms} |")
    sat, paced = r["engine_saturated"], r["engine_paced"]
    rate_ok, p99_ok = ("ok" if r[k] else "MISSED" for k in ("rate_ok", "p99_ok"))
    rows = r["db_rows"]
    lines += [
        "",
        f"ratio engine / bare (saturated msgs/s) = {r['ratio']:.2f}",
        f"engine {sat['per_s']:.0f} msgs/s saturated (target ≥ {TARGET_RATE:.0f}: {rate_ok})",
        f"engine p99 {paced['p99_ms']:.2f} ms at {r['rate_offered']:.0f}/s offered "
        f"(target ≤ {TARGET_P99_MS:.0f} ms: {p99_ok})",
        "saturated latencies are queueing (≈ users / rate); the paced p99 is the responsiveness figure",
        f"engine database afterwards: {rows['messages']} message rows, {rows['work_orders']} work orders",
    ]
    if "profile" in r:
        lines += ["", "cProfile of the saturated engine phase (main thread):", r["profile"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=TARGET_RATE, help="offered msgs/s of the paced phase")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    ap.add_argument("--profile", action="store_true", help="cProfile the saturated engine phase")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    args.cpu = None if args.no_pin else pin_one_core()
    r = asyncio.run(run(args))
    print(json.dumps(r, ensure_ascii=False) if args.json else report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
