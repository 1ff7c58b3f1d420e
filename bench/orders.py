"""Filing work orders through our store against a bare aiosqlite insert-and-commit loop.

Both sides run in this one process, one after the other, on fresh files in the same directory
with the same pragmas (WAL, synchronous=NORMAL), and both commit once per order, as a bot must
before it tells a petitioner their number. Ours does more per order: a per-day number from a
sequence table, the order row with all its fields, and the `file` audit event, in one
transaction. Target: ours files at least 0.5 × the bare rate.

Usage: python bench/orders.py [--orders N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiosqlite  # noqa: E402

from bot.filing import NewOrder  # noqa: E402
from bot.store.db import open_db  # noqa: E402
from bot.store.orders import SqliteWorkOrderRepo  # noqa: E402
from bot.workorder import OrderType, Source, Urgency  # noqa: E402

CST = timezone(timedelta(hours=8))
TARGET = 0.5
CONTENT = "我们公司门口长期被占道经营，影响货车进出，多次反映没有解决，请尽快处理。"


async def bare(path: Path, n: int) -> float:
    """Orders per second for the peer: one INSERT of the same text and one COMMIT per order."""
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, content TEXT, at TEXT)")
        await conn.commit()
        t0 = time.perf_counter()
        for i in range(n):
            await conn.execute(
                "INSERT INTO orders (content, at) VALUES (?, ?)", (CONTENT, f"2026-11-26T10:{i % 60:02d}")
            )
            await conn.commit()
        return n / (time.perf_counter() - t0)


async def ours(path: Path, n: int) -> float:
    """Orders per second filed through `SqliteWorkOrderRepo.file` (number + order + event)."""
    async with await open_db(path) as db:
        repo = SqliteWorkOrderRepo(db)
        at = datetime(2026, 11, 26, 10, 0, tzinfo=CST)
        draft = NewOrder(
            type=OrderType.complaint,
            urgency=Urgency.hoped,
            source=Source.web,
            content=CONTENT,
            petitioner="bench",
            contact_phone="13812345678",
        )
        t0 = time.perf_counter()
        for _ in range(n):
            await repo.file(draft, by="bench", at=at)
        return n / (time.perf_counter() - t0)


async def run(n: int, rounds: int = 3) -> dict[str, Any]:
    """Alternate the two sides `rounds` times on fresh files and compare the median rates, so a
    burst of other work on the machine does not land on one side only."""
    bare_rates: list[float] = []
    ours_rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        await bare(Path(tmp) / "warm.db", 50)  # first-use costs out of both measurements
        for r in range(rounds):
            bare_rates.append(await bare(Path(tmp) / f"bare{r}.db", n))
            ours_rates.append(await ours(Path(tmp) / f"ours{r}.db", n))
    bare_rate, ours_rate = statistics.median(bare_rates), statistics.median(ours_rates)
    return {
        "orders": n,
        "rounds": rounds,
        "bare_per_s": round(bare_rate, 1),
        "ours_per_s": round(ours_rate, 1),
        "ratio": round(ours_rate / bare_rate, 3),
        "target_ratio_min": TARGET,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = asyncio.run(run(args.orders))
    if args.json:
        print(json.dumps(r))
    else:
        verdict = "ok" if r["ratio"] >= TARGET else "MISSED"
        print(f"filing {r['orders']} orders, one commit each, median of {r['rounds']} alternating rounds")
        print(f"  bare aiosqlite insert+commit: {r['bare_per_s']:.0f} /s")
        print(f"  ours (number + order + audit event): {r['ours_per_s']:.0f} /s")
        print(f"  ratio ours / bare = {r['ratio']:.2f} (target ≥ {TARGET}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
