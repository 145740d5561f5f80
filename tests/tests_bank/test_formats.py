"""Import/export of every format: lossless round trips, refused bad files, safe exports."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from openpyxl import Workbook, load_workbook

from competency.tests_bank import BankImportError, export_bytes, export_items, import_items
from competency.tests_bank.bankio import FORMATS, format_for, read_raw
from competency.tests_bank.formats import csv_format, gift, qti
from competency.tests_bank.templates import CSV_TEMPLATE, XLSX_TEMPLATE, example_items, write_templates

from .conftest import NODES, ROLES, raw_multiple, raw_ordered, raw_single, raw_truefalse
from .helpers import bank_bytes, items_from
from .strategies import item_lists

FILE_NAMES = {
    "json": "b.json",
    "csv": "b.csv",
    "xlsx": "b.xlsx",
    "gift": "b.gift",
    "qti21": "b.zip",
    "qti30": "b.qti3.zip",
}
EXAMPLE_NODES = NODES | {"T3.3.1", "T4.1.1", "S1.2", "S4.2", "S6.9"}


def reimport(items, fmt):
    data = export_bytes(items, fmt, bank="b")
    return import_items(FILE_NAMES[fmt], NODES, ROLES, data=data)


def problems(name: str, data: bytes) -> list:
    with pytest.raises(BankImportError) as caught:
        import_items(name, NODES, ROLES, data=data)
    return list(caught.value.problems)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_every_field(fmt, valid_raw_items):
    items = items_from(
        valid_raw_items
        + [raw_single(id="media-1", media=[{"src": "img/x.png", "alt": "图"}], status="pilot")]
    )
    assert list(reimport(items, fmt).items) == items


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("json", "csv"),
        ("csv", "xlsx"),
        ("xlsx", "gift"),
        ("gift", "qti21"),
        ("qti21", "qti30"),
        ("qti30", "json"),
    ],
)
def test_chained_round_trips(first, second, valid_raw_items):
    items = items_from(valid_raw_items)
    assert list(reimport(list(reimport(items, first).items), second).items) == items


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=item_lists())
def test_random_items_survive_every_format(items):
    for fmt in FORMATS:
        assert list(reimport(items, fmt).items) == items, fmt


def test_json_bank_name_and_file_stem():
    assert import_items("x.json", NODES, ROLES, data=bank_bytes(raw_single())).name == "b"
    assert reimport(items_from([raw_single()]), "csv").name == "b"


def test_export_items_writes_the_file(tmp_path: Path):
    items = items_from([raw_single(), raw_truefalse()])
    for fmt, name in FILE_NAMES.items():
        data = export_items(items, tmp_path / name)
        assert (tmp_path / name).read_bytes() == data
        assert format_for(name) == fmt
        assert list(import_items(tmp_path / name, NODES, ROLES).items) == items
    with pytest.raises(ValueError, match="cannot tell the format"):
        export_items(items, tmp_path / "b.doc")


# -- malformed files --------------------------------------------------------------------------
def test_malformed_json_names_the_line():
    found = problems("b.json", b'{"format": "competency.items/1",\n "items": [\n  {"id": }\n]}')
    assert [(p.location, p.message.split(":")[0]) for p in found] == [("line 3", "malformed JSON")]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"[]", "must be an object"),
        (b'{"format": "other/1", "items": []}', "expected 'competency.items/1'"),
        (b'{"format": "competency.items/1", "items": [{"a": NaN}]}', "not a number"),
        (b'{"format": "competency.items/1", "items": [{"id": "a", "id": "b"}]}', "appears twice"),
        ("\ufeff{}".encode("utf-16"), "not UTF-8"),
    ],
)
def test_bad_json_files(data, fragment):
    assert any(fragment in p.message for p in problems("b.json", data))


def test_json_with_bom_is_read():
    assert (
        len(import_items("b.json", NODES, ROLES, data=b"\xef\xbb\xbf" + bank_bytes(raw_single())).items) == 1
    )


def test_unknown_extension():
    assert "unknown file type" in problems("b.doc", b"x")[0].message


def csv_bytes(rows: list[dict], columns=None) -> bytes:
    items = items_from([raw_single()])
    header = columns or list(csv.reader(io.StringIO(export_bytes(items, "csv").decode("utf-8-sig"))))[0]
    out = io.StringIO()
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def good_row(**changes) -> dict:
    row = {
        "id": "T-1",
        "type": "single",
        "node": "T3.1.2",
        "lang": "zh-CN",
        "level": "L3",
        "stem": "题干",
        "option_A": "甲",
        "option_B": "乙",
        "key": "A",
        "irt_model": "2pl",
        "irt_a": "1.0",
        "irt_b": "0.5",
        "irt_parameterisation": "logistic-D1-irt",
        "irt_source": "provisional",
        "irt_version": "1",
    }
    row.update(changes)
    return row


def test_csv_lists_every_problem_by_row_and_column():
    data = csv_bytes(
        [
            good_row(),
            good_row(id="T-1", irt_a="abc"),  # duplicate id, not a number
            good_row(id="T-3", node="T9.9", key="C"),
            good_row(id="T-4", type="ordered", key="", scores="A=0;B=x"),
            good_row(id="T-5", type="multiple", key="A;B", irt_model="3pl", irt_c="0.7"),
            good_row(id="T-6", stem="<script>x</script>", irt_t1="1", irt_t3="2"),
        ]
    )
    found = {(p.location, p.field) for p in problems("b.csv", data)}
    assert {
        ("row 3", "id"),
        ("row 3", "irt_a"),
        ("row 4", "node"),
        ("row 4", "key"),
        ("row 5", "scores"),
        ("row 6", "irt_c"),
        ("row 7", "stem"),
        ("row 7", "irt_t2"),
    } <= found


def test_csv_header_problems():
    data = csv_bytes([{"id": "x"}], columns=["id", "kind", "kind"])
    found = {(p.location, p.field, p.message) for p in problems("b.csv", data)}
    assert ("row 1", "kind", "unknown column") in found
    assert ("row 1", "kind", "duplicate column") in found
    assert ("row 1", "type, node, lang, level, stem", "missing column(s)") in found


def test_malformed_csv():
    data = b'id,type\n"unterminated,single\n'
    found = problems("b.csv", data)
    assert any("malformed CSV" in p.message or "missing column" in p.message for p in found)


def test_csv_accepts_bom_and_blank_rows():
    data = b"\xef\xbb\xbf" + csv_bytes([good_row(), {}, good_row(id="T-2")])
    assert [i.id for i in import_items("b.csv", NODES, ROLES, data=data).items] == ["T-1", "T-2"]


def test_csv_export_neutralises_formulas():
    payloads = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "'quoted"]
    items = items_from(
        [
            raw_single(
                id=f"f{i}",
                stem=text,
                options=[{"key": "A", "text": text}, {"key": "B", "text": "ok"}],
                key="A",
            )
            for i, text in enumerate(payloads)
        ]
    )
    text = export_bytes(items, "csv").decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c.startswith("-") and not c[1:2].isdigit())]
    assert '\'=HYPERLINK("http://x","y")' in cells and "''quoted" in cells
    assert "-0.4" in cells  # numbers stay numbers
    assert [i.stem for i in reimport(items, "csv").items] == payloads


def test_neutralise_rule():
    assert csv_format.neutralise("=1") == "'=1"
    assert csv_format.neutralise("\t=1") == "'\t=1"
    assert csv_format.neutralise("-1.5") == "-1.5"
    assert csv_format.neutralise("-1;2") == "'-1;2"
    assert csv_format.neutralise("plain") == "plain"


def test_xlsx_export_writes_text_never_formulas():
    items = items_from([raw_single(stem="=1+1", explanation="@cmd")])
    sheet = load_workbook(io.BytesIO(export_bytes(items, "xlsx")))["items"]
    values = {c.value: c.data_type for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None}
    assert values["=1+1"] == "s" and values["@cmd"] == "s"
    assert values[-0.4] == "n"


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "items"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_problems_by_row_and_column():
    header = list(good_row())
    rows = [
        header,
        list(good_row().values()),
        list(good_row(irt_a=0, key="Z").values()),
        list(good_row(id="T-3", irt_b="=1/0").values()),
    ]
    found = {(p.location, p.field) for p in problems("b.xlsx", xlsx_bytes(rows))}
    assert {("row 3", "id"), ("row 3", "irt_a"), ("row 3", "key"), ("row 4", "irt_b")} <= found


def test_xlsx_formula_cells_are_refused():
    header = list(good_row())
    row = list(good_row(stem='=CONCAT("a","b")').values())
    found = problems("b.xlsx", xlsx_bytes([header, row]))
    assert ("row 2", "stem") in {(p.location, p.field) for p in found}
    assert any("formulas are not allowed" in p.message for p in found)


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken", b""])
def test_malformed_xlsx(data):
    found = problems("b.xlsx", data)
    assert found and all("XLSX" in p.message for p in found)


def test_xlsx_zip_without_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "not a readable XLSX workbook" in problems("b.xlsx", out.getvalue())[0].message


# -- GIFT ---------------------------------------------------------------------------------------
def test_plain_moodle_gift_without_metadata_needs_the_node():
    text = "::q1::What is 2+2?{=4 ~3 ~5}\n"
    found = {(p.location, p.field) for p in problems("b.gift", text.encode())}
    assert ("line 1", "node") in found and ("line 1", "irt") in found


def test_gift_category_and_weights_give_node_and_types():
    meta = ' // @competency {"lang": "en", "level": "L2", "status": "draft"}\n'
    text = (
        "$CATEGORY: $course$/top/T3.1.2\n\n"
        + meta
        + "::s1::Pick one {=right#yes ~wrong#no ####because}\n\n"
        + meta
        + "::m1::Pick many {~%50%a ~%50%b ~%-100%c}\n\n"
        + meta
        + "::t1::Sky is blue {T}\n\n"
        + meta
        + "::o1::Best? {=best ~%50%middle ~worst}\n"
    )
    items = import_items("b.gift", NODES, ROLES, data=text.encode()).items
    single, multiple, truefalse, ordered = items
    assert (single.key, single.explanation, single.node) == ("A", "because", "T3.1.2")
    assert multiple.key == ("A", "B")
    assert truefalse.key is True
    assert ordered.score_map == {"A": 2, "B": 1, "C": 0}


def test_gift_escapes_round_trip():
    text = "a~b=c#d{e}f:g\\h"
    assert gift.unescape(gift.escape(text)) == text
    assert gift.escape("x\ny") == "x\\ny"


def test_gift_lists_problems_by_line():
    text = (
        '// @competency {"node": "T3.1.2", "lang": "en", "level": "L2", "status": "draft"}\n'
        "::a::no answers here\n\n"
        "// @competency {bad json\n"
        "::b::Q {=x ~y}\n\n"
        '// @competency {"node": "T3.1.2", "lang": "en", "level": "L2", "status": "draft", "key": "A"}\n'
        "::c::Q {#3:1}\n"
    )
    found = {(p.location, p.field) for p in problems("b.gift", text.encode())}
    assert ("line 2", "answers") in found
    assert ("line 4", "@competency") in found
    assert ("line 8", "answers") in found


# -- QTI ----------------------------------------------------------------------------------------
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x">&lol3;</assessmentItem>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x">&xxe;</assessmentItem>"""
DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE assessmentItem SYSTEM "http://example.com/x.dtd">
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x"/>"""


@pytest.mark.parametrize("data", [BOMB, XXE, DTD_ONLY])
def test_xml_bombs_and_external_entities_are_refused(data):
    found = problems("item.xml", data)
    assert len(found) == 1 and "refused XML" in found[0].message


def test_xml_bomb_inside_a_package_is_refused():
    package = export_bytes(items_from([raw_single()]), "qti21")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = BOMB if info.filename.startswith("items/") else source.read(info)
            target.writestr(info.filename, data)
    found = problems("b.zip", out.getvalue())
    assert [(p.location, "refused XML" in p.message) for p in found] == [("items/T-3.1.2-01.xml", True)]


def test_malformed_xml_names_the_line():
    found = problems("item.xml", b'<?xml version="1.0"?>\n<assessmentItem>\n<itemBody>\n</assessmentItem>')
    assert found[0].location == "line 4" and "malformed XML" in found[0].message


def test_non_qti_xml_and_broken_zip():
    assert "not a QTI" in problems("item.xml", b"<html/>")[0].message
    assert "not a zip" in problems("b.zip", b"PK\x03\x04garbage")[0].message


def test_qti_namespaces_and_structure():
    items = items_from(
        [
            raw_single(),
            raw_multiple(
                scoring="partial",
                irt={
                    "model": "grm",
                    "a": 1.0,
                    "thresholds": [-0.5, 0.5],
                    "parameterisation": "logistic-D1-irt",
                    "source": "provisional",
                },
            ),
            raw_ordered(),
        ]
    )
    for version, tag, template in [
        ("2.1", "assessmentItem", "rptemplates/map_response"),
        ("3.0", "qti-assessment-item", "rptemplates/map_response.xml"),
    ]:
        package = zipfile.ZipFile(io.BytesIO(qti.dumps(items, bank="b", version=version)))
        names = package.namelist()
        assert names[0] == "imsmanifest.xml" and len(names) == 4
        manifest = package.read("imsmanifest.xml").decode()
        assert qti.CP_NS[version] in manifest and qti.RESOURCE_TYPE[version] in manifest
        assert 'xmlns:cmp="urn:competency:items:1"' in manifest and "<cmp:node>T3.1.2</cmp:node>" in manifest
        single = package.read("items/T-3.1.2-01.xml").decode()
        assert f"<{tag} xmlns:xsi=" in single and f'xmlns="{qti.NS[version]}"' in single
        assert "irt" not in single and "T3.1.2" not in single  # metadata lives in the manifest
        partial = package.read("items/S-4.2-01.xml").decode()
        assert template in partial


def test_third_party_qti_item_with_embedded_metadata():
    xml = """<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" xmlns:cmp="urn:competency:items:1"
      identifier="ext-1" title="t" adaptive="false" timeDependent="false" xml:lang="en">
      <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
        <correctResponse><value>ChoiceB</value></correctResponse></responseDeclaration>
      <itemBody><p>Which <b>one</b>?</p>
        <choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">
          <simpleChoice identifier="ChoiceA">x</simpleChoice><simpleChoice identifier="ChoiceB">y</simpleChoice>
        </choiceInteraction></itemBody>
      <cmp:item><cmp:node>T3.1.2</cmp:node><cmp:level>L2</cmp:level>
        <cmp:irt model="2pl" a="1" b="0" parameterisation="logistic-D1-irt" source="expert"/></cmp:item>
    </assessmentItem>"""
    found = {(p.field, p.message[:30]) for p in problems("item.xml", xml.encode())}
    # foreign choice identifiers are reported (our keys are A, B, …), everything else was read
    assert {f for f, _ in found} == {"options[0].key", "options[1].key", "key"}


def test_qti_body_with_unsafe_markup_is_refused():
    items = items_from([raw_single()])
    xml = qti.item_xml(items[0], "2.1").replace(
        b'<div class="competency-stem">', b'<div class="competency-stem"><img src="x"/>'
    )
    found = problems("item.xml", xml)
    assert any(p.field == "stem" and "<img>" in p.message for p in found)


def test_read_raw_reports_without_validating():
    raw = read_raw("b.json", data=bank_bytes(raw_single(node="nowhere")))
    assert raw.problems == [] and raw.items[0].data["node"] == "nowhere"


# -- templates ----------------------------------------------------------------------------------
def test_templates_are_valid_and_reproducible(tmp_path: Path):
    written = write_templates(tmp_path)
    assert [p.name for p in written] == [CSV_TEMPLATE.name, XLSX_TEMPLATE.name]
    assert (tmp_path / CSV_TEMPLATE.name).read_bytes() == CSV_TEMPLATE.read_bytes()
    assert (tmp_path / XLSX_TEMPLATE.name).read_bytes() == XLSX_TEMPLATE.read_bytes()
    examples = example_items()
    assert {i.type for i in examples} == {"single", "multiple", "truefalse", "ordered", "sequence"}
    for template in (CSV_TEMPLATE, XLSX_TEMPLATE):
        assert list(import_items(template, EXAMPLE_NODES, ROLES).items) == examples
    help_sheet = load_workbook(XLSX_TEMPLATE)["columns"]
    assert help_sheet.max_row == 1 + len(json.loads(json.dumps(list(csv_format.COLUMNS))))


def test_ordered_and_truefalse_fixtures_in_gift_text():
    text = export_bytes(items_from([raw_truefalse(), raw_ordered(), raw_multiple()]), "gift").decode()
    assert "{\nFALSE\n####" in text
    assert "=做法C" in text and "~%66.66667%做法B" in text and "~%33.33333%做法D" in text and "~做法A" in text
    assert "~%50%option A" in text and "~%-50%option B" in text


def test_xlsx_with_an_entity_bomb_is_refused():
    source = zipfile.ZipFile(io.BytesIO(export_bytes(items_from([raw_single()]), "xlsx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = BOMB.replace(b"assessmentItem", b"worksheet")
            target.writestr(info.filename, data)
    found = problems("b.xlsx", out.getvalue())
    assert len(found) == 1 and "not a readable XLSX workbook (refused XML" in found[0].message
