"""Tests for knowledge.importer: real CSV / XLSX / JSONL files written to tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from knowledge.importer import ImportFileError, ImportReport, Rejected, read_import
from knowledge.schema import EntryFile, Faq, Source
from knowledge.writer import write_entry_file

HEADER = "id,question,answer,paraphrases,department,phone\n"


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _write_jsonl(path: Path, lines: list[object | str]) -> Path:
    out = [line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "问答"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    extra = wb.create_sheet("其他")  # only the first sheet is read
    extra.append(["id", "question", "answer"])
    extra.append(["faq-other", "不应读到", "不应读到"])
    wb.save(path)
    return path


# ----------------------------------------------------------------------------------------------- CSV


def test_csv_utf8_rows_become_sourced_faqs(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "erqi.csv",
        HEADER
        + "faq-license,营业执照怎么办？,登录河南政务服务网申请。,"
        + "执照咋办|怎么办营业执照,二七区市场监管局,0371-12345678\n"
        + "faq-tax,小微企业有哪些税收优惠？,按国家规定减按 25% 计入应纳税所得额。,,,\n",
    )
    report = read_import(path)

    assert report.rejected == []
    assert [e.id for e in report.entries] == ["faq-license", "faq-tax"]
    first = report.entries[0]
    assert first.question == "营业执照怎么办？"
    assert first.answer == "登录河南政务服务网申请。"
    assert first.paraphrases == ("执照咋办", "怎么办营业执照")
    assert first.department == "二七区市场监管局"
    assert first.phone == "0371-12345678"
    # The district's own export is real data, cited as the import file.
    assert first.sample is False
    assert first.source == Source(title="导入：erqi.csv")
    assert report.entries[1].paraphrases == ()
    assert report.entries[1].department is None


def test_csv_with_bom_reads_first_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.csv", HEADER + "faq-1,问题一,答案一,,,\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = read_import(path)

    assert report.rejected == []
    assert [e.id for e in report.entries] == ["faq-1"]


def test_csv_in_gbk_with_chinese_headers(tmp_path: Path) -> None:
    text = (
        "编号,问题,回复,相似问法,类别,承办单位,电话,来源链接,备注\r\n"
        "faq-gbk,个体户怎么注销？,可在政务服务网办理简易注销。,个体户注销；注销个体户,市场主体,二七区市场监管局,12345,"
        "https://www.zhengzhou.gov.cn/a.html,内部备注\r\n"
    )
    path = _write(tmp_path / "gbk.csv", text, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    report = read_import(path)

    assert report.rejected == []
    (entry,) = report.entries
    assert entry.id == "faq-gbk"
    assert entry.question == "个体户怎么注销？"
    assert entry.answer == "可在政务服务网办理简易注销。"
    assert entry.paraphrases == ("个体户注销", "注销个体户")
    assert entry.category == "市场主体"
    assert entry.department == "二七区市场监管局"
    assert entry.phone == "12345"
    assert entry.source == Source(title="导入：gbk.csv", url="https://www.zhengzhou.gov.cn/a.html")


def test_csv_paraphrase_splitting_and_multiline_cells_keep_line_numbers(tmp_path: Path) -> None:
    text = (
        "id,question,answer,paraphrases,keywords,links\n"
        'faq-a,问一,答一,"说法一\n说法二｜说法三|说法四；说法一","社保,医保、公积金","faq-b, faq-c"\n'
        "faq-b,问二,答二,,,\n"
        "\n"
        "faq-c,,答三,,,\n"
    )
    path = _write(tmp_path / "split.csv", text)

    report = read_import(path)

    a, b = report.entries
    assert a.paraphrases == ("说法一", "说法二", "说法三", "说法四")  # split, stripped, de-duplicated
    assert a.keywords == ("社保", "医保", "公积金")
    assert a.links == ("faq-b", "faq-c")
    assert b.id == "faq-b"
    # Row faq-a spans lines 2-3, so faq-c (after a blank line) starts on physical line 6.
    assert report.rejected == [Rejected(6, "faq-c", "字段 question：不能为空")]


def test_csv_missing_and_empty_required_fields(tmp_path: Path) -> None:
    text = "id,question,answer\nfaq-1,问题,\n,问题二,答案二\nfaq-3,问题三\nfaq-4,问题四,答案四\n"
    path = _write(tmp_path / "missing.csv", text)

    report = read_import(path)

    assert [e.id for e in report.entries] == ["faq-4"]
    assert report.rejected == [
        Rejected(2, "faq-1", "字段 answer：不能为空"),
        Rejected(3, None, "字段 id：不能为空"),
        Rejected(4, "faq-3", "字段 answer：不能为空"),
    ]


def test_csv_header_without_required_column_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "nohead.csv", "\n编号,问题,备注\nfaq-1,问题,x\n")
    with pytest.raises(ImportFileError) as info:
        read_import(path)
    message = str(info.value)
    assert "nohead.csv" in message
    assert "第 2 行" in message
    assert "answer" in message


def test_csv_duplicate_id_rejects_second_naming_first_line(tmp_path: Path) -> None:
    text = "id,question,answer\nfaq-1,问一,答一\nfaq-2,问二,答二\nfaq-1,问一again,答\n"
    path = _write(tmp_path / "dup.csv", text)

    report = read_import(path)

    assert [e.question for e in report.entries] == ["问一", "问二"]
    assert report.rejected == [Rejected(4, "faq-1", "字段 id：与第 2 行的编号重复")]


def test_csv_invalid_phone_url_and_id(tmp_path: Path) -> None:
    text = (
        "id,question,answer,phone,source_url\n"
        "faq-phone,问,答,打电话问问,\n"
        "faq-url,问,答,,www.example.com\n"
        "坏 编号,问,答,,\n"
        "faq-ok,问,答,0371-68123456 转 1,https://example.com\n"
    )
    path = _write(tmp_path / "bad.csv", text)

    report = read_import(path)

    assert [e.id for e in report.entries] == ["faq-ok"]
    lines = {r.line: r for r in report.rejected}
    assert set(lines) == {2, 3, 4}
    assert lines[2].entry_id == "faq-phone"
    assert lines[2].reason.startswith("字段 phone：不是有效的电话号码")
    assert lines[3].reason.startswith("字段 source_url：不是 http(s) 链接")
    assert lines[4].entry_id == "坏 编号"
    assert lines[4].reason.startswith("字段 id：编号格式不对")


def test_csv_chinese_header_is_named_in_reasons(tmp_path: Path) -> None:
    path = _write(tmp_path / "zh.csv", "编号,问题,答案,电话\nfaq-1,问,,12\n")

    (rejected,) = read_import(path).rejected

    assert "字段 answer（答案）：不能为空" in rejected.reason
    assert "字段 phone（电话）：不是有效的电话号码" in rejected.reason


def test_sample_column_and_source_fields(tmp_path: Path) -> None:
    text = (
        "id,question,answer,sample,source_title,issuer,doc_number\n"
        "faq-s1,问,答,是,,,\n"
        "faq-s0,问,答,0,,,\n"
        "faq-doc,问,答,否,小微企业所得税优惠公告,财政部 税务总局,2023年第6号\n"
        "faq-bad,问,答,也许,,,\n"
    )
    path = _write(tmp_path / "sample.csv", text)

    report = read_import(path)

    s1, s0, doc = report.entries
    assert (s1.sample, s1.source) == (True, None)
    assert (s0.sample, s0.source) == (False, Source(title="导入：sample.csv"))
    assert doc.source == Source(
        title="小微企业所得税优惠公告", issuer="财政部 税务总局", doc_number="2023年第6号"
    )
    (bad,) = report.rejected
    assert (bad.line, bad.entry_id) == (5, "faq-bad")
    assert bad.reason.startswith("字段 sample：")


# ---------------------------------------------------------------------------------------------- XLSX


def test_xlsx_first_sheet_header_on_first_nonempty_row(tmp_path: Path) -> None:
    path = _write_xlsx(
        tmp_path / "erqi.xlsx",
        [
            [],
            ["编号", "问题", "答案", "相似问", "电话", "sample", "无关列"],
            [
                "faq-x1",
                "开办企业要多久？",
                "一般 1 个工作日内办结。",
                "开公司多久\n注册公司几天",
                12345,
                False,
                "x",
            ],
            [],
            ["faq-x2", "", "没有问题", None, None, None, None],
            [101, "纯数字编号可以吗？", "可以。", None, 123456.0, True, None],
        ],
    )

    report = read_import(path)

    assert [e.id for e in report.entries] == ["faq-x1", "101"]
    x1, numeric = report.entries
    assert x1.paraphrases == ("开公司多久", "注册公司几天")
    assert x1.phone == "12345"
    assert x1.source == Source(title="导入：erqi.xlsx")
    assert numeric.phone == "123456"  # not "123456.0"
    assert (numeric.sample, numeric.source) == (True, None)
    # Spreadsheet row numbers, counting the empty rows.
    assert report.rejected == [Rejected(5, "faq-x2", "字段 question（问题）：不能为空")]


def test_xlsx_duplicate_ids_and_bad_file(tmp_path: Path) -> None:
    path = _write_xlsx(
        tmp_path / "dup.xlsx",
        [["id", "question", "answer"], ["faq-1", "问", "答"], ["faq-1", "问", "答"]],
    )
    report = read_import(path)
    assert len(report.entries) == 1
    assert report.rejected == [Rejected(3, "faq-1", "字段 id：与第 2 行的编号重复")]

    broken = _write(tmp_path / "broken.xlsx", "not a zip file")
    with pytest.raises(ImportFileError, match=r"broken\.xlsx"):
        read_import(broken)


# --------------------------------------------------------------------------------------------- JSONL


def test_jsonl_with_broken_lines(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "faq.jsonl",
        [
            {
                "id": "faq-j1",
                "question": "问一",
                "answer": "答一",
                "paraphrases": ["说法一", " 说法二 "],
                "extra": 1,
            },
            "",
            '{"id": "faq-j2", "question": "问二",',
            '["not", "an", "object"]',
            {
                "id": "faq-j3",
                "question": "问三",
                "answer": "答三",
                "paraphrases": "说法甲|说法乙",
                "sample": "true",
            },
            {"id": "faq-j4", "answer": "没有问题"},
            {"id": "faq-j5", "question": "问五", "answer": "答五", "keywords": ["社保", {"x": 3}]},
            {"id": "faq-j1", "question": "重复", "answer": "重复"},
        ],
    )

    report = read_import(path)

    assert [e.id for e in report.entries] == ["faq-j1", "faq-j3"]
    j1, j3 = report.entries
    assert j1.paraphrases == ("说法一", "说法二")
    assert j1.source == Source(title="导入：faq.jsonl")
    assert j3.paraphrases == ("说法甲", "说法乙")
    assert (j3.sample, j3.source) == (True, None)

    assert [(r.line, r.entry_id) for r in report.rejected] == [
        (3, None),
        (4, None),
        (6, "faq-j4"),
        (7, "faq-j5"),
        (8, "faq-j1"),
    ]
    reasons = [r.reason for r in report.rejected]
    assert reasons[0].startswith("JSON 格式错误")
    assert reasons[1].startswith("不是 JSON 对象")
    assert reasons[2] == "字段 question：缺少（必填）"
    assert reasons[3] == "字段 keywords 第 2 项：应为文本"
    assert reasons[4] == "字段 id：与第 1 行的编号重复"


def test_ndjson_extension_is_accepted(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "faq.NDJSON", [{"id": "faq-n", "question": "问", "answer": "答"}])
    assert [e.id for e in read_import(path).entries] == ["faq-n"]


# ------------------------------------------------------------------------------------ errors, summary


@pytest.mark.parametrize("name", ["faq.txt", "faq.xls", "faq"])
def test_unknown_extension_is_a_clear_error(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / name, "id,question,answer\n")
    with pytest.raises(ImportFileError, match="不支持的文件类型") as info:
        read_import(path)
    assert name in str(info.value)


def test_summary_lists_rejections() -> None:
    report = ImportReport(
        entries=[Faq(id="faq-ok", question="问", answer="答", sample=True)],
        rejected=[Rejected(7, "faq-x", "字段 answer：不能为空"), Rejected(9, None, "JSON 格式错误：x")],
    )
    assert report.summary() == (
        "导入 1 条，拒绝 2 条\n  第 7 行 [faq-x]：字段 answer：不能为空\n  第 9 行：JSON 格式错误：x"
    )
    assert ImportReport(entries=[], rejected=[]).summary() == "导入 0 条，拒绝 0 条"


# ------------------------------------------------------------------------------------------- writing


def test_write_entry_file_round_trip(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path / "erqi.csv",
        "id,question,answer,paraphrases,category,phone,source_url,sample\n"
        'faq-1,问一？,"第一段。\n第二段。",说法一|说法二,企业开办,12345,https://example.com/a,\n'
        "faq-2,问二？,答二,,,,,是\n",
    )
    entries = read_import(csv_path).entries
    entries.append(
        Faq(
            id="faq-3",
            question="问三",
            answer="答三",
            keywords=("社保",),
            links=("faq-1",),
            source=Source(title="某公告", issuer="某局", doc_number="2024年第1号"),
        )
    )
    out = tmp_path / "data" / "kb_imported.yaml"

    write_entry_file(entries, "企业开办", out)

    text = out.read_text(encoding="utf-8")
    assert "问一？" in text  # allow_unicode: no \u escapes
    raw = yaml.safe_load(text)
    assert raw["category"] == "企业开办"
    first = raw["entries"][0]
    assert list(first)[:2] == ["id", "kind"]
    assert first["kind"] == "faq"
    assert "sample" not in first  # defaults are left out
    assert raw["entries"][1]["sample"] is True
    assert EntryFile.model_validate(raw).entries == tuple(entries)
    assert [p.name for p in out.parent.iterdir()] == ["kb_imported.yaml"]  # no temp file left behind


def test_write_entry_file_replaces_and_refuses_invalid(tmp_path: Path) -> None:
    out = tmp_path / "kb.yaml"
    one = Faq(id="faq-1", question="问", answer="答", sample=True)
    write_entry_file([one], "旧", out)
    write_entry_file([one], "新", out)
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["category"] == "新"

    before = out.read_bytes()
    with pytest.raises(ValueError, match="重复"):
        write_entry_file([one, one], "新", out)
    with pytest.raises(ValueError):
        write_entry_file([], "新", out)
    with pytest.raises(ValueError):
        write_entry_file([one], "  ", out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kb.yaml"]


def test_write_entry_file_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kb.yaml"
    write_entry_file([Faq(id="faq-1", question="问", answer="答", sample=True)], "旧", out)
    before = out.read_bytes()

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("knowledge.fileio.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_entry_file([Faq(id="faq-2", question="问", answer="答", sample=True)], "新", out)

    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kb.yaml"]  # the temp file was removed
