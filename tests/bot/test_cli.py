"""The `yiqiban` CLI, driven through its entry point exactly as an operator runs it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from knowledge.lexicon import DATA_DIR


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A private copy of the bundled knowledge base that a test may change."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_validate_and_stats_on_the_bundled_kb() -> None:
    code, text = run("kb", "validate")
    assert code == 0 and "校验通过" in text
    code, text = run("kb", "stats", "--json")
    stats = json.loads(text)
    assert code == 0 and stats["entries"] >= 80 and stats["sample"] > 0


def test_validate_names_file_and_line_of_a_broken_entry(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data / "kb_zz.yaml").write_text(
        "category: 测试\nentries:\n  - id: faq-zz\n    kind: faq\n    question: 测试问题\n    sample: true\n",
        encoding="utf-8",
    )
    code, _ = run("kb", "validate", "--data", str(data))
    err = capsys.readouterr().err
    assert code == 1
    assert "kb_zz.yaml:3" in err and "faq-zz" in err and "answer" in err


def test_ask_json_has_intent_grade_and_scored_hits() -> None:
    code, text = run("kb", "ask", "营业执照网上怎么办理", "--json")
    result = json.loads(text)
    assert code == 0
    assert result["intent"] in {"consult_policy", "service_guide"}
    assert result["grade"] in {"answer", "clarify"}
    assert result["hits"] and all(0 <= h["score"] <= 1 for h in result["hits"])
    code, text = run("kb", "ask", "我的电话是13812345678")
    assert code == 0 and "意图" in text and "匹配等级" in text


def test_eval_prints_the_documented_json_keys(tmp_path: Path) -> None:
    kb = tmp_path / "kb.jsonl"
    kb.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"id": "a", "question": "营业执照怎么办理", "answer": "去政务服务网"},
                {"id": "b", "question": "社保断缴了怎么补", "answer": "找社保局"},
                {"id": "c", "question": "研发费用加计扣除比例是多少", "answer": "100%"},
            ]
        ),
        encoding="utf-8",
    )
    q = tmp_path / "q.jsonl"
    q.write_text(
        '{"query": "执照咋办", "gold": "a"}\n{"query": "社宝断了怎么补交", "gold": "b"}\n'
        '{"query": "加计扣除能扣多少", "gold": "c", "gold_all": ["a"]}\n',
        encoding="utf-8",
    )
    code, text = run("kb", "eval", "--kb", str(kb), "--queries", str(q), "--json")
    report = json.loads(text)
    assert code == 0
    assert set(report) == {"n", "top1", "recall3", "mrr10", "p50_ms", "p99_ms", "build_s"}
    assert report["n"] == 3 and report["top1"] == 1.0
    code, text = run("kb", "eval", "--kb", str(kb), "--queries", str(q))
    assert code == 0 and "top1 1.0000" in text and "p99" in text


def test_import_writes_a_loadable_file_and_reports_rejections(data: Path) -> None:
    src = data.parent / "catalogue.csv"
    src.write_text(
        "id,question,answer,paraphrases\n"
        "imp-1,二七区夜市摊位怎么申请,向所在街道办事处城管科提出申请,夜市摆摊咋申请|夜市摊位在哪报名\n"
        "imp-2,,没有问题的答案,\n",
        encoding="utf-8",
    )
    code, text = run("kb", "import", str(src), "--data", str(data), "--json")
    result = json.loads(text)
    assert code == 0 and result["imported"] == 1
    assert result["rejected"][0]["line"] == 3 and "question" in result["rejected"][0]["reason"]
    assert Path(result["written"]).exists()
    code, text = run("kb", "ask", "夜市摊位怎么申请", "--data", str(data), "--json")
    assert json.loads(text)["hits"][0]["id"] == "imp-1"


def test_import_that_would_break_the_kb_is_rolled_back(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = next(iter(sorted(data.glob("kb_*.yaml"))))
    import yaml

    first_id = yaml.safe_load(existing.read_text(encoding="utf-8"))["entries"][0]["id"]
    src = data.parent / "dup.jsonl"
    src.write_text(
        json.dumps({"id": first_id, "question": "重复编号", "answer": "答案"}) + "\n", encoding="utf-8"
    )
    code, _ = run("kb", "import", str(src), "--data", str(data))
    assert code == 1 and "编号重复" in capsys.readouterr().err
    assert not list(data.glob("kb_import_*.yaml"))


def test_import_dry_run_writes_nothing(data: Path) -> None:
    src = data.parent / "a.jsonl"
    src.write_text('{"id": "x-1", "question": "问题", "answer": "答案"}\n', encoding="utf-8")
    code, text = run("kb", "import", str(src), "--data", str(data), "--dry-run")
    assert code == 0 and "试运行" in text and not list(data.glob("kb_import_*.yaml"))


def test_unknown_import_format_is_a_polite_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.doc"
    src.write_text("x", encoding="utf-8")
    code, _ = run("kb", "import", str(src))
    assert code == 1 and "a.doc" in capsys.readouterr().err
