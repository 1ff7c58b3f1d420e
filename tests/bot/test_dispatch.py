"""The 派单目录 and the router: realistic petitions, the reasons shown, and catalogue errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dispatch import BUNDLED, CatalogueError, Router, load_catalogue
from knowledge.loader import load_default


@pytest.fixture(scope="module")
def kb_ids() -> set[str]:
    return set(load_default().entries)


@pytest.fixture(scope="module")
def router(kb_ids: set[str]) -> Router:
    return Router.load(known_kb_ids=kb_ids)


def top(router: Router, text: str, **kw: object) -> str:
    found = router.suggest(text, **kw)  # type: ignore[arg-type]
    assert found, f"no suggestion for {text!r}"
    return found[0].unit_id


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("我们小区门口那家食品店卫生问题很严重，苍蝇乱飞", "amr"),
        ("超市价格标签和结账不一样，是不是价格欺诈", "amr"),
        ("公司的发票开不出来，系统一直报错", "tax"),
        ("增值税留抵退税申请了两个月还没到账", "tax"),
        ("公司拖欠工资三个月了，老板不露面", "hrss"),
        ("想给新员工办社保，单位参保登记在哪办", "hrss"),
        ("店里要办营业前消防安全检查，找谁？", "fire"),
        ("想刻一枚公章，需要去哪里备案", "police"),
        ("申请高新技术企业认定有哪些条件", "sci"),
    ],
)
def test_realistic_petitions_go_to_the_right_department(router: Router, text: str, unit: str) -> None:
    assert top(router, text) == unit


def test_project_approval_goes_to_development_or_approval_bureau(router: Router) -> None:
    found = router.suggest("我们的项目审批卡住了，一个多月没有进展")
    assert found[0].unit_id in {"ndrc", "approval"}
    assert {s.unit_id for s in found[:2]} == {"ndrc", "approval"}


def test_local_matter_with_a_street_goes_to_that_street(router: Router) -> None:
    found = router.suggest("门口有人长期占道经营，堵得进不去", location="二七区淮河路街道")
    assert [s.unit_id for s in found[:2]] == ["huaiheroad", "urban"]
    assert found[0].confidence > found[1].confidence
    assert "占道经营" in found[0].reason and "淮河路街道辖区" in found[0].reason


def test_place_in_the_text_counts_like_a_location(router: Router) -> None:
    assert top(router, "德化街上的店铺晚上噪音扰民") == "dehuajie"


def test_street_duties_need_the_place(router: Router) -> None:
    """占道经营 without a place is the 城管 bureau's, not every street's at once."""
    found = router.suggest("门口有人占道经营")
    assert [s.unit_id for s in found] == ["urban"]


def test_reason_names_the_keyword_and_the_unit(router: Router) -> None:
    [best, *_] = router.suggest("想开一家小饭馆，食品经营许可怎么办")
    assert best.unit_id == "amr"
    assert best.reason == "诉求提到“食品经营”，属于二七区市场监督管理局职责"


def test_knowledge_base_hits_add_evidence_and_reason(router: Router) -> None:
    plain = router.suggest("想开一家小饭馆，食品经营许可怎么办")[0]
    with_kb = router.suggest("想开一家小饭馆，食品经营许可怎么办", kb_hits=["item-startup-food-license"])[0]
    assert with_kb.unit_id == "amr" and with_kb.confidence > plain.confidence
    assert "item-startup-food-license" in with_kb.reason
    only_kb = router.suggest("这个怎么弄", kb_hits=["item-tax-new-taxpayer"])
    assert [s.unit_id for s in only_kb] == ["tax"]
    assert "知识库条目" in only_kb[0].reason


def test_confidence_is_ordered_bounded_and_grows_with_evidence(router: Router) -> None:
    found = router.suggest("门口占道经营，还有油烟和噪音", location="淮河路街道", k=5)
    confidences = [s.confidence for s in found]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 < c <= 1.0 for c in confidences)
    one = router.suggest("发票开不出来")[0].confidence
    two = router.suggest("发票开不出来，纳税申报也报不上")[0].confidence
    assert two > one


def test_longest_keyword_wins_across_units(router: Router) -> None:
    """“安全检查” inside “营业前消防安全检查” is no evidence for the 应急管理局."""
    assert [s.unit_id for s in router.suggest("营业前消防安全检查怎么预约")] == ["fire"]


def test_near_match_of_a_long_keyword(router: Router) -> None:
    exact = router.suggest("公众聚集场所投入使用营业前消防安全检查")[0]
    near = router.suggest("公众聚集场所投入使用营业前消防安全检察怎么办")[0]  # 查 → 察
    assert exact.unit_id == near.unit_id == "fire"
    assert "公众聚集场所投入使用营业前消防安全检查" in near.reason
    assert 0 < near.confidence < exact.confidence


def test_short_keywords_are_never_fuzzy(router: Router) -> None:
    assert router.suggest("发漂开不出来") == []  # 发票 has two characters: exact or nothing


def test_normalisation_full_width_and_traditional(router: Router) -> None:
    assert top(router, "發票開不出來！！") == "tax"


def test_nothing_fits_returns_nothing(router: Router) -> None:
    assert router.suggest("你好，在吗") == []
    assert router.suggest("") == []
    assert router.suggest("发票开不出来", k=0) == []


def test_ties_are_deterministic(router: Router) -> None:
    runs = {tuple(s.unit_id for s in router.suggest("项目审批卡住")) for _ in range(5)}
    assert len(runs) == 1


def test_bundled_catalogue_is_marked_sample_and_links_existing_kb_items(kb_ids: set[str]) -> None:
    catalogue = load_catalogue(known_kb_ids=kb_ids)
    assert catalogue.sample is True
    linked = {item for unit in catalogue.units for item in unit.kb_items}
    assert linked and linked <= kb_ids
    kinds = {u.kind for u in catalogue.units}
    assert kinds == {"department", "street", "town"}


GOOD = """\
units:
  - id: amr
    name: 二七区市场监督管理局
    kind: department
    duties: [食品]
  - id: tax
    name: 国家税务总局郑州市二七区税务局
    kind: department
    duties: [发票]
    kb_items: [item-tax-new-taxpayer]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "units.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_small_catalogue_loads(tmp_path: Path) -> None:
    router = Router.load(write(tmp_path, GOOD), known_kb_ids={"item-tax-new-taxpayer"})
    assert top(router, "发票") == "tax"


@pytest.mark.parametrize(
    ("text", "unit", "field", "line"),
    [
        (GOOD.replace("duties: [食品]", "dutys: [食品]"), "amr", "dutys", 5),
        (
            GOOD.replace("kind: department\n    duties: [发票]", "kind: bureau\n    duties: [发票]"),
            "tax",
            "kind",
            8,
        ),
        (GOOD.replace("    name: 二七区市场监督管理局\n", ""), "amr", "name", 2),
        (GOOD.replace("id: tax", "id: amr"), "amr", "id", 6),
        (GOOD.replace("id: tax", "id: Tax-Bureau"), "Tax-Bureau", "id", 6),
        (GOOD.replace("item-tax-new-taxpayer", "item-tax-nope"), "tax", "kb_items", 10),
    ],
)
def test_catalogue_errors_name_file_unit_field_and_line(
    tmp_path: Path, text: str, unit: str, field: str, line: int
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path, known_kb_ids={"item-tax-new-taxpayer"})
    err = info.value
    assert (err.path, err.unit, err.field, err.line) == (path, unit, field, line)
    assert str(path) in str(err) and f"单位 {unit}" in str(err) and f"字段 {field}" in str(err)


def test_unknown_kb_items_pass_without_a_kb_to_check_against(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("item-tax-new-taxpayer", "item-tax-nope"))
    assert len(load_catalogue(path).units) == 2


def test_broken_yaml_and_top_level_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="YAML 语法错误"):
        load_catalogue(write(tmp_path, "units: [\n"))
    with pytest.raises(CatalogueError, match="未知字段") as info:
        load_catalogue(write(tmp_path, GOOD + "extra: 1\n"))
    assert info.value.field == "extra" and info.value.unit is None
    with pytest.raises(CatalogueError, match="无法读取"):
        load_catalogue(tmp_path / "missing.yaml")


def test_bundled_path_is_the_package_file() -> None:
    assert BUNDLED.name == "units.yaml" and BUNDLED.parent.name == "data"
