"""The on-disk index cache: reused when nothing changed, rebuilt when anything did, never trusted blindly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import cache
from knowledge.lexicon import DATA_DIR
from knowledge.loader import load_dir
from knowledge.matcher import Matcher


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shutil.copytree(DATA_DIR, tmp_path / "data")
    return tmp_path / "data"


def cached_files(data: Path) -> list[Path]:
    return sorted((data.parent / "cache" / "yiqiban").glob("index-*.pickle"))


def test_second_build_reads_the_cache_and_answers_the_same(data: Path) -> None:
    kb = load_dir(data)
    first = Matcher.from_kb(kb)
    assert len(cached_files(data)) == 1
    second = Matcher.from_kb(kb)
    assert second.index is not first.index
    question = "小规模纳税人增值税怎么减免"
    assert second.search(question) == first.search(question)


def test_editing_the_data_gives_a_new_cache_entry(data: Path) -> None:
    Matcher.from_kb(load_dir(data))
    path = next(iter(sorted(data.glob("kb_*.yaml"))))
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    Matcher.from_kb(load_dir(data))
    assert len(cached_files(data)) == 2


def test_a_damaged_cache_file_is_ignored_and_rewritten(data: Path) -> None:
    kb = load_dir(data)
    expected = Matcher.from_kb(kb).search("社保断缴怎么补")
    (only,) = cached_files(data)
    only.write_bytes(b"not a pickle")
    assert cache.load(only.stem.removeprefix("index-")) is None
    assert Matcher.from_kb(kb).search("社保断缴怎么补") == expected
    assert only.read_bytes() != b"not a pickle"
