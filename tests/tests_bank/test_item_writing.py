"""Item-writing checks: each fires on a crafted bad bank and stays quiet on a clean one."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from competency.tests_bank.item_writing import (
    ItemWarning,
    _exact_multinomial_p,
    banks_item_writing_checks,
    duplicate_stem_warnings,
    explained_order,
    item_writing_checks,
    key_length_stats,
    key_position_stats,
    normalised_stem,
    option_length,
    partial_credit_warnings,
)
from competency.tests_bank.schema import Item, ItemBank, ItemType, Option, Scoring

LETTERS = "ABCD"


def single(n: int, texts: list[str], key: str, stem: str | None = None) -> Item:
    return Item(
        id=f"S-{n:03d}",
        type=ItemType.SINGLE,
        node="S1.2",
        lang="zh-CN",
        level="J1",
        stem=stem if stem is not None else f"第 {n} 题：哪一项做法最恰当？",
        options=tuple(Option(k, t) for k, t in zip(LETTERS, texts, strict=False)),
        key=key,
    )


def ordered(item_id: str, scores: dict[str, int], explanation: str, texts: list[str] | None = None) -> Item:
    texts = texts or [f"做法{k}" for k in LETTERS]
    return Item(
        id=item_id,
        type=ItemType.ORDERED,
        node="T3.3.1",
        lang="zh-CN",
        level="L4",
        stem=f"{item_id}：以下哪种做法最恰当？",
        options=tuple(Option(k, t) for k, t in zip(LETTERS, texts, strict=True)),
        scores=tuple(scores.items()),
        explanation=explanation,
    )


def sequence(
    key: tuple[str, ...], texts: list[str], explanation: str, stem: str = "请排列处置顺序。"
) -> Item:
    return Item(
        id="T-4.2.1-08",
        type=ItemType.SEQUENCE,
        node="T4.2.1",
        lang="zh-CN",
        level="L4",
        stem=stem,
        options=tuple(Option(k, t) for k, t in zip(LETTERS, texts, strict=True)),
        key=key,
        scoring=Scoring.PARTIAL,
        explanation=explanation,
    )


def long_key_bank(n: int = 20, longest: int = 20) -> ItemBank:
    """n single items, keys spread evenly over A–D; the key is the one long option in ``longest`` of them."""
    items = []
    for i in range(n):
        key = LETTERS[i % 4]
        texts = [f"选项{j}短" for j in range(4)]
        if i < longest:
            texts[LETTERS.index(key)] = "一个写得更具体、更长也更像正确答案的选项"
        else:
            texts[(LETTERS.index(key) + 1) % 4] = "一个写得更具体、更长却并不正确的干扰项"
        items.append(single(i, texts, key))
    return ItemBank("crafted", tuple(items))


def codes(warnings: list[ItemWarning]) -> list[tuple[str, str]]:
    return [(w.item, w.check) for w in warnings]


# -- (a) key-longest -------------------------------------------------------------------------------
def test_key_longest_fires_when_the_key_is_always_the_longest():
    bank = long_key_bank(20, 20)
    [s] = key_length_stats(bank.items)
    assert (s.group, s.n, s.strictly_longest, s.longest_or_tied) == ("single", 20, 20, 20)
    assert s.chance == pytest.approx(0.25)
    assert s.p_value == pytest.approx(0.25**20)
    warnings = item_writing_checks(bank)
    assert codes(warnings) == [("bank", "key-longest")]
    assert "20 of 20" in warnings[0].message and "binomial p" in warnings[0].message


def test_key_longest_is_quiet_near_chance():
    bank = long_key_bank(20, 5)
    [s] = key_length_stats(bank.items)
    assert s.strictly_longest == 5
    assert s.p_value == pytest.approx(stats.binomtest(5, 20, 0.25, alternative="greater").pvalue)
    assert not s.flagged
    assert item_writing_checks(bank) == []


def test_ties_count_as_longest_or_tied_but_not_strictly_longest():
    items = [single(i, ["同样长度", "同样长度", "短", "短"], "A") for i in range(8)]
    [s] = key_length_stats(items)
    assert (s.strictly_longest, s.longest_or_tied) == (0, 8)


def test_option_length_ignores_markup_spaces_and_width():
    assert option_length("<code>=SUM(B2:B40)</code>") == len("=SUM(B2:B40)")
    assert option_length("Ａ Ｂ") == 2  # NFKC folds full-width letters; the space does not count


def test_scenario_items_use_their_best_option_as_key():
    longest_best = [
        ordered(
            f"T-{i}",
            {"A": 3, "B": 2, "C": 1, "D": 0},
            "",
            ["最好的做法写得最长最具体", "次好", "较差", "最差"],
        )
        for i in range(8)
    ]
    [s] = key_length_stats(longest_best)
    assert (s.group, s.strictly_longest, s.n) == ("scenario", 8, 8)
    assert s.flagged


# -- (b) key-position ------------------------------------------------------------------------------
def test_keys_on_one_position_fire_chi_square():
    items = [single(i, ["甲方案", "乙方案", "丙方案", "丁方案"], "A") for i in range(20)]
    [p] = key_position_stats(items)
    assert (p.counts, p.method) == ((20, 0, 0, 0), "chi-square")
    assert p.p_value == pytest.approx(stats.chisquare([20, 0, 0, 0]).pvalue)
    assert ("bank", "key-position") in codes(item_writing_checks(ItemBank("b", tuple(items))))


def test_an_empty_position_is_named_once_n_is_large():
    keys = "ABC" * 7  # 21 items, D never keyed; the chi-square alone would not fire
    items = [single(i, ["甲方案", "乙方案", "丙方案", "丁方案"], k) for i, k in enumerate(keys[:20])]
    [p] = key_position_stats(items)
    assert p.p_value > 0.01
    assert p.empty_positions == ("D",)
    warnings = item_writing_checks(ItemBank("b", tuple(items)))
    assert codes(warnings) == [("bank", "key-position")]
    assert "never keyed: D" in warnings[0].message


def test_small_groups_use_the_exact_multinomial_test():
    items = [single(i, ["甲方案", "乙方案", "丙方案", "丁方案"], "B") for i in range(8)]
    [p] = key_position_stats(items)
    assert p.method == "exact"
    assert p.p_value == pytest.approx(4 * 0.25**8)  # the four "all on one letter" outcomes
    assert p.flagged


def test_exact_multinomial_p_on_known_cases():
    assert _exact_multinomial_p([1, 1]) == pytest.approx(1.0)
    assert _exact_multinomial_p([2, 0]) == pytest.approx(0.5)
    # sums to 1 over every outcome at least as likely as the least likely one
    assert _exact_multinomial_p([0, 0, 3]) == pytest.approx(3 / 27)


def test_balanced_positions_are_quiet():
    items = [single(i, ["甲方案", "乙方案", "丙方案", "丁方案"], LETTERS[i % 4]) for i in range(20)]
    [p] = key_position_stats(items)
    assert p.counts == (5, 5, 5, 5)
    assert not p.flagged


# -- (c) sequence explanations ---------------------------------------------------------------------
LEAK = [
    "复盘原因，改用脱敏后的成绩表并设置导出权限",
    "立即请求群主撤回或删除该文件，并提醒家长勿转存",
    "向学校信息化或安全负责人报告并按规定记录",
    "评估泄露范围，必要时告知受影响的学生和家长",
]
LEAK_EXPLANATION = "先止损（撤回删除），再报告、评估并告知，最后整改，体现个人信息保护的处置流程。"


def test_explanation_that_contradicts_the_key_is_flagged():
    item = sequence(("C", "B", "D", "A"), LEAK, LEAK_EXPLANATION)
    assert explained_order(item) == ("B", "C", "D")
    warnings = item_writing_checks(ItemBank("seq", (item,)))
    assert codes(warnings) == [("T-4.2.1-08", "sequence-explanation")]
    assert "B, C, D" in warnings[0].message and "C, B, D" in warnings[0].message


def test_explanation_that_agrees_with_the_key_is_quiet():
    item = sequence(("B", "C", "D", "A"), LEAK, LEAK_EXPLANATION)
    assert item_writing_checks(ItemBank("seq", (item,))) == []


@pytest.mark.parametrize("written", ["B→C→D→A", "B、C、D、A", "B -> C -> D -> A", "BCDA"])
def test_an_order_written_in_letters_is_read(written):
    steps = ["步骤甲", "步骤乙", "步骤丙", "步骤丁"]
    wrong = sequence(("C", "B", "D", "A"), steps, f"正确顺序为 {written}。")
    right = sequence(("B", "C", "D", "A"), steps, f"正确顺序为 {written}。")
    assert explained_order(wrong) == ("B", "C", "D", "A")
    assert codes(item_writing_checks(ItemBank("s", (wrong,)))) == [("T-4.2.1-08", "sequence-explanation")]
    assert item_writing_checks(ItemBank("s", (right,))) == []


def test_a_list_of_letters_is_no_order_unless_the_explanation_speaks_of_one():
    steps = ["步骤甲", "步骤乙", "步骤丙", "步骤丁"]
    listed = sequence(("C", "B", "D", "A"), steps, "B、C、D 三项都必不可少，缺一不可。")
    assert explained_order(listed) is None
    arrows = sequence(("C", "B", "D", "A"), steps, "应当 B → C → D，最后才是 A。")
    assert explained_order(arrows) == ("B", "C", "D")


def test_fewer_than_three_placed_options_say_nothing():
    item = sequence(("C", "B", "D", "A"), LEAK, "先撤回删除，再按流程处理。")  # only B is placed
    assert explained_order(item) is None
    assert item_writing_checks(ItemBank("s", (item,))) == []


def test_wording_shared_with_the_stem_or_other_options_places_nothing():
    texts = ["高压系统验电确认", "高压系统佩戴防护", "高压系统断开电源", "高压系统等待放电"]
    # "高压系统" is in every option and the stem: it must not place option A first
    item = sequence(
        ("B", "C", "D", "A"),
        texts,
        "高压系统作业须先防护，再断开电源、等待放电，最后验电确认。",
        stem="维修高压系统前，请排列操作顺序。",
    )
    assert explained_order(item) == ("B", "C", "D", "A")
    assert item_writing_checks(ItemBank("s", (item,))) == []


# -- (d) duplicate stems ---------------------------------------------------------------------------
def test_stems_equal_up_to_spacing_punctuation_width_and_markup_are_duplicates():
    assert normalised_stem("哪一项<b>最</b>合适？ ") == normalised_stem("哪一项最合适?")
    assert normalised_stem("ＡＩ 工具，怎么用") == normalised_stem("ai工具怎么用")
    a = single(1, ["甲", "乙", "丙", "丁"], "A", stem="以下哪一项做法最恰当？")
    b = single(2, ["戊", "己", "庚", "辛"], "B", stem="以下哪一项做法 最恰当?")
    c = single(3, ["戊", "己", "庚", "辛"], "C", stem="以下哪一项做法最不恰当？")
    warnings = item_writing_checks(ItemBank("bank-a", (a, b, c)))
    assert codes(warnings) == [("S-002", "duplicate-stem")]
    assert warnings[0].message == "same stem as S-001"


def test_duplicate_stems_across_banks_name_the_other_bank():
    a = ItemBank("first", (single(1, ["甲", "乙", "丙", "丁"], "A", stem="同一个题干？"),))
    b = ItemBank("second", (single(9, ["甲", "乙", "丙", "丁"], "B", stem="同一个题干"),))
    assert duplicate_stem_warnings([a]) == [] and duplicate_stem_warnings([b]) == []
    [w] = duplicate_stem_warnings([a, b])
    assert (w.bank, w.item, w.check, w.message) == (
        "second",
        "S-009",
        "duplicate-stem",
        "same stem as S-001 in bank first",
    )
    assert banks_item_writing_checks([a, b]) == [w]


# -- partial credit --------------------------------------------------------------------------------
def test_partly_credited_options_must_be_named_in_the_explanation():
    silent = ordered("T-1", {"A": 0, "B": 2, "C": 3, "D": 1}, "C 最恰当；其余做法都有欠缺。")
    [w] = partial_credit_warnings(silent, "b")
    assert (w.item, w.check) == ("T-1", "partial-credit")
    assert "B, D" in w.message
    half = ordered("T-2", {"A": 0, "B": 2, "C": 3, "D": 1}, "C 最恰当；B 项有依据但不完整。")
    assert "option(s) D " in partial_credit_warnings(half, "b")[0].message


@pytest.mark.parametrize(
    "explanation",
    [
        "C 最恰当；B 项有依据但不完整；D 项没有扩散，但也没有处理。",
        "C 最恰当；选项B有依据但不完整；选项 D 没有扩散，但也没有处理。",
        "C is best; option B is partly right because…; Option D avoids harm but…",
    ],
)
def test_named_partial_options_are_quiet(explanation):
    item = ordered("T-3", {"A": 0, "B": 2, "C": 3, "D": 1}, explanation)
    assert partial_credit_warnings(item, "b") == []


def test_a_letter_inside_a_word_does_not_name_an_option():
    item = ordered("T-4", {"A": 0, "B": 2, "C": 3, "D": 1}, "用 ABD 项目法和 OptionD 工具")
    assert len(partial_credit_warnings(item, "b")) == 1


def test_a_clean_bank_has_no_warnings():
    items = [single(i, ["甲方案", "乙方案", "丙方案", "丁方案"], LETTERS[i % 4]) for i in range(12)]
    items.append(
        ordered("T-9", {"A": 3, "B": 2, "C": 1, "D": 0}, "A 最好；B 项较好但不完整；C 项有一点作用。")
    )
    assert item_writing_checks(ItemBank("clean", tuple(items))) == []
    assert not math.isnan(key_length_stats(items)[0].p_value)


def test_item_writing_checks_stay_pure():
    import subprocess
    import sys

    code = (
        "import sys, competency.tests_bank.item_writing, competency.tests_bank.demo; "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlalchemy'} "
        "or m.startswith(('competency.models', 'competency.services', 'competency.web'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_warnings_carry_their_figures_as_values():
    [w] = item_writing_checks(long_key_bank(20, 20))
    assert w.details["strictly_longest"] == 20 and w.details["n"] == 20
    assert w.details["p_value"] == pytest.approx(0.25**20)
    item = sequence(("C", "B", "D", "A"), LEAK, LEAK_EXPLANATION)
    [s] = item_writing_checks(ItemBank("seq", (item,)))
    assert s.details == {"explained": ("B", "C", "D"), "key": ("C", "B", "D", "A")}
    silent = ordered("T-1", {"A": 0, "B": 2, "C": 3, "D": 1}, "C 最恰当。")
    assert partial_credit_warnings(silent, "b")[0].details == {"options": ("B", "D")}
