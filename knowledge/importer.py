"""Import a district's FAQ catalogue (CSV, XLSX or JSONL) into validated `Faq` entries.

Districts keep their question-and-answer catalogues in Excel and export them as `.xlsx` or `.csv`
(often GBK-encoded); other tools produce JSON Lines. `read_import` turns each row into a
`knowledge.schema.Faq`, and collects the rows it cannot use as `Rejected` with the line and the
field at fault, so one bad row never stops the rest of the catalogue from loading.
`knowledge.writer.write_entry_file` then writes them as a YAML entry file like those in
`knowledge/data/`.

Problems with the file as a whole (unknown extension, undecodable text, a header without the
required columns) raise `ImportFileError`, whose message names the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from knowledge.import_formats import (
    REQUIRED_FIELDS,
    ImportFileError,
    Rejected,
    Row,
    cell_text,
    read_csv,
    read_jsonl,
    read_xlsx,
)
from knowledge.schema import Faq

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ImportFileError",
    "ImportReport",
    "Rejected",
    "read_import",
]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".ndjson")

_SOURCE_FIELDS = {
    "source_title": "title",
    "source_url": "url",
    "issuer": "issuer",
    "doc_number": "doc_number",
}
_SOURCE_LOC = {v: k for k, v in _SOURCE_FIELDS.items()}  # Source field -> import column
_LIST_FIELDS = ("paraphrases", "keywords", "links")
_SCALAR_FIELDS = ("id", "question", "answer", "category", "department", "phone")

# Paraphrases are whole sentences: split only on unambiguous separators. Keywords are short terms
# and may also be separated by commas or 、; links are entry ids, which contain no spaces or commas.
_PARAPHRASE_SEPARATORS = re.compile(r"[|｜；\r\n]+")
_KEYWORD_SEPARATORS = re.compile(r"[|｜；;,，、\r\n]+")
_LINK_SEPARATORS = re.compile(r"[|｜；;,，、\s]+")
_SEPARATORS = {
    "paraphrases": _PARAPHRASE_SEPARATORS,
    "keywords": _KEYWORD_SEPARATORS,
    "links": _LINK_SEPARATORS,
}

_TRUE = frozenset({"true", "t", "yes", "y", "1", "是", "对", "√"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "否", "不是", "×"})


@dataclass(slots=True)
class ImportReport:
    """What `read_import` made of a file: the valid entries and the rejected rows, in file order."""

    entries: list[Faq] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        """A short operator summary, one extra line per rejected row."""
        lines = [f"导入 {len(self.entries)} 条，拒绝 {len(self.rejected)} 条"]
        for r in self.rejected:
            tag = f" [{r.entry_id}]" if r.entry_id else ""
            lines.append(f"  第 {r.line} 行{tag}：{r.reason}")
        return "\n".join(lines)


def read_import(path: Path) -> ImportReport:
    """Read a FAQ catalogue from `.csv`, `.xlsx`, `.jsonl` or `.ndjson`.

    Raises `ImportFileError` for problems with the whole file; problems with single rows end up in
    `ImportReport.rejected`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    labels: dict[str, str] = {}  # canonical field -> the header the operator wrote, when different
    rows: Iterable[Row | Rejected]
    if suffix == ".csv":
        rows = read_csv(path, labels)
    elif suffix == ".xlsx":
        rows = read_xlsx(path, labels)
    elif suffix in (".jsonl", ".ndjson"):
        rows = read_jsonl(path)
    else:
        hint = "（旧版 .xls 请在 Excel 中另存为 .xlsx）" if suffix == ".xls" else ""
        raise ImportFileError(
            f"{path}：不支持的文件类型 {path.suffix or '（无扩展名）'}，"
            f"请使用 .csv、.xlsx、.jsonl 或 .ndjson{hint}"
        )

    report = ImportReport()
    first_line: dict[str, int] = {}  # entry id -> line where it first appeared
    for row in rows:
        if isinstance(row, Rejected):
            report.rejected.append(row)
            continue
        entry_id = cell_text(row.values.get("id"))
        if entry_id:
            if entry_id in first_line:
                reason = f"{_field_label('id', labels)}：与第 {first_line[entry_id]} 行的编号重复"
                report.rejected.append(Rejected(row.line, entry_id, reason))
                continue
            first_line[entry_id] = row.line
        entry, errors = _to_faq(row.values, path, labels)
        if entry is None:
            report.rejected.append(Rejected(row.line, entry_id or None, "；".join(errors)))
        else:
            report.entries.append(entry)
    return report


# ------------------------------------------------------------------------------------ row -> Faq


def _split(name: str, value: object) -> list[Any]:
    """A list field from one cell (split on separators) or a JSON list (kept; items validated)."""
    if isinstance(value, list | tuple):
        items = [v.strip() if isinstance(v, str) else v for v in value]
        items = [v for v in items if v not in ("", None)]
    else:
        text = cell_text(value)
        items = [p.strip() for p in _SEPARATORS[name].split(text)] if text else []
        items = [p for p in items if p]
    unique: list[Any] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return unique


def _sample(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value)
    if text is None:
        return False
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    return None


def _to_faq(values: Mapping[str, Any], path: Path, labels: Mapping[str, str]) -> tuple[Faq | None, list[str]]:
    errors: list[str] = []
    data: dict[str, Any] = {}
    for name in _SCALAR_FIELDS:
        if name not in values:
            continue  # absent JSON key: a required one is reported by validation as 缺少
        value = values[name]
        if isinstance(value, list | dict):
            errors.append(f"{_field_label(name, labels)}：应为文本，不能是列表或对象")
            continue
        text = cell_text(value)
        if text is not None:
            data[name] = text
        elif name in REQUIRED_FIELDS:
            data[name] = ""  # empty cell or null: reported by validation as 不能为空
    for name in _LIST_FIELDS:
        value = values.get(name)
        if isinstance(value, dict):
            errors.append(f"{_field_label(name, labels)}：应为列表或用 | 分隔的文本")
            continue
        items = _split(name, value)
        if items:
            data[name] = items

    sample = _sample(values.get("sample"))
    if sample is None:
        shown = cell_text(values.get("sample"))
        errors.append(f"{_field_label('sample', labels)}：应为 是/否、true/false 或 1/0，读到“{shown}”")
    else:
        data["sample"] = sample

    source: dict[str, str] = {}
    for column, attr in _SOURCE_FIELDS.items():
        value = values.get(column)
        text = None if isinstance(value, list | dict) else cell_text(value)
        if text is not None:
            source[attr] = text
    if source:
        source.setdefault("title", f"导入：{path.name}")
        data["source"] = source
    elif not sample:
        # The district's own catalogue is real data: cite the import file as its source.
        data["source"] = {"title": f"导入：{path.name}"}

    try:
        entry = Faq.model_validate(data)
    except ValidationError as e:
        errors.extend(_describe(err, labels) for err in e.errors(include_url=False))
        return None, errors
    if errors:
        return None, errors
    return entry, errors


def _field_label(name: str, labels: Mapping[str, str]) -> str:
    written = labels.get(name)
    return f"字段 {name}（{written}）" if written else f"字段 {name}"


def _describe(err: ErrorDetails, labels: Mapping[str, str]) -> str:
    """A pydantic error as "字段 x：reason", naming the import column rather than the model path."""
    loc = list(err["loc"])
    if len(loc) >= 2 and loc[0] == "source" and isinstance(loc[1], str):
        loc = [_SOURCE_LOC.get(loc[1], f"source.{loc[1]}"), *loc[2:]]
    name = str(loc[0]) if loc else ""
    where = _field_label(name, labels) if name else "条目"
    if len(loc) >= 2 and isinstance(loc[1], int):
        where += f" 第 {loc[1] + 1} 项"
    kind = err["type"]
    value = err.get("input")
    if kind == "missing":
        reason = "缺少（必填）"
    elif kind == "string_too_short" or value == "":
        reason = "不能为空"
    elif kind == "string_pattern_mismatch":
        reason = f"编号格式不对“{value}”：只能用字母、数字和 _ . : -，以字母或数字开头，最多 80 个字符"
    elif kind == "string_type":
        reason = "应为文本"
    elif kind in ("list_type", "tuple_type"):
        reason = "应为列表或用 | 分隔的文本"
    elif name == "phone":
        reason = f"不是有效的电话号码“{value}”"
    elif name == "source_url":
        reason = f"不是 http(s) 链接“{value}”"
    else:
        reason = err["msg"].removeprefix("Value error, ")
    return f"{where}：{reason}"
