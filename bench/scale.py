"""How our matcher's build time and latency grow with the knowledge base, next to BM25.

Knowledge bases of 1k, 10k and 100k entries (one question each) are nested prefixes of one seeded
shuffle of 100k distinct Chinese questions: the real bq_corpus texts, our bundled KB's titles and
paraphrases, and synthetic government-service questions (subject × action × object × question
frame). Every size therefore has the same mix, so growth reflects size and not a change of
vocabulary. The same queries run against every size: real bq queries held out of every KB, and
colloquial synthetic variants whose combinations no KB contains.

Targets: ours p99 ≤ 3 × bm25 p99 at every size; ours builds 10k entries in ≤ 3 s; ours' p99 grows
by less than the size factor from the smallest to the largest KB (sublinear).

Usage: python bench/scale.py [--sizes 1000,10000,100000] [--queries 500] [--json] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import random
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `bench` and `knowledge` importable
    sys.path.insert(0, str(REPO))

import jieba  # noqa: E402

from bench.peers import BM25Peer, Retriever  # noqa: E402
from bench.retrieval import (  # noqa: E402
    DEFAULT_BQ,
    Ours,
    build_timed,
    describe,
    latency,
    machine_info,
    read_jsonl,
    timed_search,
)
from knowledge.loader import load_default  # noqa: E402

SEED = 20240601
POOL_SIZE = 100_000
MAX_P99_RATIO = 3.0
MAX_BUILD_S_10K = 3.0

# Who asks ...
SUBJECTS = (
    "个体工商户", "小微企业", "外资企业", "民营企业", "新开办企业", "高新技术企业", "科技型中小企业",
    "农民专业合作社", "有限责任公司", "分公司", "个人独资企业", "合伙企业", "社会组织", "餐饮店",
    "建筑企业", "物流企业", "外贸企业", "制造业企业", "初创企业", "退役军人创业者", "高校毕业生",
    "返乡创业人员", "灵活就业人员", "企业法人", "小规模纳税人", "一般纳税人", "连锁门店", "电商企业",
    "软件企业", "养老机构", "物业公司", "药店", "超市", "加工厂", "培训机构", "民办学校", "家政公司",
    "快递网点", "汽修厂", "文化传媒公司",
)  # fmt: skip
# ... about what, doing what: each object with the actions that make sense for it.
OBJECT_ACTIONS = """
营业执照: 办理 变更 注销 补办 年报
企业名称: 登记 变更 自主申报
经营范围: 变更 增加 核定
法定代表人: 变更 登记
注册资本: 变更 减少 实缴
股权转让: 办理 登记 备案
分支机构: 设立 注销 变更
食品经营许可证: 申请 延续 变更 补办
卫生许可证: 申请 延续 注销
增值税: 申报 缴纳 减免
企业所得税: 汇算清缴 申报 预缴
个人所得税: 代扣代缴 申报 退还
电子发票: 开具 领用 红冲 作废
出口退税: 申请 备案 办理
留抵退税: 申请 办理
研发费用加计扣除: 享受 申报 备案
印花税: 申报 缴纳 减免
税务登记: 办理 变更 注销
职工社保: 开户 缴纳 补缴 转移 停保
住房公积金: 开户 缴存 提取 转移
失业保险: 申领 缴纳 返还
工伤保险: 申报 认定 缴纳
稳岗补贴: 申请 领取 查询
一次性吸纳就业补贴: 申请 领取
职业培训补贴: 申请 领取
劳动合同: 签订 解除 备案
用工备案: 办理 变更 注销
创业担保贷款: 申请 续贷 提前还款 展期
贷款贴息: 申请 拨付 查询
信用贷款: 申请 续贷 办理
融资担保: 申请 办理 解除
应急转贷资金: 申请 使用 归还
知识产权质押融资: 办理 申请 登记
基本存款账户: 开立 变更 注销
企业征信报告: 查询 打印 提出异议
首台套补贴: 申报 申请 兑现
研发费用补助: 申报 领取
人才公寓: 申请 入住 续租
房租补贴: 申请 领取 兑现
技术改造补助: 申报 兑现
专精特新企业: 认定 申报 复核
高新技术企业: 认定 申报 复审
数字化转型补贴: 申请 兑现
展会补贴: 申请 领取
上市挂牌奖励: 申请 兑现
施工许可证: 办理 申请 变更 延期
竣工验收: 备案 办理 申请
消防验收: 申请 办理 备案
建设工程规划许可证: 办理 变更 延续
不动产登记: 办理 变更 查询
环评批复: 办理 申请 变更
排污许可证: 申领 变更 延续 注销
水电气报装: 办理 申请 查询
商标注册: 申请 办理 续展 转让
专利: 申请 转让 质押
信用修复: 申请 办理
经营异常名录: 移出 查询
行政处罚信息: 修复 查询
12345工单: 提交 查询 催办 撤回
行政复议: 申请 提起
特种设备使用登记: 办理 变更 注销
道路运输经营许可证: 申请 延续 变更
烟草专卖零售许可证: 申请 延续 变更
户外广告设置: 审批 申请 备案
医疗器械经营备案: 办理 变更 注销
"""
# Question frames as a knowledge base states them ...
KB_FRAMES = (
    "{s}{a}{o}需要什么材料", "{s}{a}{o}的流程是什么", "{s}如何{a}{o}", "{s}{a}{o}要多长时间",
    "{s}{a}{o}在哪里办理", "{s}{a}{o}收费吗", "{s}{a}{o}有哪些条件", "{s}{a}{o}可以网上办理吗",
    "{s}{a}{o}需要本人到场吗", "{s}{a}{o}的法定时限是多久", "{s}{a}{o}能否跨省通办",
    "{s}{a}{o}有什么优惠政策", "{s}{a}{o}找哪个部门", "{s}{a}{o}被退回怎么办", "{s}{a}{o}的办理进度怎么查",
    "{s}{a}{o}可以委托他人吗", "{s}{a}{o}有没有补贴", "{s}在二七区{a}{o}去哪个窗口",
    "{s}{a}{o}是否支持容缺受理", "{s}{a}{o}需要提前预约吗",
)  # fmt: skip
# ... and as users type them (used for held-out queries only).
USER_FRAMES = (
    "{s}想{a}{o}要带啥", "请问{a}{o}咋弄", "{o}{a}要多久啊", "我是{s}，{a}{o}去哪办", "{a}{o}要钱不",
    "{s}{a}{o}需要准备哪些东西", "{o}怎么{a}", "想咨询一下{s}{a}{o}的事", "{s}{a}{o}网上能办不",
    "你好，{o}{a}找谁",
)  # fmt: skip


def _combos() -> list[tuple[str, str, str]]:
    """Every (subject, action, object) in a fixed order."""
    pairs = []
    for line in OBJECT_ACTIONS.strip().splitlines():
        obj, actions = line.split(":")
        pairs += [(a, obj.strip()) for a in actions.split()]
    return [(s, a, o) for s in SUBJECTS for a, o in pairs]


def build_corpus(size: int, n_queries: int, bq_dir: Path, seed: int = SEED) -> tuple[list[str], list[str]]:
    """`size` distinct KB questions (seeded shuffle) and `n_queries` queries that none of them equals.

    Half the queries are real bq queries, held out of the KB; the other half are colloquial
    phrasings of subject × action × object combinations that no KB question uses.
    """
    rng = random.Random(seed)
    bq_queries = sorted({q["query"] for q in read_jsonl(bq_dir / "queries.jsonl")})
    rng.shuffle(bq_queries)
    n_real = min(n_queries // 2, len(bq_queries))
    real_queries, bq_rest = bq_queries[:n_real], bq_queries[n_real:]

    combos = _combos()
    rng.shuffle(combos)
    n_synth = n_queries - n_real
    synth: dict[str, None] = {}  # insertion-ordered set: frames without a subject can repeat
    used = 0
    while len(synth) < n_synth:
        s, a, o = combos[used]
        synth[rng.choice(USER_FRAMES).format(s=s, a=a, o=o)] = None
        used += 1
    synth_queries, kb_combos = list(synth), combos[used:]  # held-out combinations never enter a KB

    kb = load_default()
    real = {e["question"] for e in read_jsonl(bq_dir / "kb.jsonl")} | set(bq_rest)
    real |= {p for e in kb.entries.values() for p in (e.title, *e.paraphrases)}
    queries = real_queries + synth_queries
    real -= set(queries)

    synthetic = [f.format(s=s, a=a, o=o) for s, a, o in kb_combos for f in KB_FRAMES]
    rng.shuffle(synthetic)
    taken = set(queries) | real
    synthetic = [t for t in dict.fromkeys(synthetic) if t not in taken]
    if len(real) + len(synthetic) < size:
        raise ValueError(f"at most {len(real) + len(synthetic):,} distinct questions can be made")
    pool = sorted(real) + synthetic[: max(size - len(real), 0)]
    rng.shuffle(pool)
    return pool[:size], queries


def corpus_for_sizes(sizes: Sequence[int], n_queries: int, bq_dir: Path) -> tuple[list[str], list[str]]:
    """One pool of at least 100k questions; every size is a prefix of it.

    The pool does not depend on `--sizes`, so the 1k KB is the same set whatever else is run,
    and every size has the same real/synthetic mix.
    """
    return build_corpus(max(POOL_SIZE, *sizes), n_queries, bq_dir)


def rss_mb() -> float:
    """Resident set size of this process (Linux) once garbage and free heap are given back.

    Without `malloc_trim` the RSS would keep the build's temporary lists, and whichever method
    ran second would reuse them and look free; trimming makes the delta what the index keeps.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def index_mb_traced(cls: type[Retriever], pairs: Sequence[tuple[str, str]]) -> float:
    """Python-heap bytes an index keeps after build, by tracemalloc (slow: an untimed extra build)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    r = cls()
    r.build(pairs)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del r
    return (after - before) / 2**20


def measure(
    cls: type[Retriever], pairs: Sequence[tuple[str, str]], queries: Sequence[str], traced: bool
) -> dict[str, float]:
    rss0 = rss_mb()
    r, build_s = build_timed(cls, pairs)
    rss1 = rss_mb()
    _, ms = timed_search(r, queries)
    out = {"build_s": build_s, **latency(ms), "rss_delta_mb": rss1 - rss0}
    del r
    if traced:
        out["traced_mb"] = index_mb_traced(cls, pairs)
    return out


def run(sizes: Sequence[int], n_queries: int, bq_dir: Path, traced: bool) -> dict[str, Any]:
    pool, queries = corpus_for_sizes(sizes, n_queries, bq_dir)
    Ours.prepare()  # lexicon and jieba: start-up, not index build
    rows: dict[int, dict[str, Any]] = {}
    for size in sizes:
        pairs = [(f"s{i:06d}", q) for i, q in enumerate(pool[:size])]
        ours = measure(Ours, pairs, queries, traced)
        bm25 = measure(BM25Peer, pairs, queries, traced)
        rows[size] = {"ours": ours, "bm25": bm25, "p99_ratio": ours["p99_ms"] / bm25["p99_ms"]}
        print(f"  {size}: done", file=sys.stderr)
    lo, hi = min(sizes), max(sizes)
    report: dict[str, Any] = {"machine": machine_info(), "queries": len(queries), "sizes": rows}
    report["targets"] = {"p99_ratio_max": MAX_P99_RATIO, "build_s_10k_max": MAX_BUILD_S_10K}
    if hi > lo:
        report["growth"] = {
            "from": lo,
            "to": hi,
            "size_factor": hi / lo,
            "ours_p99_factor": rows[hi]["ours"]["p99_ms"] / rows[lo]["ours"]["p99_ms"],
            "bm25_p99_factor": rows[hi]["bm25"]["p99_ms"] / rows[lo]["bm25"]["p99_ms"],
        }
    return report


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


COLUMNS = (  # (header, method, metric, format)
    ("ours build s", "ours", "build_s", ".2f"),
    ("bm25 build s", "bm25", "build_s", ".2f"),
    ("ours p50 ms", "ours", "p50_ms", ".2f"),
    ("ours p99 ms", "ours", "p99_ms", ".2f"),
    ("bm25 p50 ms", "bm25", "p50_ms", ".2f"),
    ("bm25 p99 ms", "bm25", "p99_ms", ".2f"),
    ("ours RSS +MB", "ours", "rss_delta_mb", ".0f"),
    ("bm25 RSS +MB", "bm25", "rss_delta_mb", ".0f"),
    ("ours traced MB", "ours", "traced_mb", ".0f"),
    ("bm25 traced MB", "bm25", "traced_mb", ".0f"),
)


def markdown(report: dict[str, Any]) -> str:
    m, sizes = report["machine"], report["sizes"]
    first = next(iter(sizes.values()))
    cols = [c for c in COLUMNS if c[2] in first[c[1]]]  # traced columns only with --tracemalloc
    lines = [
        f"Scale benchmark, {describe(m)}; {report['queries']} queries per size",
        "",
        "| entries | " + " | ".join(c[0] for c in cols) + " | ours p99 / bm25 p99 |",
        "|---:" * (len(cols) + 2) + "|",
    ]
    for size, r in sizes.items():
        cells = [format(r[method][metric], fmt) for _, method, metric, fmt in cols]
        lines.append(f"| {size:,} | " + " | ".join(cells) + f" | {r['p99_ratio']:.2f} |")
    lines.append("")
    for size, r in sizes.items():
        ratio = r["p99_ratio"]
        lines.append(
            f"- {size:,}: ours p99 / bm25 p99 = {ratio:.2f} (target ≤ {MAX_P99_RATIO:.1f}: "
            f"{_ok(ratio <= MAX_P99_RATIO)})"
        )
    if 10_000 in sizes:
        b = sizes[10_000]["ours"]["build_s"]
        ok = _ok(b <= MAX_BUILD_S_10K)
        lines.append(f"- ours build at 10,000: {b:.2f} s (target ≤ {MAX_BUILD_S_10K:.1f} s: {ok})")
    if g := report.get("growth"):
        ours, size = g["ours_p99_factor"], g["size_factor"]
        lines.append(
            f"- ours p99 growth {g['from']:,} → {g['to']:,} entries (×{size:.0f}): ×{ours:.1f} "
            f"({'sublinear' if ours < size else 'NOT sublinear'}); bm25: ×{g['bm25_p99_factor']:.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated KB sizes")
    ap.add_argument(
        "--queries", type=int, default=500, help="queries per size (half real bq, half synthetic)"
    )
    ap.add_argument("--bq", type=Path, default=DEFAULT_BQ, help="bq_corpus directory")
    ap.add_argument(
        "--tracemalloc", action="store_true", help="also trace each index's Python heap (extra build)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of markdown")
    args = ap.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})

    jieba.initialize()  # load the dictionary once, outside every build and query timing
    report = run(sizes, args.queries, args.bq, args.tracemalloc)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
