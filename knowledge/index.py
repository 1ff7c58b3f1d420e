"""An inverted index over three views of each phrasing, scored by per-view TF-IDF cosine.

Why three views. Chinese users misspell with their IME, abbreviate and paraphrase:
- *terms* (jieba + domain dictionary + synonyms) know that 执照 is 营业执照 and that 容缺受理 is
  one concept, but fail when a typo breaks a word (营业只照);
- *character 1–3-grams* survive wrong segmentation and partial words;
- *pinyin syllable 1–2-grams* survive homophone typos (社宝 / 社保, 微粒袋 / 微粒贷).
Each view is L2-normalised on its own, so the fused score is a weighted sum of cosines in [0, 1].

Why impact-ordered postings. Each term's postings are stored best-weight first, and a query reads
at most `max_postings` of them per term. A common character touches a bounded number of
phrasings however large the knowledge base grows, so query cost does not grow linearly with it,
while the phrasings that the term matters for (short ones, where it weighs most) are kept.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from knowledge.lexicon import Lexicon, syllable
from knowledge.normalize import normalize

VIEWS = ("t", "c", "p")  # terms, characters, pinyin


@dataclass(frozen=True, slots=True)
class Analysis:
    """The features of one text under each view, plus the canonical text used for fuzzy scoring."""

    normalized: str  # the whole text, normalised, synonyms mapped: what rapidfuzz compares
    canonical: str  # content terms only, synonyms mapped
    features: dict[str, Counter[str]]


def analyze(text: str, lexicon: Lexicon) -> Analysis:
    """Normalise, segment and expand `text` into the three views."""
    tokens = lexicon.canonical_tokens(normalize(text))
    normalized = "".join(tokens)
    terms = lexicon.content(tokens)
    canonical = "".join(terms)
    chars = [ch for ch in canonical if not ch.isspace()]
    cgrams: Counter[str] = Counter()
    for n in (1, 2, 3):
        for i in range(len(chars) - n + 1):
            cgrams["".join(chars[i : i + n])] += 1
    syl = [syllable(ch) for ch in chars]
    pgrams: Counter[str] = Counter(syl)
    pgrams.update(f"{a} {b}" for a, b in pairwise(syl))
    return Analysis(normalized, canonical, {"t": Counter(terms), "c": cgrams, "p": pgrams})


@dataclass(frozen=True, slots=True)
class Weights:
    """How the views and the fuzzy re-ranker combine into one score in [0, 1].

    Chosen on our own knowledge base (titles indexed, paraphrases asked) with the BQ corpus as a
    cross-check: character n-grams and pinyin carry most of the signal on typo-laden questions,
    and rapidfuzz over the whole normalised text helps short questions.
    """

    terms: float = 0.2
    chars: float = 0.2
    pinyin: float = 0.2
    fuzzy_text: float = 0.4  # rapidfuzz ratio of the whole normalised texts
    fuzzy_terms: float = 0.2  # rapidfuzz ratio of the content terms only
    max_postings: int = 4000
    rerank: int = 30

    def view(self, name: str) -> float:
        return {"t": self.terms, "c": self.chars, "p": self.pinyin}[name]

    @property
    def total(self) -> float:
        return self.terms + self.chars + self.pinyin + self.fuzzy_text + self.fuzzy_terms


Vector = tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]


class InvertedIndex:
    """Phrasings → impact-ordered postings per (view, feature)."""

    def __init__(self, docs: Sequence[str], lexicon: Lexicon, weights: Weights) -> None:
        self.lexicon = lexicon
        self.weights = weights
        analyses = [analyze(d, lexicon) for d in docs]
        self.normalized = [a.normalized for a in analyses]
        self.canonical = [a.canonical for a in analyses]
        self.size = len(docs)
        vocab: dict[str, int] = {}
        df: list[int] = []
        rows: list[list[tuple[int, float]]] = []  # per doc: (feature id, sublinear tf)
        for a in analyses:
            row = []
            for view in VIEWS:
                for feat, tf in a.features[view].items():
                    key = f"{view}|{feat}"
                    fid = vocab.get(key)
                    if fid is None:
                        fid = vocab[key] = len(df)
                        df.append(0)
                    df[fid] += 1
                    row.append((fid, 1.0 + math.log(tf)))
            rows.append(row)
        n = len(docs)
        self.vocab = vocab
        self.view_of = np.array([VIEWS.index(k[0]) for k in vocab], dtype=np.int8)
        self.idf = np.log((n + 1) / (np.asarray(df, dtype=np.float64) + 1)) + 1.0
        self._build_postings(rows)
        self._scores = np.zeros(n, dtype=np.float32)

    def _build_postings(self, rows: list[list[tuple[int, float]]]) -> None:
        fids: list[int] = []
        dids: list[int] = []
        vals: list[float] = []
        for did, row in enumerate(rows):
            norms = [0.0, 0.0, 0.0]
            weighted = [(fid, tf * float(self.idf[fid])) for fid, tf in row]
            for fid, w in weighted:
                norms[self.view_of[fid]] += w * w
            for fid, w in weighted:
                norm = math.sqrt(norms[self.view_of[fid]]) or 1.0
                fids.append(fid)
                dids.append(did)
                vals.append(w / norm)
        f = np.asarray(fids, dtype=np.int32)
        d = np.asarray(dids, dtype=np.int32)
        v = np.asarray(vals, dtype=np.float32)
        order = np.lexsort((-v, f))  # by feature, then weight descending (impact order)
        self.post_docs = d[order]
        self.post_vals = v[order]
        counts = np.bincount(f, minlength=len(self.vocab))
        self.offsets = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.offsets[1:])

    def query_vector(self, analysis: Analysis) -> list[tuple[int, float]]:
        """Known features of a query with their weights, each view normalised and view-weighted."""
        out: list[tuple[int, float]] = []
        for view in VIEWS:
            feats = [
                (fid, (1.0 + math.log(tf)) * float(self.idf[fid]))
                for feat, tf in analysis.features[view].items()
                if (fid := self.vocab.get(f"{view}|{feat}")) is not None
            ]
            # Unknown features still count towards the query norm: a query full of words the
            # knowledge base never uses must not look like a perfect match on its one known word.
            unknown = sum(
                ((1.0 + math.log(tf)) * (math.log(self.size + 1) + 1.0)) ** 2
                for feat, tf in analysis.features[view].items()
                if f"{view}|{feat}" not in self.vocab
            )
            norm = math.sqrt(sum(w * w for _, w in feats) + unknown)
            if norm:
                scale = self.weights.view(view) / norm
                out.extend((fid, w * scale) for fid, w in feats)
        return out

    def search(self, analysis: Analysis, k: int) -> list[tuple[int, float]]:
        """Top `k` phrasings by fused cosine, as (doc id, score), best first."""
        qvec = self.query_vector(analysis)
        if not qvec:
            return []
        scores, cap = self._scores, self.weights.max_postings
        touched = []
        for fid, qw in qvec:
            start = int(self.offsets[fid])
            end = min(int(self.offsets[fid + 1]), start + cap)
            ids = self.post_docs[start:end]
            scores[ids] += self.post_vals[start:end] * np.float32(qw)
            touched.append(ids)
        cand = np.unique(np.concatenate(touched))
        vals = scores[cand]
        scores[cand] = 0.0
        if len(cand) > k:
            top = np.argpartition(-vals, k)[:k]
            cand, vals = cand[top], vals[top]
        order = np.argsort(-vals, kind="stable")
        return [(int(cand[i]), float(vals[i])) for i in order]
