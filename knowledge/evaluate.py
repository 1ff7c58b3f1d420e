"""Retrieval evaluation on JSON Lines data: `{"id","question","answer"}` KBs and `{"query","gold"}` queries.

Used by `yiqiban kb eval` and by the benchmarks; the metrics are the usual FAQ-retrieval ones:
top-1 accuracy, recall@3, MRR@10, and per-query latency percentiles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import KnowledgeError


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    gold: frozenset[str]


@dataclass(frozen=True, slots=True)
class Report:
    n: int
    top1: float
    recall3: float
    mrr10: float
    p50_ms: float
    p99_ms: float
    build_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(path, None, None, f"无法读取文件：{exc}") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KnowledgeError(path, None, None, f"不是合法的 JSON：{exc.msg}", lineno) from None
        if not isinstance(row, dict):
            raise KnowledgeError(path, None, None, "每行应是一个 JSON 对象", lineno)
        yield lineno, row


def read_kb_pairs(path: Path) -> list[tuple[str, str]]:
    """(id, question) rows of an evaluation KB; `paraphrases`, when present, are indexed too."""
    return read_kb(path)[0]


def read_kb(path: Path) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(id, question) rows of an evaluation KB plus each entry's non-empty `answer`."""
    pairs: list[tuple[str, str]] = []
    answers: dict[str, str] = {}
    for lineno, row in _read_jsonl(path):
        eid, question = row.get("id"), row.get("question")
        if not isinstance(eid, str) or not eid or not isinstance(question, str) or not question.strip():
            raise KnowledgeError(
                path, str(eid) if eid else None, "id/question", "缺少 id 或 question", lineno
            )
        pairs.append((eid, question))
        for p in row.get("paraphrases") or ():
            if isinstance(p, str) and p.strip():
                pairs.append((eid, p))
        answer = row.get("answer")
        if isinstance(answer, str) and answer.strip():
            answers[eid] = answer
    return pairs, answers


def read_queries(path: Path) -> list[Query]:
    """Queries with their acceptable answers (`gold` plus any `gold_all`)."""
    out: list[Query] = []
    for lineno, row in _read_jsonl(path):
        text, gold = row.get("query"), row.get("gold")
        if not isinstance(text, str) or not text.strip() or not isinstance(gold, str):
            raise KnowledgeError(path, None, "query/gold", "缺少 query 或 gold", lineno)
        extra = row.get("gold_all") or []
        if not isinstance(extra, list):
            raise KnowledgeError(path, None, "gold_all", "gold_all 应是列表", lineno)
        out.append(Query(text, frozenset([gold, *map(str, extra)])))
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def evaluate(
    search: Callable[[str], Sequence[str]], queries: Sequence[Query], build_s: float = 0.0
) -> Report:
    """Run `search` (query → ranked entry ids) over `queries` and compute the metrics."""
    top1 = recall3 = rr = 0.0
    latencies: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        ranked = list(search(q.text))[:10]
        latencies.append((time.perf_counter() - t0) * 1000)
        rank = next((i for i, eid in enumerate(ranked, 1) if eid in q.gold), None)
        if rank is not None:
            top1 += rank == 1
            recall3 += rank <= 3
            rr += 1.0 / rank
    n = len(queries) or 1
    return Report(
        n=len(queries),
        top1=round(top1 / n, 4),
        recall3=round(recall3 / n, 4),
        mrr10=round(rr / n, 4),
        p50_ms=round(percentile(latencies, 50), 3),
        p99_ms=round(percentile(latencies, 99), 3),
        build_s=round(build_s, 3),
    )
