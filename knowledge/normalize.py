"""Text normalisation applied identically to indexed phrasings and to user questions.

Users type on phones: full-width letters and digits, mixed case, emoji and punctuation, and now
and then traditional characters (a Hong Kong or Taiwan investor, a phone set to 繁體). Matching
must not depend on any of that.
"""

from __future__ import annotations

import json
import re
import unicodedata
from importlib import resources

import zhconv
import zhconv.zhconv as _zhconv_impl

# Everything that is not a letter, digit or CJK ideograph separates words.
_SEPARATORS = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _load_zhconv_dict() -> None:
    """Load zhconv's table with a closed file handle (its own loader leaks one)."""
    if _zhconv_impl.zhcdicts is None:
        with resources.files("zhconv").joinpath("zhcdict.json").open("rb") as f:
            table = json.loads(f.read().decode("utf-8"))
        table["SIMPONLY"] = frozenset(table["SIMPONLY"])
        table["TRADONLY"] = frozenset(table["TRADONLY"])
        _zhconv_impl.zhcdicts = table


def to_simplified(text: str) -> str:
    """Traditional → simplified, phrase-aware (zhconv); text without ideographs is returned as is."""
    if not _CJK.search(text):
        return text
    _load_zhconv_dict()
    return str(zhconv.convert(text, "zh-cn"))


def normalize(text: str) -> str:
    """Full/half width, case, punctuation and script folded to one canonical form.

    Returns lower-case simplified text in which runs of punctuation, emoji and whitespace are a
    single space; leading and trailing space is removed.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    return _SEPARATORS.sub(" ", text).strip()


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))
