"""Peer retrievers that our matcher is measured against.

Each peer has the same shape as `knowledge.matcher.Matcher` as the benchmarks see it: `build(pairs)`
indexes (entry_id, question) pairs, where several pairs may share one entry (paraphrases), and
`search(query, k)` returns at most `k` results `(entry_id, score)` best first, one per entry, an
entry scoring the maximum over its pairs. Everything a query needs (tokenisation included) happens
inside `search`, so that timing `search` times what a user would wait for.

The peers are deliberately off-the-shelf: the point is to know whether our matcher beats what a
developer would get from a library in an afternoon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import bm25s
import jieba
import numpy as np
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import TfidfVectorizer

jieba.setLogLevel(logging.WARNING)

Result = tuple[str, float]


class Retriever(Protocol):
    """What the benchmarks call; ours is wrapped to this shape too.

    `answers` (entry id -> answer text) is offered to every method; the plain peers ignore it,
    their `_qa` variants index each question with its entry's answer appended.
    """

    name: str

    def build(self, pairs: Iterable[tuple[str, str]], answers: dict[str, str] | None = None) -> None: ...

    def search(self, query: str, k: int = 10) -> list[Result]: ...


def tokenize(text: str) -> list[str]:
    """jieba words, lowercased, without punctuation or whitespace tokens.

    A token is kept when it has at least one letter or digit (CJK characters count as letters),
    which drops "，", "？", "..." and spaces but keeps "20个月" and "app".
    """
    return [tok for tok in jieba.lcut(text.lower()) if any(ch.isalnum() for ch in tok)]


class _Grouped:
    """Pairs regrouped so that each entry's questions are contiguous.

    Contiguity lets a vector of per-question scores be reduced to per-entry maxima with one
    `np.maximum.reduceat`, which is what "one result per entry, max over its pairs" costs.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        by_entry: dict[str, list[str]] = {}
        for entry_id, question in pairs:
            by_entry.setdefault(entry_id, []).append(question)
        self.entry_ids: list[str] = list(by_entry)
        self.questions: list[str] = [q for qs in by_entry.values() for q in qs]
        self.doc_entry: list[int] = [i for i, qs in enumerate(by_entry.values()) for _ in qs]
        sizes = np.fromiter((len(qs) for qs in by_entry.values()), dtype=np.int64, count=len(by_entry))
        self.starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if len(sizes) else sizes
        self.max_pairs = int(sizes.max()) if len(sizes) else 0

    def top_k(self, doc_scores: np.ndarray, k: int) -> list[Result]:
        """Per-entry maxima of `doc_scores`, the `k` best with a positive score, best first."""
        if not len(self.entry_ids):
            return []
        scores = np.maximum.reduceat(doc_scores, self.starts)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]  # score desc, then entry order: deterministic ties
        return [(self.entry_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def dedupe(self, ranked: Iterable[tuple[int, float]], k: int) -> list[Result]:
        """First (= best) occurrence of each entry in a ranking of question indices."""
        seen: set[str] = set()
        out: list[Result] = []
        for doc, score in ranked:
            entry_id = self.entry_ids[self.doc_entry[doc]]
            if entry_id not in seen:
                seen.add(entry_id)
                out.append((entry_id, float(score)))
                if len(out) == k:
                    break
        return out


class BM25Peer:
    """Okapi BM25 (Lucene variant) over jieba words, via `bm25s` with its numpy backend."""

    name = "bm25"

    def build(self, pairs: Iterable[tuple[str, str]], answers: dict[str, str] | None = None) -> None:
        self._g = _Grouped(pairs)
        vocab: dict[str, int] = {}
        corpus_ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(q)] for q in self._g.questions]
        self._model = bm25s.BM25(backend="numpy")
        self._model.index((corpus_ids, vocab), show_progress=False)

    def search(self, query: str, k: int = 10) -> list[Result]:
        known = [t for t in tokenize(query) if t in self._model.vocab_dict]
        if not known:  # bm25s cannot score an empty token list; nothing would match anyway
            return []
        return self._g.top_k(self._model.get_scores(known), k)


class TfidfCharPeer:
    """Cosine similarity of character 1–3-gram TF-IDF vectors: no tokeniser, robust to typos."""

    name = "tfidf_char"

    def build(self, pairs: Iterable[tuple[str, str]], answers: dict[str, str] | None = None) -> None:
        self._g = _Grouped(pairs)
        self._vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        self._docs = self._vec.fit_transform(self._g.questions).tocsr()  # rows are L2-normalised

    def search(self, query: str, k: int = 10) -> list[Result]:
        q = self._vec.transform([query])
        doc_scores = np.asarray((self._docs @ q.T).todense()).ravel()
        return self._g.top_k(doc_scores, k)


class _ExtractPeer:
    """A full scan with one rapidfuzz scorer, via `process.extract` (C++ loop, no Python per item)."""

    name = ""
    scorer: Callable[..., float]

    def _prepare(self, text: str) -> str:
        return text

    def build(self, pairs: Iterable[tuple[str, str]], answers: dict[str, str] | None = None) -> None:
        self._g = _Grouped(pairs)
        self._choices: Sequence[str] = [self._prepare(q) for q in self._g.questions]

    def search(self, query: str, k: int = 10) -> list[Result]:
        # k entries in the worst case need k * (largest paraphrase group) questions
        limit = min(len(self._choices), k * self._g.max_pairs)
        found = process.extract(self._prepare(query), self._choices, scorer=self.scorer, limit=limit)
        return self._g.dedupe(((doc, score) for _, score, doc in found if score > 0), k)


class RapidfuzzPeer(_ExtractPeer):
    """rapidfuzz alone: `WRatio` over the raw strings, the usual first try at fuzzy FAQ lookup."""

    name = "rapidfuzz"
    scorer = staticmethod(fuzz.WRatio)


class RapidfuzzRatioPeer(_ExtractPeer):
    """rapidfuzz alone with plain `ratio` (normalised Indel similarity): on short Chinese
    questions it beats WRatio, so it is the honest rapidfuzz baseline to beat."""

    name = "rapidfuzz_ratio"
    scorer = staticmethod(fuzz.ratio)


class JiebaRapidfuzzPeer(_ExtractPeer):
    """The naive baseline: jieba words joined by spaces, `token_set_ratio` against every entry."""

    name = "jieba_rf"
    scorer = staticmethod(fuzz.token_set_ratio)

    def _prepare(self, text: str) -> str:
        return " ".join(tokenize(text))


def with_answers(base: type[Any]) -> type[Retriever]:
    """A variant of `base` that indexes "question + answer" for entries that have an answer."""

    class WithAnswers(base):  # type: ignore[misc, valid-type]
        name = f"{base.name}_qa"

        def build(self, pairs: Iterable[tuple[str, str]], answers: dict[str, str] | None = None) -> None:
            answers = answers or {}
            super().build([(eid, f"{q} {answers.get(eid, '')}".strip()) for eid, q in pairs])

    WithAnswers.__name__ = WithAnswers.__qualname__ = f"{base.__name__}WithAnswers"
    WithAnswers.__doc__ = f"{base.__doc__} Each question is indexed with its entry's answer appended."
    return WithAnswers


_PLAIN = (BM25Peer, TfidfCharPeer, RapidfuzzPeer, RapidfuzzRatioPeer, JiebaRapidfuzzPeer)
PEERS: dict[str, type[Retriever]] = {p.name: p for p in _PLAIN}
QA_PEERS: dict[str, type[Retriever]] = {
    v.name: v for v in (with_answers(p) for p in (BM25Peer, TfidfCharPeer, RapidfuzzRatioPeer))
}
