"""The loader validates everything and names file, line, entry and field on any problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.errors import KnowledgeError
from knowledge.lexicon import DATA_DIR
from knowledge.loader import load_default, load_dir
from knowledge.schema import Faq, Policy, ServiceItem

GOOD = """\
category: 企业开办
entries:
  - id: faq-a
    kind: faq
    question: 营业执照怎么办理？
    paraphrases: [执照咋办, 办执照, 营业只照怎么弄]
    answer: 登录河南政务服务网在线申请。
    sample: true
    links: [item-b]
  - id: item-b
    kind: service_item
    name: 企业设立登记
    modes: [全程网办, 免证可办]
    legal_limit_days: 15
    promised_limit_days: 1
    sample: true
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_entries_of_every_kind_with_file_category(tmp_path: Path) -> None:
    write(tmp_path, "kb_a.yaml", GOOD)
    kb = load_dir(tmp_path)
    assert list(kb.entries) == ["faq-a", "item-b"]
    faq = kb.entries["faq-a"]
    assert isinstance(faq, Faq) and faq.category == "企业开办"
    assert isinstance(kb.entries["item-b"], ServiceItem)
    assert faq.phrasings()[0] == "营业执照怎么办理？"


def error_of(tmp_path: Path, text: str) -> KnowledgeError:
    write(tmp_path, "kb_bad.yaml", text)
    with pytest.raises(KnowledgeError) as info:
        load_dir(tmp_path)
    return info.value


def test_missing_field_names_file_line_entry_and_field(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("    answer: 登录河南政务服务网在线申请。\n", ""))
    assert err.path.name == "kb_bad.yaml"
    assert err.entry == "faq-a"
    assert err.field == "answer"
    assert err.line == 3  # the entry's first line
    assert "kb_bad.yaml:3" in str(err) and "faq-a" in str(err) and "answer" in str(err)


def test_bad_value_points_at_its_own_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("legal_limit_days: 15", "legal_limit_days: 十五"))
    assert (err.entry, err.field, err.line) == ("item-b", "legal_limit_days", 14)


def test_unknown_field_is_a_typo_not_silently_dropped(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("    sample: true\n    links", "    smaple: true\n    links"))
    assert err.field == "smaple" and "未知字段" in str(err)


def test_unknown_service_mode_is_refused(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("[全程网办, 免证可办]", "[全程网办, 秒批秒办]"))
    assert err.entry == "item-b" and err.field is not None and err.field.startswith("modes")


def test_promised_limit_cannot_exceed_legal_limit(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("promised_limit_days: 1", "promised_limit_days: 20"))
    assert err.entry == "item-b" and "promised_limit_days" in str(err)


def test_unsourced_entry_must_be_marked_sample(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("    sample: true\n    links", "    links"))
    assert err.entry == "faq-a" and "sample" in str(err)


def test_yaml_syntax_error_reports_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("question: 营业执照怎么办理？", "question: [营业执照"))
    assert err.line is not None and "YAML" in str(err)


def test_broken_link_and_duplicate_ids_across_files(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("links: [item-b]", "links: [item-zz]"))
    assert err.entry == "faq-a" and err.field == "links" and "item-zz" in str(err)
    (tmp_path / "kb_bad.yaml").unlink()
    write(tmp_path, "kb_a.yaml", GOOD)
    write(tmp_path, "kb_b.yaml", GOOD.replace("id: item-b", "id: item-c").replace("[item-b]", "[]"))
    with pytest.raises(KnowledgeError, match="编号重复") as info:
        load_dir(tmp_path)
    assert info.value.entry == "faq-a" and info.value.path.name == "kb_b.yaml"


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    err = error_of(tmp_path, "")
    assert err.path.name == "kb_bad.yaml"


def test_a_broken_file_never_half_loads(tmp_path: Path) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "data")
    data = tmp_path / "data"
    write(data, "kb_zz_broken.yaml", GOOD.replace("kind: faq", "kind: question"))
    with pytest.raises(KnowledgeError):
        load_dir(data)


def test_bad_synonym_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "kb_a.yaml", GOOD)
    write(tmp_path, "synonyms.yaml", "synonyms:\n  营业执照: [执照]\n  驾驶证: [执照]\n")
    with pytest.raises(KnowledgeError, match="执照"):
        load_dir(tmp_path)


def test_bundled_knowledge_base_is_worth_using() -> None:
    kb = load_default()
    stats = kb.stats()
    assert stats["entries"] >= 80
    assert {"faq", "policy", "service_item"} <= set(stats["by_kind"])
    assert len(stats["by_category"]) >= 10
    for entry in kb:
        minimum = 4 if entry.kind == "faq" else 3
        assert len(entry.paraphrases) >= minimum, entry.id
        assert entry.sample or entry.source is not None, entry.id
    policies = [e for e in kb if isinstance(e, Policy)]
    assert all(p.benefits for p in policies)
