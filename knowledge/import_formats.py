"""Reading the rows of a catalogue file: CSV (UTF-8 or GBK), XLSX (first sheet) and JSON Lines.

Each reader yields raw rows keyed by canonical field name, with the line (or sheet row) where the
row starts, so that `knowledge.importer` can report every rejection by line; problems with the
file as a whole raise `ImportFileError` naming the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message names the file (and line, if any)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """One row that was not imported."""

    line: int  # 1-based: physical line for CSV/JSONL (where the row starts), row number for XLSX
    entry_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, Any]  # canonical field name -> raw value (str for CSV; cell value for XLSX; JSON)


def cell_text(value: object) -> str | None:
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


def _normalise_header(name: object) -> str:
    text = cell_text(name) or ""
    return text.strip("*＊ \u3000").lower()


def _map_header(path: Path, line: int, header: Sequence[object], labels: dict[str, str]) -> dict[int, str]:
    """Column index -> canonical field; unknown columns are left out (ignored)."""
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for i, raw in enumerate(header):
        written = cell_text(raw) or ""
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
            f"（可用中文表头：编号、问题、答案）；读到的表头：{'、'.join(cell_text(h) or '' for h in header)}"
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


def read_csv(path: Path, labels: dict[str, str]) -> Iterator[Row]:
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
        yield Row(start, {name: cells[i] if i < len(cells) else "" for i, name in columns.items()})
    if columns is None:
        raise ImportFileError(f"{path}：文件为空，缺少表头行")


def read_xlsx(path: Path, labels: dict[str, str]) -> Iterator[Row]:
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
                if not any(cell_text(c) for c in cells):
                    continue
                if columns is None:
                    columns = _map_header(path, number, cells, labels)
                    continue
                yield Row(number, {name: cells[i] if i < len(cells) else None for i, name in columns.items()})
            if columns is None:
                raise ImportFileError(f"{path}：第一个工作表“{ws.title}”为空，缺少表头行")
        finally:
            wb.close()


def read_jsonl(path: Path) -> Iterator[Row | Rejected]:
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
        yield Row(number, {name: obj[key] for name, key in keys.items() if name is not None})
