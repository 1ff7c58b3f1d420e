"""Retrieval quality and latency of our matcher against four off-the-shelf peers.

Two evaluation sets, each indexed once per method, every method in this one process:
- `bq`: WeBank BQ customer-service paraphrases (`shared/eval/bq_corpus`). Its labels are
  incomplete (many "misses" are the same intent), so only the comparison between methods means
  something, never the absolute numbers.
- `kb`: our bundled knowledge base. Each entry's title is indexed (not its paraphrases), with its
  answer text offered to every method; the queries are every paraphrase (gold = its entry) plus
  the calibration queries. This is the closest we have to "a user types it their way, the KB
  states it the official way". Peers run twice here: on questions alone, and (`*_qa`) with the
  answer appended to each question, so that using the answers is no advantage of ours alone.

Usage: python bench/retrieval.py [--bq DIR] [--sets bq,kb] [--methods ours,bm25,...] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `bench` and `knowledge` importable
    sys.path.insert(0, str(REPO))

import jieba  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

import knowledge  # noqa: E402
from bench.peers import PEERS, QA_PEERS, Result, Retriever  # noqa: E402
from knowledge.answer import body  # noqa: E402
from knowledge.lexicon import Lexicon  # noqa: E402
from knowledge.loader import load_default  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402

DEFAULT_BQ = Path(__file__).resolve().parents[2] / "shared/eval/bq_corpus"
CALIBRATION = Path(knowledge.__file__).resolve().parent / "data/calibration/queries.yaml"
K = 10  # every method is asked for its top 10; MRR is cut there
WARMUP = 5  # untimed queries per method first, so that one-off lazy set-up is not counted


class Ours:
    """`knowledge.matcher.Matcher` in the peers' shape."""

    name = "ours"

    lexicon: Lexicon | None = None  # loaded once per process, like jieba for the peers

    @classmethod
    def prepare(cls) -> Lexicon:
        """Load the lexicon and jieba once per process: start-up cost, not index build."""
        if cls.lexicon is None:
            cls.lexicon = load_default().lexicon
            cls.lexicon.jieba  # noqa: B018 - property access loads the dictionary
        return cls.lexicon

    def build(self, pairs: Iterable[tuple[str, str]], answers: dict[str, str] | None = None) -> None:
        self._m = Matcher.from_pairs(pairs, Ours.prepare(), answers)

    def search(self, query: str, k: int = K) -> list[Result]:
        return [(h.entry_id, h.score) for h in self._m.search(query, k)]


METHODS: dict[str, type[Retriever]] = {"ours": Ours, **PEERS, **QA_PEERS}


@dataclass(slots=True)
class EvalSet:
    """Pairs to index and queries with their acceptable answers."""

    name: str
    title: str
    pairs: list[tuple[str, str]]
    queries: list[tuple[str, frozenset[str]]]
    notes: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # per query, when queries come from several files


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_bq(directory: Path) -> EvalSet:
    kb = read_jsonl(directory / "kb.jsonl")
    queries = read_jsonl(directory / "queries.jsonl")
    return EvalSet(
        name="bq",
        title=f"bq_corpus ({len(kb)} entries, {len(queries)} queries)",
        pairs=[(e["id"], e["question"]) for e in kb],
        queries=[(q["query"], frozenset([q["gold"]])) for q in queries],
        notes=["noisy labels (see its README): compare methods only, not absolute numbers"],
    )


def _golds(gold: object) -> frozenset[str]:
    """A calibration `gold` may be one id, a list of acceptable ids, or empty (out of scope)."""
    if gold is None:
        return frozenset()
    if isinstance(gold, str):
        return frozenset([gold]) if gold else frozenset()
    if isinstance(gold, list):
        return frozenset(str(g) for g in gold if g)
    raise ValueError(f"unexpected gold {gold!r} in {CALIBRATION}")


def load_kb_set(calibration: Path = CALIBRATION) -> EvalSet:
    kb = load_default()
    pairs = [(e.id, e.title) for e in kb.entries.values()]
    answers = {e.id: body(e) for e in kb.entries.values()}
    queries = [(p, frozenset([e.id])) for e in kb.entries.values() for p in e.paraphrases]
    n_para = len(queries)
    sources = ["paraphrases"] * n_para
    notes = []
    n_cal = n_oos = n_unknown = 0
    if calibration.is_file():
        doc = yaml.safe_load(calibration.read_text(encoding="utf-8")) or {}
        for item in doc.get("queries") or []:
            golds = _golds(item.get("gold"))
            if not golds:  # out-of-scope queries test the NONE grade, not ranking
                n_oos += 1
                continue
            n_unknown += not golds & kb.entries.keys()
            queries.append((str(item["query"]), golds))
            sources.append("calibration")
            n_cal += 1
        notes.append(f"{n_cal} calibration queries ({n_oos} out-of-scope ones skipped)")
        if n_unknown:
            notes.append(f"WARNING: {n_unknown} calibration golds are not in the KB (always misses)")
    else:
        notes.append(f"WARNING: no calibration file at {calibration}")
    return EvalSet(
        name="kb",
        title=(
            f"own KB, titles + answers ({len(pairs)} entries; {n_para} paraphrases + {n_cal} calibration)"
        ),
        pairs=pairs,
        answers=answers,
        queries=queries,
        notes=notes,
        sources=sources,
    )


def timed_search(r: Retriever, queries: Sequence[str], k: int = K) -> tuple[list[list[Result]], np.ndarray]:
    """Results and wall-clock milliseconds of each `search` call, after an untimed warm-up."""
    for q in queries[:WARMUP]:
        r.search(q, k)
    gc.collect()
    results: list[list[Result]] = []
    ms = np.empty(len(queries))
    for i, q in enumerate(queries):
        t0 = time.perf_counter_ns()
        results.append(r.search(q, k))
        ms[i] = (time.perf_counter_ns() - t0) / 1e6
    return results, ms


def quality(results: Sequence[list[Result]], golds: Sequence[frozenset[str]]) -> dict[str, float]:
    """top-1, recall@3 and MRR@10 given any one of `golds` counts as correct."""
    ranks = [
        next((i for i, (eid, _) in enumerate(res[:K], 1) if eid in g), 0)
        for res, g in zip(results, golds, strict=True)
    ]
    n = max(len(ranks), 1)
    return {
        "top1": sum(r == 1 for r in ranks) / n,
        "recall@3": sum(0 < r <= 3 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r) / n,
    }


def latency(ms: np.ndarray) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def build_timed(
    cls: type[Retriever], pairs: Sequence[tuple[str, str]], answers: dict[str, str] | None = None
) -> tuple[Retriever, float]:
    gc.collect()
    r = cls()
    t0 = time.perf_counter()
    r.build(pairs, answers)
    return r, time.perf_counter() - t0


def evaluate(es: EvalSet, methods: Sequence[str]) -> dict[str, Any]:
    texts = [q for q, _ in es.queries]
    golds = [g for _, g in es.queries]
    rows: dict[str, dict[str, float]] = {}
    by_source: dict[str, dict[str, float]] = {}  # method -> source -> top-1
    for name in methods:
        if name in QA_PEERS and not es.answers:
            continue  # no answers in this set: the variant would repeat its plain peer
        r, build_s = build_timed(METHODS[name], es.pairs, es.answers)
        results, ms = timed_search(r, texts)
        rows[name] = {"n": len(texts), **quality(results, golds), **latency(ms), "build_s": build_s}
        for src in dict.fromkeys(es.sources):
            picked = [i for i, s in enumerate(es.sources) if s == src]
            top1 = quality([results[i] for i in picked], [golds[i] for i in picked])["top1"]
            by_source.setdefault(name, {})[src] = top1
        del r
        print(f"  {es.name}/{name}: done", file=sys.stderr)
    out: dict[str, Any] = {"title": es.title, "notes": es.notes, "methods": rows}
    if len(set(es.sources)) > 1:  # a held-out subset can tell a different story than the whole
        out["top1_by_source"] = by_source
    peers = [m for m in rows if m != "ours"]
    if "ours" in rows and peers:
        best = max(peers, key=lambda m: rows[m]["top1"])
        out["best_peer"] = best
        out["ours_minus_best_peer_top1_points"] = 100 * (rows["ours"]["top1"] - rows[best]["top1"])
    return out


def machine_info() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1min_at_start": os.getloadavg()[0],  # other work on the machine skews latency
    }


def describe(m: dict[str, Any]) -> str:
    """One line for a report's heading: when, where, and how busy the machine was."""
    return (
        f"{m['date']}, {m['cpu']} ({m['cores']} cores), Python {m['python']}, "
        f"1-min load average at start {m['loadavg_1min_at_start']:.2f}"
    )


def markdown(result: dict[str, Any]) -> str:
    lines = [f"### {result['title']}", ""]
    lines += [f"_{n}_" for n in result["notes"]]
    lines += [
        "",
        "| method | n | top1 | recall@3 | MRR@10 | p50 ms | p99 ms | build s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in result["methods"].items():
        lines.append(
            f"| {name} | {m['n']} | {m['top1']:.3f} | {m['recall@3']:.3f} | {m['mrr@10']:.3f} "
            f"| {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['build_s']:.2f} |"
        )
    if by_source := result.get("top1_by_source"):
        srcs = list(next(iter(by_source.values())))
        lines += [
            "",
            "| top-1 by query source | " + " | ".join(srcs) + " |",
            "|---" + "|---:" * len(srcs) + "|",
        ]
        for name, tops in by_source.items():
            lines.append(f"| {name} | " + " | ".join(f"{tops[s]:.3f}" for s in srcs) + " |")
    if "best_peer" in result:
        lines += [
            "",
            f"ours − best peer top-1: {result['ours_minus_best_peer_top1_points']:+.1f} points"
            f" (best peer: {result['best_peer']})",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--bq", type=Path, default=DEFAULT_BQ, help="bq_corpus directory (kb.jsonl, queries.jsonl)"
    )
    ap.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated subset of: " + ", ".join(METHODS)
    )
    ap.add_argument("--sets", default="bq,kb", help="comma-separated subset of: bq, kb")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of markdown")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if unknown := [m for m in methods if m not in METHODS]:
        ap.error(f"unknown methods: {unknown}")

    jieba.initialize()  # load the dictionary once, outside every build and query timing
    Ours.prepare()
    loaders = {"bq": lambda: load_bq(args.bq), "kb": load_kb_set}
    report: dict[str, Any] = {"machine": machine_info(), "k": K, "sets": {}}
    for name in (s.strip() for s in args.sets.split(",") if s.strip()):
        report["sets"][name] = evaluate(loaders[name](), methods)

    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        m = report["machine"]
        print(f"Retrieval benchmark, {describe(m)}\n")
        print("\n\n".join(markdown(r) for r in report["sets"].values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
