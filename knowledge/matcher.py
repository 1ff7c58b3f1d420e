"""Question → graded knowledge-base match.

Two stages. The inverted index (index.py) proposes candidates cheaply by fused TF-IDF cosine over
terms, characters and pinyin; rapidfuzz then re-scores only those few candidates against the
canonical text, which rescues very short questions and typos that shift n-grams. Scores are in
[0, 1] and thresholds fitted on labelled data (calibrate.py, `data/thresholds.yaml`) turn the
best scores into a grade: answer, clarify ("did you mean"), or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz import fuzz

from knowledge import cache
from knowledge.answer import body
from knowledge.errors import KnowledgeError, describe_validation_error
from knowledge.index import InvertedIndex, Weights, analyze
from knowledge.lexicon import DATA_DIR, Lexicon, known_syllables, remember_syllables
from knowledge.loader import KnowledgeBase, load_default
from knowledge.normalize import normalize
from knowledge.schema import Entry
from knowledge.types import Grade, Hit, Match
from knowledge.yamlio import parse_yaml

MAX_QUERY_CHARS = 200
MIN_ANSWER_CHARS = 3


class Thresholds(BaseModel):
    """Where the grades split; see calibrate.py for how these numbers are fitted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: float = Field(0.62, ge=0, le=1)  # best score at or above: answer directly...
    margin: float = Field(0.04, ge=0, le=1)  # ...if it leads the runner-up by this much
    clarify: float = Field(0.38, ge=0, le=1)  # best score at or above: offer choices
    choice_floor: float = Field(0.30, ge=0, le=1)  # a "did you mean" choice scores at least this
    fitted_on: dict[str, float | int | str] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Thresholds:
        if not path.exists():
            return cls()
        doc = parse_yaml(path.read_text(encoding="utf-8"))
        try:
            return cls.model_validate(doc)
        except ValidationError as exc:
            raise describe_validation_error(path, doc, exc) from None


def grade(hits: Sequence[Hit], t: Thresholds) -> Grade:
    """The grade of a ranked hit list: pure, so thresholds can be fitted by replaying it."""
    if not hits or hits[0].score < t.clarify:
        return Grade.NONE
    runner_up = hits[1].score if len(hits) > 1 else 0.0
    if hits[0].score >= t.answer and hits[0].score - runner_up >= t.margin:
        return Grade.ANSWER
    return Grade.CLARIFY


@dataclass(frozen=True, slots=True)
class _Doc:
    entry_id: str
    text: str


class Matcher:
    """Matches questions against a fixed set of phrasings, each belonging to one entry."""

    def __init__(
        self,
        phrasings: Iterable[tuple[str, str]],
        lexicon: Lexicon | None = None,
        *,
        titles: dict[str, str] | None = None,
        kinds: dict[str, str] | None = None,
        thresholds: Thresholds | None = None,
        weights: Weights | None = None,
        answers: dict[str, str] | None = None,
        index: InvertedIndex | None = None,
    ) -> None:
        self.lexicon = lexicon or Lexicon.load()
        self.docs = [_Doc(eid, text) for eid, text in phrasings]
        self.titles = titles or {}
        self.kinds = kinds or {}
        self.thresholds = thresholds or Thresholds()
        self.weights = weights or Weights()
        if index is not None and index.size == len(self.docs) and index.weights == self.weights:
            index.lexicon = self.lexicon
            self.index = index
        else:
            contexts = [answers.get(d.entry_id, "") for d in self.docs] if answers else None
            self.index = InvertedIndex([d.text for d in self.docs], self.lexicon, self.weights, contexts)

    @classmethod
    def from_pairs(
        cls,
        pairs: Iterable[tuple[str, str]],
        lexicon: Lexicon | None = None,
        answers: dict[str, str] | None = None,
    ) -> Matcher:
        """Index (entry id, question) rows, e.g. an evaluation KB; `answers` by entry id, if any."""
        rows = list(pairs)
        titles: dict[str, str] = {}
        for eid, text in rows:
            titles.setdefault(eid, text)
        return cls(rows, lexicon, titles=titles, answers=answers)

    @classmethod
    def from_kb(
        cls,
        kb: KnowledgeBase,
        *,
        hold_out: set[tuple[str, str]] | None = None,
        thresholds: Thresholds | None = None,
        weights: Weights | None = None,
        use_cache: bool = True,
    ) -> Matcher:
        """Index every phrasing of every entry, except (entry id, phrasing) pairs held out.

        The built index of a knowledge base loaded from files is cached on disk (cache.py).
        """
        rows = [
            (e.id, text)
            for e in kb
            for text in _indexed_texts(e)
            if not hold_out or (e.id, text) not in hold_out
        ]
        data_dir = kb.data_dir or DATA_DIR
        if thresholds is None:
            thresholds = Thresholds.load(data_dir / "thresholds.yaml")
        weights = weights or Weights()
        key = None
        cached = None
        if use_cache and not hold_out and kb.files:
            files = [*kb.files, data_dir / "synonyms.yaml", data_dir / "userdict.txt"]
            key = cache.cache_key(files, weights)
            cached = cache.load(key)
        index = None
        if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], InvertedIndex):
            index = cached[0]
            remember_syllables(cached[1])
        matcher = cls(
            rows,
            kb.lexicon,
            titles={e.id: e.title for e in kb},
            kinds={e.id: e.kind for e in kb},
            thresholds=thresholds,
            weights=weights,
            answers={e.id: body(e) for e in kb},
            index=index,
        )
        if key is not None and index is None:
            cache.save(key, (matcher.index, known_syllables()))
        return matcher

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """The `k` best entries for `query`, best first, one hit per entry.

        Only the first `MAX_QUERY_CHARS` characters are matched: a pasted page of complaint text
        says what it is about early, and the cost of a query must stay bounded.
        """
        analysis = analyze(query[:MAX_QUERY_CHARS], self.lexicon)
        w = self.weights
        total = w.total(self.index.has_context)
        normalized, canonical = self.index.normalized, self.index.canonical
        ratio = fuzz.ratio
        best: dict[str, tuple[float, int]] = {}  # entry id -> (score, best phrasing)
        for did, lexical in self.index.search(analysis, max(w.rerank, k)):
            fuzzy = w.fuzzy_text * ratio(analysis.normalized, normalized[did])
            fuzzy += w.fuzzy_terms * ratio(analysis.canonical, canonical[did])
            score = (lexical + fuzzy / 100.0) / total
            eid = self.docs[did].entry_id
            if eid not in best or score > best[eid][0]:
                best[eid] = (score, did)
        top = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        return [
            Hit(
                eid,
                round(min(score, 1.0), 4),
                self.titles.get(eid, self.docs[did].text),
                self.kinds.get(eid, ""),
                self.docs[did].text,
            )
            for eid, (score, did) in top
        ]

    def match(self, query: str) -> Match:
        """Search and grade: the result the bot acts on."""
        hits = self.search(query, k=5)
        g = grade(hits, self.thresholds)
        normalized = normalize(query)
        if g is Grade.ANSWER and len(normalized.replace(" ", "")) < MIN_ANSWER_CHARS:
            g = Grade.CLARIFY  # one or two characters ("税", "补贴") name a topic: offer choices
        if g is Grade.NONE:
            shown: tuple[Hit, ...] = ()
        elif g is Grade.ANSWER:
            shown = tuple(hits)
        else:
            floor = self.thresholds.choice_floor
            shown = tuple(h for h in hits[:3] if h.score >= floor)
        return Match(g, shown, normalized)


def _indexed_texts(entry: Entry) -> tuple[str, ...]:
    """The phrasings, plus all keywords as one text: a lone keyword would be a very short
    document that wins any short question containing it."""
    bag = " ".join(entry.keywords)
    return (*entry.phrasings(), bag) if bag else entry.phrasings()


_default: Matcher | None = None


def default_matcher() -> Matcher:
    """The matcher over the bundled knowledge base, built once per process."""
    global _default
    if _default is None:
        _default = Matcher.from_kb(load_default())
    return _default


__all__ = ["KnowledgeError", "Matcher", "Thresholds", "default_matcher", "grade"]
