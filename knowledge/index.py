"""An inverted index over four views of each phrasing, scored by per-view TF-IDF cosine.

Why four views. Chinese users misspell with their IME, abbreviate and paraphrase:
- *terms* (jieba + domain dictionary + synonyms) know that 执照 is 营业执照 and that 容缺受理 is
  one concept, but fail when a typo breaks a word (营业只照);
- *character 1–3-grams* survive wrong segmentation and partial words;
- *pinyin syllable 1–2-grams* survive homophone typos (社宝 / 社保, 微粒袋 / 微粒贷);
- the *answer* (terms and characters of the entry's answer text, shared by all its phrasings)
  catches questions worded like the answer rather than like any phrasing.
Each view is L2-normalised on its own, so the fused score is a weighted sum of cosines.

Why impact-ordered postings. Each term's postings are stored best-weight first, and a query reads
at most `max_postings` of them per term. A common character touches a bounded number of
phrasings however large the knowledge base grows, so query cost does not grow linearly with it,
while the phrasings that the term matters for (short ones, where it weighs most) are kept.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, pairwise

import numpy as np
import numpy.typing as npt

from knowledge.lexicon import Lexicon, syllables
from knowledge.normalize import normalize

VIEWS = ("t", "c", "p", "a")  # terms, characters, pinyin, answer terms


@dataclass(frozen=True, slots=True)
class Analysis:
    """The features of one text under each view, plus the canonical text used for fuzzy scoring."""

    normalized: str  # the whole text, normalised, synonyms mapped: what rapidfuzz compares
    canonical: str  # content terms only, synonyms mapped
    features: dict[str, Counter[str]]


def analyze(text: str, lexicon: Lexicon, *, answer_view: bool = True) -> Analysis:
    """Normalise, segment and expand `text` into the views (a phrasing's answer view comes
    from its entry's answer, so indexing passes `answer_view=False`)."""
    tokens = lexicon.canonical_tokens(normalize(text))
    normalized = "".join(tokens)
    terms = lexicon.content(tokens)
    canonical = "".join(terms)
    text = "".join(ch for ch in canonical if not ch.isspace())
    # Counter(iterable) counts in C: markedly faster than `+= 1` per n-gram on every query.
    cgrams = Counter(text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1))
    syl = syllables(text)
    pgrams = Counter(syl)
    pgrams.update([f"{a} {b}" for a, b in pairwise(syl)])
    answer = _answer_features(terms) if answer_view else Counter()
    return Analysis(normalized, canonical, {"t": Counter(terms), "c": cgrams, "p": pgrams, "a": answer})


def _answer_features(terms: list[str]) -> Counter[str]:
    """Terms plus character 1- and 2-grams: how a question is compared with an answer text.

    Answers are long and worded officially, so the question's words rarely appear verbatim;
    single characters and pairs still catch 社保 in 社会保险 or 执照 in 营业执照.
    """
    text = "".join(terms)
    return Counter(
        chain(terms, ["#" + ch for ch in text], ["#" + text[i : i + 2] for i in range(len(text) - 1)])
    )


def _split_vocab(vocab: dict[str, int]) -> dict[str, dict[str, int]]:
    """The vocabulary by view (feature → id): a query then looks each feature up without
    formatting a "view|feature" key for it."""
    by_view: dict[str, dict[str, int]] = {view: {} for view in VIEWS}
    for key, fid in vocab.items():
        by_view[key[0]][key[2:]] = fid
    return by_view


@dataclass(frozen=True, slots=True)
class Weights:
    """How the views and the fuzzy re-ranker combine into one score in [0, 1].

    Chosen on our own knowledge base (titles and answers indexed, paraphrases asked) with the BQ
    corpus as a cross-check (bench/retrieval.py): the answer view carries most of the signal when
    answers exist; without them, rapidfuzz over the whole normalised text helps short questions.
    """

    terms: float = 0.2
    chars: float = 0.2
    pinyin: float = 0.2
    context: float = 2.5  # the entry's answer text: terms, characters and character pairs
    fuzzy_text: float = 0.4  # rapidfuzz ratio of the whole normalised texts
    fuzzy_terms: float = 0.2  # rapidfuzz ratio of the content terms only
    max_postings: int = 4000
    rerank: int = 20

    def view(self, name: str) -> float:
        return {"t": self.terms, "c": self.chars, "p": self.pinyin, "a": self.context}[name]

    def total(self, with_context: bool) -> float:
        """The largest possible score, so that scores are shares of it in [0, 1]."""
        lexical = self.terms + self.chars + self.pinyin + (self.context if with_context else 0.0)
        return lexical + self.fuzzy_text + self.fuzzy_terms


class InvertedIndex:
    """Phrasings → impact-ordered postings per (view, feature)."""

    def __init__(
        self,
        docs: Sequence[str],
        lexicon: Lexicon,
        weights: Weights,
        contexts: Sequence[str] | None = None,
    ) -> None:
        self.lexicon = lexicon
        self.weights = weights
        self.size = len(docs)
        self.has_context = bool(contexts and weights.context > 0 and any(contexts))
        answer_views: dict[str, Counter[str]] = {}  # shared by all phrasings of one entry
        self.normalized: list[str] = []
        self.canonical: list[str] = []
        vocab: dict[str, int] = {}
        fids, dids, tfs = array("i"), array("i"), array("f")
        for did, doc in enumerate(docs):
            a = analyze(doc, lexicon, answer_view=False)
            self.normalized.append(a.normalized)
            self.canonical.append(a.canonical)
            if contexts is not None and self.has_context and (ctx := contexts[did]):
                if ctx not in answer_views:
                    answer_views[ctx] = _answer_features(lexicon.terms(normalize(ctx)))
                a.features["a"] = answer_views[ctx]
            for view in VIEWS:
                for feat, tf in a.features[view].items():
                    fids.append(vocab.setdefault(f"{view}|{feat}", len(vocab)))
                    dids.append(did)
                    tfs.append(1.0 + math.log(tf))
        self.vocab = vocab
        self._by_view = _split_vocab(vocab)
        self._build_postings(
            np.frombuffer(fids, dtype=np.int32),
            np.frombuffer(dids, dtype=np.int32),
            np.frombuffer(tfs, dtype=np.float32),
        )

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the lexicon (it holds jieba)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("lexicon", "_by_view")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._by_view = _split_vocab(self.vocab)

    def _build_postings(
        self, f: npt.NDArray[np.int32], d: npt.NDArray[np.int32], tf: npt.NDArray[np.float32]
    ) -> None:
        """TF-IDF weights, L2-normalised per (document, view), sorted into impact-ordered postings."""
        n_feats = len(self.vocab)
        view_index = {v: i for i, v in enumerate(VIEWS)}
        self.view_of = np.array([view_index[k[0]] for k in self.vocab], dtype=np.int8)
        df = np.bincount(f, minlength=n_feats)
        self.idf = np.log((self.size + 1) / (df + 1.0)) + 1.0
        self._idf: list[float] = self.idf.tolist()
        w = tf * self.idf[f].astype(np.float32)
        group = d.astype(np.int64) * len(VIEWS) + self.view_of[f]
        norms = np.sqrt(np.bincount(group, weights=w * w, minlength=self.size * len(VIEWS)))
        v = (w / np.maximum(norms[group], 1e-12)).astype(np.float32)
        order = np.lexsort((-v, f))  # by feature, then weight descending (impact order)
        self.post_docs = d[order]
        self.post_vals = v[order]
        self.offsets = np.zeros(n_feats + 1, dtype=np.int64)
        np.cumsum(df, out=self.offsets[1:])

    def query_vector(self, analysis: Analysis) -> tuple[list[int], list[float]]:
        """Known features of a query (ids) with their weights, each view normalised and
        view-weighted.

        Unknown features still count towards the query norm: a question full of words the
        knowledge base never uses must not look like a perfect match on its one known word.
        Single characters and single syllables are left out of questions of four or more
        characters: they match thousands of phrasings and add little once n-grams exist.
        """
        fids: list[int] = []
        weights: list[float] = []
        by_view, idf, unseen_idf = self._by_view, self._idf, math.log(self.size + 1) + 1.0
        skip_unigrams = len(analysis.canonical) >= 4
        log = math.log
        for view in VIEWS:
            view_weight = self.weights.view(view)
            if not view_weight:
                continue
            vocab = by_view[view]
            first = len(fids)
            norm2 = 0.0
            unigram_view = skip_unigrams and view in ("c", "p")
            for feat, tf in analysis.features[view].items():
                if unigram_view and (len(feat) == 1 if view == "c" else " " not in feat):
                    continue
                fid = vocab.get(feat)
                w = (1.0 + log(tf)) * (idf[fid] if fid is not None else unseen_idf)
                norm2 += w * w
                if fid is not None:
                    fids.append(fid)
                    weights.append(w)
            if len(fids) > first:
                scale = view_weight / math.sqrt(norm2)
                weights[first:] = [w * scale for w in weights[first:]]
        return fids, weights

    def search(self, analysis: Analysis, k: int) -> list[tuple[int, float]]:
        """Top `k` phrasings by fused cosine, as (doc id, score), best first."""
        qfids, qweights = self.query_vector(analysis)
        if not qfids:
            return []
        fids = np.array(qfids, dtype=np.int64)
        starts = self.offsets[fids]
        lens = np.minimum(self.offsets[fids + 1] - starts, self.weights.max_postings)
        # Gather every capped posting range in one go: position = start of its range + offset in it.
        ends = np.cumsum(lens)
        pos = np.repeat(starts - (ends - lens), lens) + np.arange(ends[-1])
        weights = self.post_vals[pos] * np.repeat(np.array(qweights, dtype=np.float32), lens)
        # bincount, not np.add.at: the same sums, an order of magnitude faster on numpy 2.
        scores = np.bincount(self.post_docs[pos], weights=weights, minlength=self.size)
        cand = np.flatnonzero(scores)
        vals = scores[cand]
        if len(cand) > k:
            top = np.argpartition(-vals, k)[:k]
            cand, vals = cand[top], vals[top]
        order = np.argsort(-vals, kind="stable")
        return list(zip(cand[order].tolist(), vals[order].tolist(), strict=True))
