"""Time `bot.indicators.compute` on 100,000 synthetic orders (~6 events each); target < 1 s.

The orders follow the usual paths: most go 受理 → 派单 → 签收 → 办结 → 回访 → 评价; some are
returned and redispatched, extended, urged, reopened after an unsatisfied rating, or rejected /
withdrawn. Seeded, so every run times the same data. Best of 3.

Usage: python bench/indicators.py [--orders N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(REPO))

from bot.indicators import compute, default_config  # noqa: E402
from bot.workorder import (  # noqa: E402
    Action,
    Event,
    OrderType,
    Rating,
    Source,
    Status,
    Urgency,
    WorkOrder,
)

TARGET_S = 1.0
CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)
UNITS = ("amr", "tax", "hrss", "hcd", "urban", "ndrc", "approval", "huaiheroad", "dehuajie", "mazhai")
S, A = Status, Action


def synth(n: int, seed: int) -> tuple[list[WorkOrder], list[Event]]:
    """`n` orders created over March 2026 and their events, in a realistic mix."""
    rnd = random.Random(seed)
    orders: list[WorkOrder] = []
    events: list[Event] = []
    for i in range(n):
        number = f"EQ-202603{1 + i // 4000:02d}-{1 + i % 4000:04d}"
        created = START + timedelta(minutes=rnd.randrange(31 * 24 * 60))
        t = created
        evs: list[Event] = []

        def ev(
            action: Action,
            frm: Status,
            to: Status,
            hours: float,
            *data: tuple[str, str | int | bool],
            evs: list[Event] = evs,
            number: str = number,
        ) -> None:
            nonlocal t
            t += timedelta(hours=hours)
            evs.append(
                Event(
                    order_number=number, action=action, from_status=frm, to_status=to, by="s", at=t, data=data
                )
            )

        status, unit, rating, reopens, urges, deadline = S.accepted, None, None, 0, 0, None
        ev(A.accept, S.pending, S.accepted, rnd.uniform(0.1, 2))
        if rnd.random() < 0.03:
            ev(A.reject, S.pending, S.rejected, 0.5, ("reason", "out_of_scope"))
            status = S.rejected
        else:
            unit = rnd.choice(UNITS)
            deadline = t + timedelta(days=rnd.choice((3, 5, 10)))
            ev(
                A.dispatch,
                S.accepted,
                S.dispatched,
                rnd.uniform(0.1, 20),
                ("unit", unit),
                ("deadline", deadline.isoformat()),
            )
            if rnd.random() < 0.08:  # returned and redispatched
                ev(A.return_, S.dispatched, S.accepted, rnd.uniform(1, 30), ("reason", "not_our_duty"))
                unit = rnd.choice(UNITS)
                deadline = t + timedelta(days=5)
                ev(
                    A.dispatch,
                    S.accepted,
                    S.dispatched,
                    2,
                    ("unit", unit),
                    ("deadline", deadline.isoformat()),
                )
            ev(A.acknowledge, S.dispatched, S.in_progress, rnd.uniform(0.1, 30))
            status = S.in_progress
            if rnd.random() < 0.1:
                urges += 1
                ev(A.urge, S.in_progress, S.in_progress, rnd.uniform(1, 48), ("urge_count", urges))
            if rnd.random() < 0.05:
                deadline += timedelta(days=5)
                ev(
                    A.approve_extension,
                    S.in_progress,
                    S.in_progress,
                    1,
                    ("days", 5),
                    ("deadline", deadline.isoformat()),
                )
            if rnd.random() < 0.02:
                ev(A.withdraw, S.in_progress, S.withdrawn, 5)
                status = S.withdrawn
            elif rnd.random() < 0.95:
                for _ in range(2):
                    ev(A.resolve, S.in_progress, S.resolved, rnd.uniform(2, 200), ("result", "已处理"))
                    ev(A.start_visit, S.resolved, S.awaiting_visit, 20)
                    rating = rnd.choices(list(Rating), weights=(60, 25, 8, 5, 2))[0]
                    unhappy = rating in (Rating.unsatisfied, Rating.very_unsatisfied)
                    ev(
                        A.rate,
                        S.awaiting_visit,
                        S.in_progress if unhappy else S.archived,
                        2,
                        ("rating", rating.value),
                        ("reopened", unhappy),
                    )
                    status = S.in_progress if unhappy else S.archived
                    if not unhappy:
                        break
                    reopens += 1
        events.extend(evs)
        orders.append(
            WorkOrder(
                number=number, type=OrderType.complaint, urgency=Urgency.hoped, source=Source.web,
                status=status, content="", petitioner="p", created_at=created, updated_at=t, unit=unit,
                deadline=deadline, return_count=0, reopen_count=reopens, urge_count=urges, rating=rating,
            )
        )  # fmt: skip
    return orders, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    orders, events = synth(args.orders, args.seed)
    config = default_config()
    period = (START, START + timedelta(days=31))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        report = compute(orders, events, period=period, config=config)
        best = min(best, time.perf_counter() - t0)
    total = report.as_rows()[-1]
    print(f"orders {len(orders):,}, events {len(events):,} ({len(events) / len(orders):.1f} per order)")
    print(
        f"compute: best of 3 {best:.3f} s (target < {TARGET_S:.0f} s) {'OK' if best < TARGET_S else 'SLOW'}"
    )
    print("district total:", ", ".join(f"{k} {v}" for k, v in total.items()))


if __name__ == "__main__":
    main()
