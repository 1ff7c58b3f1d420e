"""On-disk cache of the bundled knowledge base's built index.

A cold `yiqiban kb ask` must answer within 2 s, and building the index (segmenting every
phrasing and answer) costs about half a second of that. The cache is keyed by the bytes of every
data file, the matcher's weights and the source of the modules that shape the index, so an edit to
any of them rebuilds it; a cache that cannot be read is ignored and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import knowledge
from knowledge.fileio import atomic_write
from knowledge.lexicon import cache_dir

FORMAT = 1
_SHAPING_MODULES = ("index.py", "lexicon.py", "normalize.py", "matcher.py", "answer.py")


def cache_key(files: Iterable[Path], *extra: object) -> str:
    """A digest of the data files, the index-shaping code and any further parameters."""
    h = hashlib.sha256(f"yiqiban-index:{FORMAT}".encode())
    package = Path(knowledge.__file__).resolve().parent
    for path in [*(package / m for m in _SHAPING_MODULES), *sorted(files)]:
        h.update(path.name.encode())
        h.update(path.read_bytes() if path.exists() else b"-")
    for item in extra:
        h.update(repr(item).encode())
    return h.hexdigest()[:32]


def _path(key: str) -> Path:
    return cache_dir() / f"index-{key}.pickle"


def load(key: str) -> Any | None:
    """The cached object for `key`, or None when absent or unreadable."""
    try:
        with _path(key).open("rb") as f:
            return pickle.load(f)
    except Exception:
        return None


def save(key: str, obj: object) -> None:
    """Write atomically; a cache that cannot be written only costs speed."""
    try:
        atomic_write(_path(key), pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        return
