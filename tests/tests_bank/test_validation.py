"""Bad input is refused whole, with every problem listed by location and field."""

from __future__ import annotations

import pytest

from competency.tests_bank import BankImportError, Item, ItemStatus, ItemType, Scoring, import_items
from competency.tests_bank.problems import RawItem
from competency.tests_bank.validation import validate_items

from .conftest import NODES, ROLES, raw_multiple, raw_ordered, raw_single, raw_truefalse
from .helpers import bank_bytes, items_from


def problems_of(*raw: dict) -> list[tuple[str, str, str]]:
    with pytest.raises(BankImportError) as caught:
        items_from(list(raw))
    return [(p.location, p.field, p.message) for p in caught.value.problems]


def fields_of(*raw: dict) -> set[tuple[str, str]]:
    return {(loc, field) for loc, field, _ in problems_of(*raw)}


def test_valid_items_become_typed_records(valid_raw_items):
    single, multiple, truefalse, ordered, partial, sequence, sequence_01 = items_from(valid_raw_items)
    assert single.type is ItemType.SINGLE and single.key == "B" and single.irt.c == 0.2
    assert single.status is ItemStatus.OPERATIONAL  # default when a file has no status
    assert multiple.key == ("A", "C") and multiple.scoring is Scoring.ALL_OR_NOTHING
    assert truefalse.key is False and truefalse.options == () and truefalse.irt.source == "calibration:run-7"
    assert ordered.score_map == {"A": 0, "B": 2, "C": 3, "D": 1} and ordered.irt.thresholds == (
        -1.0,
        0.1,
        1.2,
    )
    assert partial.scoring is Scoring.PARTIAL and partial.irt.model == "gpcm"
    assert sequence.key == ("B", "D", "C", "A") and sequence.scoring is Scoring.PARTIAL
    assert sequence_01.scoring is Scoring.ALL_OR_NOTHING and sequence_01.irt.model == "2pl"
    for item in (single, multiple, truefalse, ordered, partial, sequence, sequence_01):
        assert Item.from_dict(item.to_dict()) == item


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        (raw_single(node="T9.9.9"), "node", "unknown node code"),
        (raw_single(tags=["X1"]), "tags[0]", "unknown node code"),
        (raw_multiple(roles=["J-XX-01"]), "roles[0]", "unknown job role"),
        (raw_single(key="E"), "key", "not among the options"),
        (raw_multiple(key=["A", "Z"]), "key", "not among the options"),
        (raw_single(irt={**raw_single()["irt"], "a": 0}), "irt.a", "must be > 0"),
        (raw_single(irt={**raw_single()["irt"], "a": -1.5}), "irt.a", "must be > 0"),
        (raw_single(irt={**raw_single()["irt"], "c": 0.5}), "irt.c", "[0, 0.5)"),
        (raw_single(irt={**raw_single()["irt"], "c": -0.1}), "irt.c", "[0, 0.5)"),
        (
            raw_ordered(irt={**raw_ordered()["irt"], "thresholds": [-1.0, 1.2, 0.1]}),
            "irt.thresholds",
            "strictly increasing",
        ),
        (
            raw_ordered(irt={**raw_ordered()["irt"], "thresholds": [-1.0, 0.1, 0.1]}),
            "irt.thresholds",
            "strictly increasing",
        ),
        (raw_ordered(irt={**raw_ordered()["irt"], "thresholds": [-1.0, 0.1]}), "irt.thresholds", "K−1 = 3"),
        (raw_single(stem="hi <script>alert(1)</script>"), "stem", "unsafe markup"),
        (raw_single(stem='<b onclick="x()">hi</b>'), "stem", "attributes are not allowed"),
        (raw_single(stem="<img src=x onerror=alert(1)>"), "stem", "<img>"),
        (raw_single(stem="<b>unclosed"), "stem", "unbalanced"),
        (
            raw_single(
                options=[{"key": "A", "text": "<a href='javascript:x'>a</a>"}, {"key": "B", "text": "b"}]
            ),
            "options[0].text",
            "unsafe markup",
        ),
        (raw_single(explanation="<iframe></iframe>"), "explanation", "unsafe markup"),
        (raw_single(stem="bell\x07"), "stem", "control characters"),
        (raw_single(lang="Chinese"), "lang", "language tag"),
        (raw_single(level="J2"), "level", "not a level of node T3.1.2"),
        (raw_single(status="live"), "status", "is not one of"),
        (raw_single(type="essay"), "type", "is not one of"),
        (raw_single(colour="red"), "colour", "unknown field"),
        (
            raw_single(irt={**raw_single()["irt"], "parameterisation": "slope-intercept"}),
            "irt.parameterisation",
            "logistic-D1-irt",
        ),
        (raw_single(irt={**raw_single()["irt"], "source": "guess"}), "irt.source", "calibration:<run id>"),
        (raw_single(irt={**raw_single()["irt"], "version": 0}), "irt.version", "≥ 1"),
        (raw_single(irt={**raw_single()["irt"], "model": "grm"}), "irt.model", "needs model 2pl or 3pl"),
        (raw_ordered(irt={**raw_single()["irt"]}), "irt.model", "needs model grm or gpcm"),
        (raw_single(irt={**raw_single()["irt"], "b": None}), "irt.b", "missing field"),
        (raw_single(irt={**raw_single()["irt"], "a": "1.2"}), "irt.a", "must be a number"),
        (raw_single(irt={**raw_single()["irt"], "a": True}), "irt.a", "must be a number"),
        (raw_single(irt={**raw_single()["irt"], "b": float("nan")}), "irt.b", "finite"),
        (raw_single(irt={**raw_single()["irt"], "model": "2pl"}), "irt.c", "must be null for model 2pl"),
        (raw_single(irt=None), "irt", "only draft items"),
        (raw_single(options=[{"key": "A", "text": "a"}]), "options", "give 2 to 6 options"),
        (
            raw_single(options=[{"key": "A", "text": "a"}, {"key": "C", "text": "c"}], key="A"),
            "options[1].key",
            "expected 'B'",
        ),
        (
            raw_single(options=[{"key": "A", "text": "a"}, {"key": "B", "text": " "}]),
            "options[1].text",
            "missing",
        ),
        (raw_truefalse(key="yes"), "key", "true or false"),
        (raw_truefalse(options=[{"key": "A", "text": "a"}]), "options", "omit options"),
        (raw_ordered(key="A"), "key", "omit key"),
        (raw_ordered(scores={"A": 0, "B": 2, "C": 2, "D": 0}), "scores", "every category used"),
        (raw_ordered(scores={"A": 0, "B": 1, "C": 2}), "scores", "no category for option(s) D"),
        (raw_ordered(scores={"A": 0, "B": 1, "C": 2, "D": 1.5}), "scores.D", "category number"),
        (raw_single(scores={"A": 1}), "scores", "only ordered items"),
        (raw_single(scoring="partial"), "scoring", "only multiple-choice"),
        (raw_multiple(scoring="partial"), "irt.model", "needs model grm or gpcm"),
        (raw_single(media=["../../etc/passwd"]), "media[0].src", "relative path or an https URL"),
        (raw_single(media=[{"src": "javascript:alert(1)"}]), "media[0].src", "relative path or an https URL"),
        (raw_single(id="bad id!"), "id", "letters, digits"),
    ],
)
def test_each_bad_input_is_named_by_field(raw, field, fragment):
    problems = problems_of(raw)
    matching = [p for p in problems if p[1] == field]
    assert matching, problems
    assert any(fragment in message for _, _, message in matching), matching
    assert all(loc.startswith("item 1") for loc, _, _ in problems)


@pytest.mark.parametrize("missing", ["id", "type", "node", "lang", "level", "stem", "options", "key", "irt"])
def test_missing_field(missing):
    raw = raw_single()
    del raw[missing]
    assert (missing, "missing field") in {(f, m.split(" (")[0]) for _, f, m in problems_of(raw)}


def test_draft_items_may_lack_parameters():
    (item,) = items_from([raw_single(status="draft", irt=None)])
    assert item.irt is None and item.status is ItemStatus.DRAFT


def test_several_problems_in_one_file_are_all_listed():
    raw = [
        raw_single(),
        raw_single(),  # duplicate id
        raw_multiple(node="T0.0", key=["Q"]),
        raw_ordered(irt={**raw_ordered()["irt"], "a": 0, "thresholds": [1.0, 0.0, 2.0]}),
    ]
    found = fields_of(*raw)
    assert ("item 2 (T-3.1.2-01)", "id") in found
    assert ("item 3 (S-4.2-01)", "node") in found
    assert ("item 3 (S-4.2-01)", "key") in found
    assert ("item 4 (T-3.3.1-01)", "irt.a") in found
    assert ("item 4 (T-3.3.1-01)", "irt.thresholds") in found
    duplicate = [m for loc, f, m in problems_of(*raw) if f == "id"]
    assert duplicate == ["duplicate id 'T-3.1.2-01' (first at item 1 (T-3.1.2-01))"]


def test_error_message_lists_every_problem_with_source():
    with pytest.raises(BankImportError) as caught:
        import_items(
            "bank.json", NODES, ROLES, data=bank_bytes(raw_single(key="X"), raw_single(id="x2", node="Q"))
        )
    text = str(caught.value)
    assert text.startswith("2 problem(s); nothing was imported")
    assert "bank.json, item 1 (T-3.1.2-01): key:" in text
    assert "bank.json, item 2 (x2): node:" in text


def test_safe_markup_is_accepted_and_stored_canonically():
    (item,) = items_from([raw_single(stem="  x < 3 &amp; y<br/>z &nbsp;<em>ok</em>  ")])
    assert item.stem == "x &lt; 3 &amp; y<br>z \u00a0<em>ok</em>"


def test_escaped_tags_are_text_not_markup():
    (item,) = items_from([raw_single(stem="write &lt;script&gt; to see")])
    assert item.stem == "write &lt;script&gt; to see"


def test_unknown_codes_depend_only_on_the_caller_sets():
    raw = RawItem("item 1", raw_multiple())
    with pytest.raises(BankImportError) as caught:
        validate_items([raw], NODES, frozenset())
    assert [p.field for p in caught.value.problems] == ["roles[0]"]
