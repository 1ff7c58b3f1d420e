"""Load and validate the knowledge base: all files or nothing.

The bot must never answer from half a knowledge base, so loading validates every file, every
entry and every cross-reference first and only then returns; any problem raises a
`KnowledgeError` that names the file, line, entry and field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.errors import KnowledgeError, describe_validation_error, yaml_line
from knowledge.lexicon import DATA_DIR, Lexicon
from knowledge.schema import Entry, EntryFile
from knowledge.yamlio import parse_yaml

ENTRY_GLOB = "kb_*.yaml"


@dataclass(slots=True)
class KnowledgeBase:
    """Validated entries in file order, with the vocabulary used to match questions."""

    entries: dict[str, Entry]
    lexicon: Lexicon = field(default_factory=Lexicon)
    files: tuple[Path, ...] = ()
    data_dir: Path | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)

    def stats(self) -> dict[str, Any]:
        """Counts an operator checks after editing: per kind, per category, sample share."""
        entries = list(self.entries.values())
        return {
            "entries": len(entries),
            "by_kind": dict(Counter(e.kind for e in entries)),
            "by_category": dict(Counter(e.category for e in entries)),
            "sample": sum(e.sample for e in entries),
            "sourced": sum(e.source is not None for e in entries),
            "phrasings": sum(len(e.phrasings()) for e in entries),
            "synonyms": len(self.lexicon.synonyms),
            "user_words": len(self.lexicon.user_words),
            "files": [str(p) for p in self.files],
        }


def read_entry_file(path: Path) -> list[Entry]:
    """Parse and validate one YAML file of entries; entries inherit the file's category."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(path, None, None, f"无法读取文件：{exc}") from None
    try:
        doc = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise KnowledgeError(path, None, None, f"YAML 语法错误：{exc}", line) from None
    try:
        parsed = EntryFile.model_validate(doc)
    except ValidationError as exc:
        raise describe_validation_error(path, doc, exc) from None
    return [e if e.category else e.model_copy(update={"category": parsed.category}) for e in parsed.entries]


def load_dir(data_dir: Path = DATA_DIR, overlay: Path | None = None) -> KnowledgeBase:
    """Load every `kb_*.yaml` in `data_dir` plus its lexicon; raise on the first problem.

    `overlay` (if the file exists) is an entry file of local edits made at the staff console: its
    entries replace those of the same id and add new ones, so the bundled files stay untouched
    (they may live in a read-only install) and an edit survives an upgrade of them.
    """
    files = tuple(sorted(data_dir.glob(ENTRY_GLOB)))
    if not files:
        raise KnowledgeError(data_dir, None, None, f"目录中没有知识库文件（{ENTRY_GLOB}）")
    entries: dict[str, Entry] = {}
    origin: dict[str, Path] = {}
    for path in files:
        for entry in read_entry_file(path):
            if entry.id in entries:
                raise KnowledgeError(
                    path,
                    entry.id,
                    "id",
                    f"编号重复，已在 {origin[entry.id]} 中定义",
                    _entry_line(path, entry.id),
                )
            entries[entry.id] = entry
            origin[entry.id] = path
    if overlay is not None and overlay.exists():
        files = (*files, overlay)
        for entry in read_entry_file(overlay):
            entries[entry.id] = entry
            origin[entry.id] = overlay
    for entry in entries.values():
        for link in entry.links:
            if link not in entries:
                path = origin[entry.id]
                raise KnowledgeError(
                    path, entry.id, "links", f"链接的条目 {link} 不存在", _entry_line(path, entry.id)
                )
    return KnowledgeBase(entries, Lexicon.load(data_dir), files, data_dir)


def _entry_line(path: Path, entry_id: str) -> int | None:
    doc = parse_yaml(path.read_text(encoding="utf-8"))
    for i, item in enumerate(doc.get("entries") or []):
        if isinstance(item, dict) and item.get("id") == entry_id:
            return yaml_line(path, ("entries", i))
    return None


_default: KnowledgeBase | None = None


def load_default() -> KnowledgeBase:
    """The bundled knowledge base, loaded once per process."""
    global _default
    if _default is None:
        _default = load_dir(DATA_DIR)
    return _default
