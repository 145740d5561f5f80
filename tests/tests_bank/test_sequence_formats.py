"""Sequence items in every format: round trips and each format's conventions (FORMAT.md)."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from xml.etree import ElementTree as ET

import pytest

from competency.tests_bank import BankImportError, export_bytes, import_items, score_answer
from competency.tests_bank.bankio import FORMATS
from competency.tests_bank.formats import qti

from .conftest import DICHOTOMOUS_SEQUENCE, NODES, ROLES, raw_sequence
from .helpers import items_from

FILE_NAMES = {
    "json": "b.json",
    "csv": "b.csv",
    "xlsx": "b.xlsx",
    "gift": "b.gift",
    "qti21": "b.zip",
    "qti30": "b.qti3.zip",
}
# GIFT specials, an arrow, a weight-like start, a formula trigger, markup, a spreadsheet marker
TRICKY_TEXTS = ["%50% weight-like", "x -> y", "a=b#c{d}e:f\\", "=SUM(A1)", "换行<br>第二行", "'quoted"]
GPCM_5 = {
    "model": "gpcm",
    "a": 0.7,
    "thresholds": [0.5, -0.5, 0.1, 1.5, -1.5],
    "parameterisation": "logistic-D1-irt",
    "source": "calibration:r-9",
}


def sequences():
    six = [{"key": k, "text": text} for k, text in zip("ABCDEF", TRICKY_TEXTS, strict=True)]
    two = [{"key": "A", "text": "后"}, {"key": "B", "text": "先"}]
    return items_from(
        [
            raw_sequence(),
            raw_sequence(**DICHOTOMOUS_SEQUENCE),
            raw_sequence(id="six", options=six, key=list("FDBECA"), irt=GPCM_5),
            raw_sequence(
                id="two",
                options=two,
                key=["B", "A"],
                scoring="all_or_nothing",
                irt=DICHOTOMOUS_SEQUENCE["irt"],
            ),
        ]
    )


def reimport(items, fmt):
    return list(import_items(FILE_NAMES[fmt], NODES, ROLES, data=export_bytes(items, fmt, bank="b")).items)


def problems(name: str, data: bytes) -> list[tuple[str, str, str]]:
    with pytest.raises(BankImportError) as caught:
        import_items(name, NODES, ROLES, data=data)
    return [(p.location, p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("fmt", FORMATS)
def test_sequences_round_trip(fmt):
    items = sequences()
    assert items[2].options[1].text == "x -&gt; y"  # canonical text never holds a bare ">"
    assert reimport(items, fmt) == items


@pytest.mark.parametrize("fmt", FORMATS)
def test_scores_survive_the_round_trip(fmt):
    for before, after in zip(sequences(), reimport(sequences(), fmt), strict=True):
        for order in itertools.islice(itertools.permutations(before.option_keys), 60):
            assert score_answer(after, list(order)) == score_answer(before, list(order))


# -- CSV / XLSX -------------------------------------------------------------------------------
def test_csv_key_cell_and_comma_form():
    text = export_bytes(sequences()[:1], "csv").decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert (cells["key"], cells["scoring"], cells["type"]) == ("B;D;C;A", "partial", "sequence")
    with_commas = text.replace("B;D;C;A", '"B, D, C, A"')
    assert import_items("b.csv", NODES, ROLES, data=with_commas.encode()).items[0].key == ("B", "D", "C", "A")


def test_csv_bad_sequence_key_names_the_column():
    text = export_bytes(sequences()[:1], "csv").decode("utf-8-sig").replace("B;D;C;A", "B;D;D")
    found = problems("b.csv", text.encode())
    assert {(loc, field) for loc, field, _ in found} == {("row 2", "key")}
    assert any("missing: A, C" in m for _, _, m in found) and any("twice" in m for _, _, m in found)


# -- GIFT ---------------------------------------------------------------------------------------
def test_gift_writes_a_matching_question_of_positions():
    text = export_bytes(sequences()[:1], "gift").decode()
    assert '"type": "sequence"' in text and '"scoring": "partial"' in text
    assert "{\n=步骤A -> 4\n=步骤B -> 1\n=步骤C -> 3\n=步骤D -> 2\n####因为乙。\n}" in text


GIFT_META = '// @competency {"node": "S6.9", "lang": "en", "level": "J2", "status": "draft"}\n'


def test_plain_gift_matching_of_positions_is_a_sequence():
    text = GIFT_META + "::q1::Order them {=third -> 3 =first -> 1 =second -> 2}\n"
    (item,) = import_items("b.gift", NODES, ROLES, data=text.encode()).items
    assert item.type == "sequence" and item.key == ("B", "C", "A") and item.scoring == "all_or_nothing"
    assert [o.text for o in item.options] == ["third", "first", "second"]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ("{=cat -> animal =rose -> plant}", "key", "read only as sequences"),
        ("{=a -> 1 =b -> 1 =c -> 3}", "key", "different position 1..3"),
        ("{=a -> 1 =b -> 2 =c -> 4}", "key", "not 1, 2, 4"),
    ],
)
def test_other_matching_questions_are_refused(body, field, fragment):
    found = problems("b.gift", (GIFT_META + "::q1::Q " + body + "\n").encode())
    assert any(f == field and fragment in m for _, f, m in found), found


def test_gift_type_and_body_must_agree():
    as_single = GIFT_META.replace('"node"', '"type": "single", "node"')
    found = problems("b.gift", (as_single + "::q1::Q {=a -> 2 =b -> 1}\n").encode())
    assert ("line 2", "type") in {(loc, f) for loc, f, _ in found}
    as_sequence = GIFT_META.replace('"node"', '"type": "sequence", "node"')
    found = problems("b.gift", (as_sequence + "::q1::Q {=a ~b}\n").encode())
    assert any(f == "answers" and "matching question" in m for _, f, m in found)


# -- QTI ----------------------------------------------------------------------------------------
def item_document(item, version: str) -> ET.Element:
    package = zipfile.ZipFile(io.BytesIO(qti.dumps([item], bank="b", version=version)))
    return ET.fromstring(package.read(f"items/{item.id}.xml"))


def qti_score(root: ET.Element, version: str, answer: list[str]) -> float:
    """Run the exported response processing (the subset it uses) on ``answer``."""
    n = qti._Names(version)
    outcomes: dict[str, object] = {"RESPONSE": tuple(answer)}

    def value(expr: ET.Element) -> object:
        tag = expr.tag
        if tag == n.el("baseValue"):
            return float(expr.text) if expr.get(n.at("baseType")) == "float" else expr.text
        if tag == n.el("variable"):
            return outcomes[expr.get("identifier")]
        if tag == n.el("ordered"):
            return tuple(value(child) for child in expr)
        if tag == n.el("sum"):
            return sum(value(child) for child in expr)
        if tag == n.el("contains"):  # ordered containers: a contiguous sub-sequence
            whole, part = (value(child) for child in expr)
            return any(whole[i : i + len(part)] == part for i in range(len(whole) - len(part) + 1))
        raise AssertionError(f"unexpected expression {tag}")

    def run(rule: ET.Element) -> None:
        if rule.tag == n.el("setOutcomeValue"):
            outcomes[rule.get("identifier")] = value(rule[0])
        elif rule.tag == n.el("responseCondition"):
            branch = rule.find(n.el("responseIf"))
            if value(branch[0]):
                for inner in branch[1:]:
                    run(inner)
        else:
            raise AssertionError(f"unexpected rule {rule.tag}")

    for rule in root.find(n.el("responseProcessing")):
        run(rule)
    return outcomes["SCORE"]


@pytest.mark.parametrize("version", ["2.1", "3.0"])
def test_qti_processing_computes_our_partial_score(version):
    for item in (sequences()[0], sequences()[2]):
        root = item_document(item, version)
        for order in itertools.islice(itertools.permutations(item.option_keys), 200):
            assert qti_score(root, version, list(order)) == score_answer(item, list(order)), order


@pytest.mark.parametrize("version", ["2.1", "3.0"])
def test_qti_order_interaction_structure(version):
    n = qti._Names(version)
    partial, dichotomous = sequences()[:2]
    for item in (partial, dichotomous):
        root = item_document(item, version)
        declaration = root.find(n.el("responseDeclaration"))
        assert declaration.get("cardinality") == "ordered"
        assert [v.text for v in declaration.iter(n.el("value"))] == ["B", "D", "C", "A"]
        (interaction,) = root.iter(n.el("orderInteraction"))
        assert interaction.get("shuffle") == "false"
        assert [c.get("identifier") for c in interaction] == ["A", "B", "C", "D"]  # written order
        assert not list(root.iter(n.el("choiceInteraction")))
        processing = root.find(n.el("responseProcessing"))
        if item.scoring == "partial":
            assert processing.get("template") is None and len(list(processing.iter(n.el("contains")))) == 3
        else:
            assert processing.get("template") == n.template("match_correct") and not len(processing)


THIRD_PARTY = """<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" xmlns:cmp="urn:competency:items:1"
  identifier="ord-1" title="t" adaptive="false" timeDependent="false" xml:lang="en">
  <responseDeclaration identifier="RESPONSE" cardinality="{cardinality}" baseType="identifier">
    <correctResponse><value>D</value><value>A</value><value>C</value><value>B</value></correctResponse>
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody><orderInteraction responseIdentifier="RESPONSE" shuffle="true">
    <prompt>Put the steps in order.</prompt>
    <simpleChoice identifier="A">two</simpleChoice><simpleChoice identifier="B">four</simpleChoice>
    <simpleChoice identifier="C">three</simpleChoice><simpleChoice identifier="D">one</simpleChoice>
  </orderInteraction></itemBody>
  {processing}
  <cmp:item><cmp:node>S6.9</cmp:node><cmp:level>J2</cmp:level>
    <cmp:irt model="2pl" a="1" b="0" parameterisation="logistic-D1-irt" source="expert"/></cmp:item>
</assessmentItem>"""
MATCH_CORRECT = (
    '<responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/>'
)


def third_party(cardinality="ordered", processing=MATCH_CORRECT) -> bytes:
    return THIRD_PARTY.format(cardinality=cardinality, processing=processing).encode()


def test_third_party_order_item_is_read():
    (item,) = import_items("item.xml", NODES, ROLES, data=third_party()).items
    assert item.type == "sequence" and item.key == ("D", "A", "C", "B") and item.scoring == "all_or_nothing"
    assert item.stem == "Put the steps in order." and [o.text for o in item.options] == [
        "two",
        "four",
        "three",
        "one",
    ]
    (same,) = import_items("item.xml", NODES, ROLES, data=third_party(processing="")).items
    assert same == item


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (third_party(cardinality="multiple"), "cardinality", "needs ordered"),
        (
            third_party(processing=MATCH_CORRECT.replace("match_correct", "map_response")),
            "responseProcessing",
            "match_correct",
        ),
        (
            third_party().replace(b"<value>C</value><value>B</value>", b"<value>B</value><value>C</value>"),
            "",
            "",
        ),
    ],
)
def test_third_party_order_items_that_cannot_be_read(data, field, fragment):
    if not field:  # correct order D A B C: fine as an order, read as all or nothing
        assert import_items("item.xml", NODES, ROLES, data=data).items[0].key == ("D", "A", "B", "C")
        return
    found = problems("item.xml", data)
    assert [(f, fragment in m) for _, f, m in found] == [(field, True)]


def test_third_party_order_written_in_the_correct_order_is_refused():
    data = third_party().replace(
        b"<value>D</value><value>A</value><value>C</value><value>B</value>",
        b"<value>A</value><value>B</value><value>C</value><value>D</value>",
    )
    found = problems("item.xml", data)
    assert [(f, "written in" in m) for _, f, m in found] == [("key", True)]


def test_tampered_pair_processing_is_refused():
    item = sequences()[0]
    xml = qti.item_xml(item, "2.1")
    tampered = xml.replace(b">D</baseValue></ordered>", b">A</baseValue></ordered>", 1)
    assert tampered != xml
    found = problems("item.xml", tampered)
    assert [f for _, f, _ in found] == ["responseProcessing"]


def test_two_interactions_are_refused():
    data = third_party().replace(
        b"</itemBody>",
        b'<choiceInteraction responseIdentifier="R2" maxChoices="1"><simpleChoice identifier="A">x'
        b"</simpleChoice></choiceInteraction></itemBody>",
    )
    found = problems("item.xml", data)
    assert [(f, "found 2" in m) for _, f, m in found] == [("interaction", True)]
