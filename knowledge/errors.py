"""Errors that point an operator at the exact file, line, entry and field to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

_KIND_TAGS = {"faq", "policy", "service_item"}  # pydantic's discriminator step in an error loc


class KnowledgeError(ValueError):
    """A knowledge-base file that cannot be loaded; nothing from the load is used."""

    def __init__(
        self,
        path: Path,
        entry: str | None,
        field: str | None,
        message: str,
        line: int | None = None,
    ) -> None:
        self.path, self.entry, self.field, self.message, self.line = path, entry, field, message, line
        where = f"{path}:{line}" if line else str(path)
        parts = [where]
        if entry:
            parts.append(f"条目 {entry}")
        if field:
            parts.append(f"字段 {field}")
        super().__init__("，".join(parts) + f"：{message}")


def _walk(node: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """Follow a pydantic error location through a composed YAML node tree."""
    for step in loc:
        if node is None:
            return None
        if isinstance(node, yaml.MappingNode):
            if step in _KIND_TAGS and not any(k.value == step for k, _ in node.value):
                continue
            node = next((v for k, v in node.value if k.value == str(step)), None)
            if node is None:
                return None
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            node = node.value[step] if step < len(node.value) else None
        else:
            return node
    return node


def yaml_line(path: Path, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    for cut in range(len(loc), -1, -1):
        node = _walk(root, loc[:cut])
        if node is not None:
            return int(node.start_mark.line) + 1
    return None


def describe_validation_error(path: Path, doc: Any, exc: ValidationError) -> KnowledgeError:
    """Turn pydantic's first error into a KnowledgeError naming the entry id, field and line."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    entry: str | None = None
    field_path = [str(s) for s in loc if s not in _KIND_TAGS]
    if len(loc) >= 2 and loc[0] == "entries" and isinstance(loc[1], int):
        raw = (doc or {}).get("entries") or []
        item = raw[loc[1]] if loc[1] < len(raw) else None
        entry = str(item.get("id")) if isinstance(item, dict) and item.get("id") else f"#{loc[1] + 1}"
        field_path = [str(s) for s in loc[2:] if s not in _KIND_TAGS]
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "缺少必填字段"
    elif err["type"] == "extra_forbidden":
        msg = "未知字段（拼写错误？）"
    return KnowledgeError(path, entry, ".".join(field_path) or None, msg, yaml_line(path, loc))
