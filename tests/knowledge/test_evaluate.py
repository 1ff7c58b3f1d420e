"""Metric arithmetic and the JSON Lines readers used by `yiqiban kb eval`."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import KnowledgeError
from knowledge.evaluate import Query, evaluate, percentile, read_kb_pairs, read_queries


def test_metrics_count_ranks_and_gold_all() -> None:
    ranked = {"a": ["x", "y"], "b": ["y", "z", "x"], "c": ["p", "q", "r", "s"], "d": ["q"]}
    queries = [
        Query("a", frozenset({"x"})),  # rank 1
        Query("b", frozenset({"x"})),  # rank 3
        Query("c", frozenset({"s"})),  # rank 4
        Query("d", frozenset({"nope", "q"})),  # gold_all: rank 1
    ]
    r = evaluate(lambda q: ranked[q], queries)
    assert (r.n, r.top1, r.recall3) == (4, 0.5, 0.75)
    assert r.mrr10 == pytest.approx((1 + 1 / 3 + 1 / 4 + 1) / 4, abs=1e-4)
    assert r.p50_ms >= 0 and r.p99_ms >= r.p50_ms


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 or percentile(values, 50) == 51
    assert percentile(values, 99) == 99 or percentile(values, 99) == 100
    assert percentile([], 50) == 0.0


def test_readers_report_the_bad_line(tmp_path: Path) -> None:
    kb = tmp_path / "kb.jsonl"
    kb.write_text('{"id": "a", "question": "怎么办执照", "answer": ""}\n\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        read_kb_pairs(kb)
    assert info.value.line == 3
    q = tmp_path / "q.jsonl"
    q.write_text('{"query": "执照", "gold": "a", "gold_all": ["b"]}\nnot json\n', encoding="utf-8")
    with pytest.raises(KnowledgeError, match="JSON") as info:
        read_queries(q)
    assert info.value.line == 2
    q.write_text('{"query": "执照", "gold": "a", "gold_all": ["b"]}\n', encoding="utf-8")
    assert read_queries(q) == [Query("执照", frozenset({"a", "b"}))]
