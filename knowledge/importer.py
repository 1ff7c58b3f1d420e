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

import csv
import datetime as dt
import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from knowledge.schema import Faq

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ImportFileError",
    "ImportReport",
    "Rejected",
    "read_import",
]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".ndjson")

REQUIRED_FIELDS = ("id", "question", "answer")
OPTIONAL_FIELDS = (
    "paraphrases",
    "category",
    "department",
    "phone",
    "keywords",
    "links",
    "source_title",
    "source_url",
    "issuer",
    "doc_number",
    "sample",
)
_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)
_SOURCE_FIELDS = {
    "source_title": "title",
    "source_url": "url",
    "issuer": "issuer",
    "doc_number": "doc_number",
}
_SOURCE_LOC = {v: k for k, v in _SOURCE_FIELDS.items()}  # Source field -> import column
_LIST_FIELDS = ("paraphrases", "keywords", "links")
_SCALAR_FIELDS = ("id", "question", "answer", "category", "department", "phone")

# Header aliases (compared after `_normalise_header`); canonical English names map to themselves.
HEADER_ALIASES: Mapping[str, str] = {
    **{name: name for name in _FIELDS},
    "编号": "id",
    "序号": "id",
    "问题": "question",
    "答案": "answer",
    "回复": "answer",
    "回答": "answer",
    "相似问法": "paraphrases",
    "相似问": "paraphrases",
    "相似问题": "paraphrases",
    "分类": "category",
    "类别": "category",
    "部门": "department",
    "承办单位": "department",
    "责任单位": "department",
    "电话": "phone",
    "联系电话": "phone",
    "咨询电话": "phone",
    "关键词": "keywords",
    "关联条目": "links",
    "来源": "source_url",
    "来源链接": "source_url",
    "来源标题": "source_title",
    "政策依据": "source_title",
    "发文机关": "issuer",
    "文号": "doc_number",
    "示例": "sample",
}

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


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message names the file (and line, if any)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """One row that was not imported."""

    line: int  # 1-based: physical line for CSV/JSONL (where the row starts), row number for XLSX
    entry_id: str | None
    reason: str


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


# --------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    values: dict[str, Any]  # canonical field name -> raw value (str for CSV; cell value for XLSX; JSON)


def read_import(path: Path) -> ImportReport:
    """Read a FAQ catalogue from `.csv`, `.xlsx`, `.jsonl` or `.ndjson`.

    Raises `ImportFileError` for problems with the whole file; problems with single rows end up in
    `ImportReport.rejected`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    labels: dict[str, str] = {}  # canonical field -> the header the operator wrote, when different
    rows: Iterable[_Row | Rejected]
    if suffix == ".csv":
        rows = _read_csv(path, labels)
    elif suffix == ".xlsx":
        rows = _read_xlsx(path, labels)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _read_jsonl(path)
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
        entry_id = _text(row.values.get("id"))
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


def _normalise_header(name: object) -> str:
    text = _text(name) or ""
    return text.strip("*＊ \u3000").lower()


def _map_header(path: Path, line: int, header: Sequence[object], labels: dict[str, str]) -> dict[int, str]:
    """Column index -> canonical field; unknown columns are left out (ignored)."""
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for i, raw in enumerate(header):
        written = _text(raw) or ""
        canonical = HEADER_ALIASES.get(_normalise_header(raw))
        if canonical is None:
            continue
        if canonical in seen:
            raise ImportFileError(
                f"{path} 第 {line} 行（表头）：列“{seen[canonical]}”和“{written}”"
                f"都对应字段 {canonical}，请只保留一列"
            )
        seen[canonical] = written
        columns[i] = canonical
        if written != canonical:
            labels[canonical] = written
    missing = [name for name in REQUIRED_FIELDS if name not in seen]
    if missing:
        raise ImportFileError(
            f"{path} 第 {line} 行（表头）：缺少必填列 {'、'.join(missing)}"
            f"（可用中文表头：编号、问题、答案）；读到的表头：{'、'.join(_text(h) or '' for h in header)}"
        )
    return columns


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK, which Excel uses for Chinese CSV exports
    except UnicodeDecodeError as e:
        raise ImportFileError(
            f"{path}：无法识别文件编码（既不是 UTF-8 也不是 GBK），第 {e.start} 字节附近"
        ) from e


def _read_csv(path: Path, labels: dict[str, str]) -> Iterator[_Row]:
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: dict[int, str] | None = None
    while True:
        start = reader.line_num + 1  # a quoted cell may span lines: report where the row starts
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ImportFileError(f"{path} 第 {start} 行：CSV 格式错误：{e}") from e
        if not any(c.strip() for c in cells):
            continue
        if columns is None:
            columns = _map_header(path, start, cells, labels)
            continue
        yield _Row(start, {name: cells[i] if i < len(cells) else "" for i, name in columns.items()})
    if columns is None:
        raise ImportFileError(f"{path}：文件为空，缺少表头行")


def _read_xlsx(path: Path, labels: dict[str, str]) -> Iterator[_Row]:
    from openpyxl import load_workbook  # local: only XLSX imports need it
    from openpyxl.utils.exceptions import InvalidFileException

    # openpyxl warns about harmless things (missing default style, data validation extensions).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise ImportFileError(f"{path}：无法读取 Excel 文件：{e}") from e
        try:
            if not wb.worksheets:
                raise ImportFileError(f"{path}：工作簿中没有工作表")
            ws = wb.worksheets[0]
            ws.reset_dimensions()  # exporters often write a wrong <dimension>; read what is there
            columns: dict[int, str] | None = None
            # Missing rows are yielded as empty tuples, so enumerate gives the sheet's row numbers.
            for number, cells in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
                if not any(_text(c) for c in cells):
                    continue
                if columns is None:
                    columns = _map_header(path, number, cells, labels)
                    continue
                yield _Row(
                    number, {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
                )
            if columns is None:
                raise ImportFileError(f"{path}：第一个工作表“{ws.title}”为空，缺少表头行")
        finally:
            wb.close()


def _read_jsonl(path: Path) -> Iterator[_Row | Rejected]:
    text = _decode(path)
    # Split on "\n" only: JSON strings may legally contain U+2028 and other characters that
    # str.splitlines() would treat as line breaks.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Rejected(number, None, f"JSON 格式错误：{e.msg}（第 {e.colno} 列）")
            continue
        if not isinstance(obj, dict):
            yield Rejected(number, None, f"不是 JSON 对象（读到 {type(obj).__name__}）")
            continue
        keys = {HEADER_ALIASES.get(_normalise_header(k)): k for k in obj}
        yield _Row(number, {name: obj[key] for name, key in keys.items() if name is not None})


# ------------------------------------------------------------------------------------ row -> Faq


def _text(value: object) -> str | None:
    """A cell value as stripped text; None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # Excel stores 12345 as 12345.0
    elif isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    elif isinstance(value, int | float | dt.date | dt.time | str):
        text = str(value)
    else:
        return None
    text = text.strip()
    return text or None


def _split(name: str, value: object) -> list[Any]:
    """A list field from one cell (split on separators) or a JSON list (kept; items validated)."""
    if isinstance(value, list | tuple):
        items = [v.strip() if isinstance(v, str) else v for v in value]
        items = [v for v in items if v not in ("", None)]
    else:
        text = _text(value)
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
    text = _text(value)
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
        text = _text(value)
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
        shown = _text(values.get("sample"))
        errors.append(f"{_field_label('sample', labels)}：应为 是/否、true/false 或 1/0，读到“{shown}”")
    else:
        data["sample"] = sample

    source: dict[str, str] = {}
    for column, attr in _SOURCE_FIELDS.items():
        value = values.get(column)
        text = None if isinstance(value, list | dict) else _text(value)
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
