"""The domain vocabulary: jieba with our user dictionary, synonyms and stop words, and pinyin.

Segmentation decides whether 容缺受理 is one term or three characters, and whether 执照 and
营业执照 are the same thing; both are data (`data/userdict.txt`, `data/synonyms.yaml`), tested,
and loaded once. jieba's prefix dictionary is cached on disk so a cold CLI start stays fast.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jieba
import yaml
from pydantic import ValidationError

from knowledge.errors import KnowledgeError, describe_validation_error
from knowledge.normalize import is_cjk
from knowledge.schema import SynonymFile
from knowledge.yamlio import parse_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"

# Particles, greetings and politeness that carry no topic. Kept short on purpose: question words
# such as 怎么 / 多久 / 哪里 distinguish FAQs (how vs how long vs where) and stay in.
_STOPWORD_TEXT = """
的 了 吗 呢 吧 啊 呀 哦 哈 嘛 么 嗯 哎 诶 哪 呐 喔 噢 之 得 地 着 过 和 与 及 或 并 而 且 把 被 给 跟
你好 您好 请问 请 问 问下 问问 问一下 想问 想问下 想问一下 打听 咨询一下 一下 麻烦 谢谢 感谢 您 你 你们
我 我们 俺 咱 咱们 本人 我想 想 想要 要 就 都 也 还 又 再 是 有 在 这 那 这个 那个 这种 那种 一个 个
下 些 点 一些 一点 呗 哟 啦 嘞 哇 喽 好的 好 老师 同志 领导
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def cache_dir() -> Path:
    """Where derived files (jieba prefix dictionary, index) are cached between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "yiqiban"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir())
    return path


_SYLLABLES: dict[str, str] = {}  # seeded from the index cache, so a cold start skips pypinyin


def syllable(ch: str) -> str:
    """Toneless pinyin of one character (its most common reading), or the character itself."""
    known = _SYLLABLES.get(ch)
    if known is not None:
        return known
    if not is_cjk(ch):
        return ch
    from pypinyin import lazy_pinyin  # imported on first need: it costs 0.2 s

    _SYLLABLES[ch] = value = str(lazy_pinyin(ch)[0])
    return value


def load_pinyin() -> None:
    """Import pypinyin now rather than on the first unseen character: a long-running service
    calls this at start-up, so no user's message pays for the import (0.2 s and ~190,000
    objects, which the garbage collector would then have to walk while it serves)."""
    import pypinyin  # noqa: F401


def syllables(text: str) -> list[str]:
    """`syllable` of each character (a dictionary hit for almost every character of a query)."""
    known = _SYLLABLES.get
    return [known(ch) or syllable(ch) for ch in text]


def known_syllables() -> dict[str, str]:
    """Every syllable looked up so far (to be cached with an index)."""
    return dict(_SYLLABLES)


def remember_syllables(table: dict[str, str]) -> None:
    _SYLLABLES.update(table)


@dataclass(slots=True)
class Lexicon:
    """Segments normalised text into canonical domain terms."""

    synonyms: Mapping[str, str] = field(default_factory=dict)  # colloquial -> canonical
    user_words: tuple[tuple[str, int], ...] = ()
    stopwords: frozenset[str] = STOPWORDS
    _jieba: jieba.Tokenizer | None = None

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Lexicon:
        """Read `userdict.txt` and `synonyms.yaml` from `data_dir` (either may be absent)."""
        words = tuple(_read_userdict(data_dir / "userdict.txt"))
        synonyms = _read_synonyms(data_dir / "synonyms.yaml")
        return cls(synonyms=synonyms, user_words=words)

    @property
    def jieba(self) -> jieba.Tokenizer:
        if self._jieba is None:
            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.tmp_dir = str(cache_dir())
            tk.initialize()
            for word, freq in self.user_words:
                tk.add_word(word, freq)
            for colloquial, canonical in self.synonyms.items():
                tk.add_word(colloquial, 20000)
                tk.add_word(canonical, 20000)
            self._jieba = tk
        return self._jieba

    def segment(self, text: str) -> list[str]:
        """Raw jieba segmentation of normalised text, spaces dropped."""
        return [t for t in self.jieba.lcut(text, HMM=True) if not t.isspace()]

    def canonical_tokens(self, text: str) -> list[str]:
        """Every token with colloquial words mapped to their canonical term."""
        return [self.synonyms.get(t, t) for t in self.segment(text)]

    def terms(self, text: str) -> list[str]:
        """Canonical content terms: synonyms mapped, stop words dropped (unless nothing is left)."""
        return self.content(self.canonical_tokens(text))

    def content(self, tokens: list[str]) -> list[str]:
        """`tokens` without stop words, or all of them if only stop words were typed."""
        content = [t for t in tokens if t not in self.stopwords]
        return content or tokens


def _read_userdict(path: Path) -> Iterable[tuple[str, int]]:
    if not path.exists():
        return
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        try:
            freq = int(parts[1]) if len(parts) > 1 else 20000
        except ValueError:
            raise KnowledgeError(path, f"第 {lineno} 行", "freq", f"词频不是整数：{parts[1]!r}") from None
        yield parts[0], freq


def _read_synonyms(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"))
        parsed = SynonymFile.model_validate(doc)
    except yaml.YAMLError as exc:
        raise KnowledgeError(path, None, None, f"YAML 语法错误：{exc}") from None
    except ValidationError as exc:
        raise describe_validation_error(path, doc, exc) from None
    mapping: dict[str, str] = {}
    for canonical, variants in parsed.synonyms.items():
        for variant in variants:
            if variant in mapping and mapping[variant] != canonical:
                raise KnowledgeError(
                    path, canonical, variant, f"“{variant}”同时是“{mapping[variant]}”的同义词"
                )
            mapping[variant] = canonical
    return mapping
