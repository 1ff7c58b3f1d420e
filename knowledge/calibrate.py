"""Fit the grading thresholds on labelled data instead of guessing them.

Data, all bundled:
- positives held out from the index: for every entry, its last paraphrase is removed from the
  index and asked as a question (the entry must still be found from its other phrasings);
- positives from `data/calibration/queries.yaml`: phrasings written independently of the KB;
- negatives from `data/calibration/unmatched.yaml`: questions the KB does not answer.

Rules:
- `clarify` maximises Youden's J: (positives whose gold is in the top 3 and reach the threshold)
  minus (negatives that reach it), each as a share of its set;
- `answer` and `margin` maximise the number of correct direct answers while keeping at least
  `min_precision` of direct answers correct (a wrong confident answer costs the user more than a
  "did you mean" question).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.fileio import atomic_write
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Matcher, Thresholds, grade
from knowledge.types import Grade, Hit
from knowledge.yamlio import parse_yaml

MIN_PRECISION = 0.9
_GRID = [round(0.05 + i * 0.005, 3) for i in range(171)]  # 0.05 .. 0.90
_MARGINS = tuple(round(i * 0.02, 2) for i in range(16))  # 0.00 .. 0.30


@dataclass(frozen=True, slots=True)
class Case:
    """One calibration question: its ranked hits and acceptable entry ids (empty: unanswerable)."""

    query: str
    gold: frozenset[str]
    hits: tuple[Hit, ...]

    @property
    def positive(self) -> bool:
        return bool(self.gold)


def _read_list(path: Path) -> list[object]:
    doc = parse_yaml(path.read_text(encoding="utf-8")) or {}
    queries = doc.get("queries") if isinstance(doc, dict) else None
    if not isinstance(queries, list):
        raise ValueError(f"{path}: expected a `queries:` list")
    return queries


def held_out_pairs(kb: KnowledgeBase) -> set[tuple[str, str]]:
    """Each entry's last paraphrase, kept out of the index to be asked as a question."""
    return {(e.id, e.paraphrases[-1]) for e in kb if len(e.paraphrases) >= 2}


def collect_cases(kb: KnowledgeBase, calibration_dir: Path) -> list[Case]:
    """Run every calibration question through matchers built from `kb`."""
    hold = held_out_pairs(kb)
    partial = Matcher.from_kb(kb, hold_out=hold, thresholds=Thresholds())
    full = Matcher.from_kb(kb, thresholds=Thresholds())
    cases = [Case(text, frozenset([eid]), tuple(partial.search(text, 5))) for eid, text in sorted(hold)]
    for row in _read_list(calibration_dir / "queries.yaml"):
        if isinstance(row, dict) and row.get("gold") in kb.entries:
            q = str(row["query"])
            cases.append(Case(q, frozenset([str(row["gold"])]), tuple(full.search(q, 5))))
    for item in _read_list(calibration_dir / "unmatched.yaml"):
        cases.append(Case(str(item), frozenset(), tuple(full.search(str(item), 5))))
    return cases


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a threshold set grades a case list."""

    answered_right: int
    answered_wrong: int
    clarified_with_gold: int
    negatives_not_none: int
    positives: int
    negatives: int

    @property
    def answer_precision(self) -> float:
        total = self.answered_right + self.answered_wrong
        return self.answered_right / total if total else 1.0

    def as_dict(self) -> dict[str, float | int]:
        pos, neg = max(self.positives, 1), max(self.negatives, 1)
        return {
            "positives": self.positives,
            "negatives": self.negatives,
            "answer_precision": round(self.answer_precision, 4),
            "answer_coverage": round(self.answered_right / pos, 4),
            "answer_or_clarify_with_gold": round((self.answered_right + self.clarified_with_gold) / pos, 4),
            "negatives_graded_none": round(1 - self.negatives_not_none / neg, 4),
        }


def outcome(cases: Sequence[Case], t: Thresholds) -> Outcome:
    right = wrong = clarified = neg_hit = 0
    for c in cases:
        g = grade(c.hits, t)
        if not c.positive:
            neg_hit += g is not Grade.NONE
            wrong += g is Grade.ANSWER
        elif g is Grade.ANSWER:
            if c.hits[0].entry_id in c.gold:
                right += 1
            else:
                wrong += 1
        elif g is Grade.CLARIFY:
            shown = [h.entry_id for h in c.hits[:3] if h.score >= t.choice_floor]
            clarified += any(e in c.gold for e in shown)
    pos = sum(c.positive for c in cases)
    return Outcome(right, wrong, clarified, neg_hit, pos, len(cases) - pos)


def fit(cases: Sequence[Case], min_precision: float = MIN_PRECISION) -> Thresholds:
    """Choose clarify, then answer and margin, by the rules in the module docstring."""
    pos = [c for c in cases if c.positive]
    neg = [c for c in cases if not c.positive]
    top1 = [c.hits[0].score if c.hits else 0.0 for c in neg]

    def youden(x: float) -> float:
        tp = sum(1 for c in pos if c.hits and c.hits[0].score >= x and _gold_in_top3(c))
        fp = sum(1 for s in top1 if s >= x)
        return tp / max(len(pos), 1) - fp / max(len(neg), 1)

    clarify = max(_GRID, key=lambda x: (youden(x), -x))
    best: tuple[int, float, float] | None = None
    for answer in (x for x in _GRID if x >= clarify):
        for margin in _MARGINS:
            t = Thresholds(answer=answer, margin=margin, clarify=clarify, choice_floor=clarify * 0.8)
            o = outcome(cases, t)
            if o.answer_precision >= min_precision and (best is None or o.answered_right > best[0]):
                best = (o.answered_right, answer, margin)
    answer, margin = (best[1], best[2]) if best else (_GRID[-1], _MARGINS[-1])
    t = Thresholds(answer=answer, margin=margin, clarify=clarify, choice_floor=round(clarify * 0.8, 3))
    return t.model_copy(update={"fitted_on": outcome(cases, t).as_dict()})


def _gold_in_top3(c: Case) -> bool:
    return any(h.entry_id in c.gold for h in c.hits[:3])


def write_thresholds(t: Thresholds, path: Path) -> None:
    header = (
        "# Grading thresholds fitted by `yiqiban kb calibrate --write` (knowledge/calibrate.py).\n"
        "# Do not edit by hand: change the calibration data or the matcher and re-fit.\n"
    )
    body = yaml.safe_dump(t.model_dump(), allow_unicode=True, sort_keys=False)
    atomic_write(path, (header + body).encode("utf-8"))
