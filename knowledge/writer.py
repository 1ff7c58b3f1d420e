"""Write entries as a YAML entry file, the format of `knowledge/data/kb_*.yaml`.

Used by `yiqiban kb import`: the file is validated before it is written and replaced atomically,
so the knowledge-base directory never holds a half-written or unloadable file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from knowledge.fileio import atomic_write
from knowledge.schema import Entry, EntryFile
from knowledge.yamlio import parse_yaml

_KEY_ORDER = (
    "id",
    "kind",
    "category",
    "question",
    "answer",
    "paraphrases",
    "keywords",
    "department",
    "phone",
    "links",
    "source",
    "sample",
)


class _Dumper(yaml.SafeDumper):
    """Safe dumper writing multi-line strings as `|` blocks so that answers stay readable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def entry_yaml(entry: Entry) -> str:
    """One entry as the YAML a person edits (the staff console's edit box)."""
    return yaml.dump(_entry_dict(entry), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def _entry_dict(entry: Entry) -> dict[str, Any]:
    dumped: dict[str, Any] = entry.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    dumped["kind"] = entry.kind  # a default, but the entry file's discriminator
    ordered = {key: dumped.pop(key) for key in _KEY_ORDER if key in dumped}
    ordered.update(dumped)
    return ordered


def write_entry_file(entries: Sequence[Entry], category: str, path: Path) -> None:
    """Write `entries` as a YAML entry file (`category:` + `entries:`), atomically.

    Reloading the file with `EntryFile.model_validate(yaml.safe_load(...))` gives back equal entries.
    Raises `ValueError` for an empty list, a blank category or duplicate ids; nothing is written then.
    """
    path = Path(path)
    if not category.strip():
        raise ValueError(f"{path}：分类 category 不能为空")
    if not entries:
        raise ValueError(f"{path}：没有可写入的条目")
    seen: set[str] = set()
    duplicates: set[str] = set()
    for entry in entries:
        (duplicates if entry.id in seen else seen).add(entry.id)
    if duplicates:
        raise ValueError(f"{path}：条目编号重复：{'、'.join(sorted(duplicates))}")

    document = {"category": category.strip(), "entries": [_entry_dict(e) for e in entries]}
    text = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    EntryFile.model_validate(parse_yaml(text))  # never leave a file the loader would refuse

    atomic_write(path, text.encode("utf-8"))
