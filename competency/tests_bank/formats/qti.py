"""QTI 2.1 and QTI 3.0 items (choiceInteraction, orderInteraction), parsed with defusedxml.

Export is an IMS content package (zip): ``imsmanifest.xml`` plus ``items/<id>.xml``, one
assessmentItem each. Import takes such a package or a single item XML file; the version is read
from the namespaces.

Mapping (templates/FORMAT.md):

* single / multiple (all_or_nothing): choiceInteraction (max-choices 1 / number of options),
  correctResponse, template match_correct
* multiple (partial): as above plus a mapping (+1 key options, −1 others, lower bound 0), template
  map_response: right minus wrong, floored at 0
* truefalse: choiceInteraction with the two choices ``true`` and ``false``
* ordered (scenario judgement): choiceInteraction max-choices 1, mapping option → category,
  template map_response
* stem: ``<div class="competency-stem">`` in itemBody before the interaction (on import: all body
  content except the interaction, plus any prompt); explanation: modalFeedback ``EXPLANATION``.
* node, tags, roles, level, status, media and IRT parameters: in the manifest, inside each
  resource's ``<metadata>`` as ``<cmp:item>`` (namespace ``urn:competency:items:1``), which the
  content-packaging schema allows as extension metadata. A ``<cmp:item>`` inside a single item
  file is read too (not schema-valid QTI, tolerated on import).
* sequence: orderInteraction (shuffle false, choices in authored order), responseDeclaration
  cardinality ordered with the correct order as correctResponse. all_or_nothing: template
  match_correct. partial: our own responseProcessing, one responseCondition per adjacent pair
  (X, Y) of the key: if contains(RESPONSE, ordered(X, Y)) (for ordered containers a contiguous
  sub-sequence) then SCORE = SCORE + 1; any QTI engine can run it, and the reader recognises it
  when its pairs are exactly the key's adjacent pairs.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from competency.tests_bank.delivery import truefalse_labels
from competency.tests_bank.formats import load, save
from competency.tests_bank.markup import VOID_TAGS, tokens
from competency.tests_bank.problems import RawBank, RawItem
from competency.tests_bank.safe_archive import ITEM_LIMITS, UploadRefused, checked_zip, parse_xml, read_member
from competency.tests_bank.schema import Item, ItemType, Scoring
from competency.tests_bank.validation import REPORTED

NS = {"2.1": "http://www.imsglobal.org/xsd/imsqti_v2p1", "3.0": "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"}
XSD = {
    "2.1": "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd",
    "3.0": "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd",
}
CP_NS = {
    "2.1": "http://www.imsglobal.org/xsd/imscp_v1p1",
    "3.0": "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1",
}
RESOURCE_TYPE = {"2.1": "imsqti_item_xmlv2p1", "3.0": "imsqti_item_xmlv3p0"}
TEMPLATES = {
    "2.1": "http://www.imsglobal.org/question/qti_v2p1/rptemplates/{}",
    "3.0": "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/{}.xml",
}
CMP_NS = "urn:competency:items:1"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XSI_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"
STEM_CLASS = "competency-stem"
MAX_MEMBERS = 20000
MAX_MEMBER_BYTES = 5 * 1024 * 1024


class _Names:
    """Element and attribute names of one QTI version (2.1 camelCase, 3.0 qti-kebab-case)."""

    def __init__(self, version: str, *, qualified: bool = True) -> None:
        self.version = version
        self.ns = NS[version]
        # written documents use plain names under a default xmlns (ElementTree cannot combine a
        # default namespace with unqualified attributes); parsed documents have qualified names
        self.prefix = f"{{{self.ns}}}" if qualified else ""

    @staticmethod
    def _kebab(name: str) -> str:
        return re.sub(r"[A-Z]", lambda m: "-" + m.group().lower(), name)

    def el(self, name: str) -> str:
        local = name if self.version == "2.1" else "qti-" + self._kebab(name)
        return self.prefix + local

    def html(self, name: str) -> str:
        return self.prefix + name

    def at(self, name: str) -> str:
        return name if self.version == "2.1" else self._kebab(name)

    def template(self, name: str) -> str:
        return TEMPLATES[self.version].format(name)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# -- HTML fragment <-> XML content ------------------------------------------------------------
def _append_markup(parent: ET.Element, text: str, names: _Names) -> None:
    """Add canonical markup ``text`` as child content of ``parent`` (elements in the QTI namespace)."""
    stack = [parent]
    for kind, value, _ in tokens(text):
        current = stack[-1]
        if kind == "text":
            if len(current):
                current[-1].tail = (current[-1].tail or "") + value
            else:
                current.text = (current.text or "") + value
        elif kind == "start":
            child = ET.SubElement(current, names.html(value))
            if value not in VOID_TAGS:
                stack.append(child)
        elif kind == "end" and value not in VOID_TAGS and len(stack) > 1:
            stack.pop()


def _inner_html(element: ET.Element) -> str:
    """The content of ``element`` as an HTML fragment (attributes kept, so validation sees them)."""
    out = [html.escape(element.text or "", quote=False)]
    for child in element:
        tag = _local(child.tag)
        attrs = "".join(f' {_local(k)}="{html.escape(v)}"' for k, v in child.attrib.items())
        if tag in VOID_TAGS and not len(child) and not (child.text or ""):
            out.append(f"<{tag}{attrs}>")
        else:
            out.append(f"<{tag}{attrs}>{_inner_html(child)}</{tag}>")
        out.append(html.escape(child.tail or "", quote=False))
    return "".join(out)


# -- export -----------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return repr(float(value))


def item_xml(item: Item, version: str) -> bytes:
    """One assessmentItem document."""
    n = _Names(version, qualified=False)
    root = ET.Element(
        n.el("assessmentItem"),
        {
            "xmlns": n.ns,
            "identifier": item.id,
            "title": item.id,
            n.at("adaptive"): "false",
            n.at("timeDependent"): "false",
            XML_LANG: item.lang,
            XSI_LOCATION: f"{n.ns} {XSD[version]}",
        },
    )
    multiple = item.type is ItemType.MULTIPLE
    sequence = item.type is ItemType.SEQUENCE
    response = ET.SubElement(
        root,
        n.el("responseDeclaration"),
        {
            "identifier": "RESPONSE",
            "cardinality": "multiple" if multiple else "ordered" if sequence else "single",
            n.at("baseType"): "identifier",
        },
    )
    if item.type is not ItemType.ORDERED:
        correct = ET.SubElement(response, n.el("correctResponse"))
        if item.type is ItemType.TRUEFALSE:
            values = ["true" if item.key else "false"]
        elif multiple or sequence:
            values = list(item.key)  # type: ignore[arg-type]
        else:
            values = [item.key]  # type: ignore[list-item]
        for value in values:
            ET.SubElement(correct, n.el("value")).text = str(value)
    mapping: dict[str, int] | None = None
    if item.type is ItemType.ORDERED:
        mapping = item.score_map
    elif multiple and item.scoring is Scoring.PARTIAL:
        keys = set(item.key or ())  # type: ignore[arg-type]
        mapping = {o.key: 1 if o.key in keys else -1 for o in item.options}
    if mapping is not None:
        element = ET.SubElement(
            response, n.el("mapping"), {n.at("lowerBound"): "0", n.at("defaultValue"): "0"}
        )
        for key, value in mapping.items():
            ET.SubElement(element, n.el("mapEntry"), {n.at("mapKey"): key, n.at("mappedValue"): str(value)})
    ET.SubElement(
        root,
        n.el("outcomeDeclaration"),
        {"identifier": "SCORE", "cardinality": "single", n.at("baseType"): "float"},
    )
    if item.explanation:
        ET.SubElement(
            root,
            n.el("outcomeDeclaration"),
            {"identifier": "FEEDBACK", "cardinality": "single", n.at("baseType"): "identifier"},
        )
    body = ET.SubElement(root, n.el("itemBody"))
    stem = ET.SubElement(body, n.html("div"), {"class": STEM_CLASS})
    _append_markup(stem, item.stem, n)
    if item.type is ItemType.TRUEFALSE:
        choices = list(zip(("true", "false"), truefalse_labels(item.lang), strict=True))
    else:
        choices = [(o.key, o.text) for o in item.options]
    if sequence:
        interaction = ET.SubElement(
            body, n.el("orderInteraction"), {n.at("responseIdentifier"): "RESPONSE", "shuffle": "false"}
        )
    else:
        interaction = ET.SubElement(
            body,
            n.el("choiceInteraction"),
            {
                n.at("responseIdentifier"): "RESPONSE",
                "shuffle": "false",
                n.at("maxChoices"): str(len(choices)) if multiple else "1",
                n.at("minChoices"): "1",
            },
        )
    for key, text in choices:
        choice = ET.SubElement(interaction, n.el("simpleChoice"), {"identifier": key})
        _append_markup(choice, text, n)
    if sequence and item.scoring is Scoring.PARTIAL:
        root.append(_adjacent_pairs_processing(tuple(item.key), n))  # type: ignore[arg-type]
    else:
        template = "map_response" if mapping is not None else "match_correct"
        ET.SubElement(root, n.el("responseProcessing"), {"template": n.template(template)})
    if item.explanation:
        feedback = ET.SubElement(
            root,
            n.el("modalFeedback"),
            {
                n.at("outcomeIdentifier"): "FEEDBACK",
                "identifier": "EXPLANATION",
                n.at("showHide"): "show",
            },
        )
        _append_markup(feedback, item.explanation, n)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _adjacent_pairs_processing(key: tuple[str, ...], n: _Names) -> ET.Element:
    """SCORE = number of the key's adjacent pairs (X, Y) found next to each other, X first, in RESPONSE."""
    processing = ET.Element(n.el("responseProcessing"))

    def set_score(parent: ET.Element) -> ET.Element:
        return ET.SubElement(parent, n.el("setOutcomeValue"), {"identifier": "SCORE"})

    def value(parent: ET.Element, text: str, base_type: str) -> None:
        ET.SubElement(parent, n.el("baseValue"), {n.at("baseType"): base_type}).text = text

    value(set_score(processing), "0", "float")
    for first, second in zip(key, key[1:], strict=False):
        condition = ET.SubElement(ET.SubElement(processing, n.el("responseCondition")), n.el("responseIf"))
        contains = ET.SubElement(condition, n.el("contains"))
        ET.SubElement(contains, n.el("variable"), {"identifier": "RESPONSE"})
        pair = ET.SubElement(contains, n.el("ordered"))
        value(pair, first, "identifier")
        value(pair, second, "identifier")
        total = ET.SubElement(set_score(condition), n.el("sum"))
        ET.SubElement(total, n.el("variable"), {"identifier": "SCORE"})
        value(total, "1", "float")
    return processing


def _read_pairs(processing: ET.Element, n: _Names) -> list[tuple[str, str]] | None:
    """The (X, Y) pairs of adjacent-pair processing; None if ``processing`` is anything else."""
    pairs = []
    for contains in processing.iter(n.el("contains")):
        ordered = contains.find(n.el("ordered"))
        values = [] if ordered is None else [(v.text or "").strip() for v in ordered]
        if len(values) != 2:
            return None
        pairs.append((values[0], values[1]))
    return pairs or None


def _cmp(name: str) -> str:
    return f"{{{CMP_NS}}}{name}"


def _cmp_out(name: str) -> str:
    return "cmp:" + name


def _metadata_element(item: Item) -> ET.Element:
    meta = ET.Element(_cmp_out("item"), {"id": item.id})
    ET.SubElement(meta, _cmp_out("node")).text = item.node
    for tag in item.tags:
        ET.SubElement(meta, _cmp_out("tag")).text = tag
    for role in item.roles:
        ET.SubElement(meta, _cmp_out("role")).text = role
    ET.SubElement(meta, _cmp_out("level")).text = item.level
    ET.SubElement(meta, _cmp_out("status")).text = str(item.status)
    for media in item.media:
        ET.SubElement(meta, _cmp_out("media"), {"src": media.src, "alt": media.alt})
    if item.irt is not None:
        p = item.irt
        attrs = {
            "model": str(p.model),
            "a": _fmt(p.a),
            "parameterisation": p.parameterisation,
            "source": p.source,
            "version": str(p.version),
        }
        if p.b is not None:
            attrs["b"] = _fmt(p.b)
        if p.c is not None:
            attrs["c"] = _fmt(p.c)
        if p.thresholds is not None:
            attrs["thresholds"] = " ".join(_fmt(t) for t in p.thresholds)
        ET.SubElement(meta, _cmp_out("irt"), attrs)
    return meta


def _href(item: Item) -> str:
    return f"items/{item.id}.xml"


def manifest_xml(items: Sequence[Item], version: str, bank: str) -> bytes:
    ns = CP_NS[version]
    identifier = "MANIFEST-" + re.sub(r"[^A-Za-z0-9._-]", "_", bank)
    root = ET.Element("manifest", {"xmlns": ns, "xmlns:cmp": CMP_NS, "identifier": identifier})
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "QTIv2.1 Package" if version == "2.1" else "QTI Package"
    ET.SubElement(metadata, "schemaversion").text = "1.0.0" if version == "2.1" else "3.0.0"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    for item in items:
        resource = ET.SubElement(
            resources,
            "resource",
            {"identifier": "RES-" + item.id, "type": RESOURCE_TYPE[version], "href": _href(item)},
        )
        ET.SubElement(resource, "metadata").append(_metadata_element(item))
        ET.SubElement(resource, "file", {"href": _href(item)})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def dumps(items: Sequence[Item], *, bank: str, version: str = "2.1") -> bytes:
    if version not in NS:
        raise ValueError(f"QTI version must be 2.1 or 3.0, not {version!r}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:

        def put(name: str, data: bytes) -> None:
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )

        put("imsmanifest.xml", manifest_xml(items, version, bank))
        for item in items:
            put(_href(item), item_xml(item, version))
    return out.getvalue()


def write(
    items: Sequence[Item], path: str | Path | None = None, *, bank: str = "export", version: str = "2.1"
) -> bytes:
    return save(dumps(items, bank=bank, version=version), path)


# -- import -----------------------------------------------------------------------------------
def _parse_xml(data: bytes, location: str, raw: RawBank) -> ET.Element | None:
    try:
        return parse_xml(data, ITEM_LIMITS)
    except UploadRefused as exc:
        raw.problem(location, "", exc.message)
    except ET.ParseError as exc:
        line, column = exc.position
        raw.problem(f"{location} line {line}".strip(), "", f"malformed XML (column {column})")
    return None


def _version(root: ET.Element) -> str | None:
    for version, ns in NS.items():
        if root.tag == f"{{{ns}}}{'assessmentItem' if version == '2.1' else 'qti-assessment-item'}":
            return version
    return None


def _read_metadata(meta: ET.Element | None, data: dict[str, Any], location: str, raw: RawBank) -> None:
    if meta is None:
        return
    if meta.get("id") and data.get("id") and meta.get("id") != data["id"]:
        raw.problem(
            location, "id", f"manifest metadata id {meta.get('id')!r} differs from item {data['id']!r}"
        )
    for child in meta:
        name = _local(child.tag) if child.tag.startswith(f"{{{CMP_NS}}}") else None
        text = (child.text or "").strip()
        if name in ("node", "level", "status"):
            data[name] = text
        elif name in ("tag", "role"):
            data.setdefault(name + "s", []).append(text)
        elif name == "media":
            data.setdefault("media", []).append({"src": child.get("src", ""), "alt": child.get("alt", "")})
        elif name == "irt":
            data["irt"] = _irt(child, location, raw)
        else:
            raw.problem(location, f"cmp:{_local(child.tag)}", "unknown metadata element")


def _irt(element: ET.Element, location: str, raw: RawBank) -> dict[str, Any]:
    def number(name: str) -> Any:
        value = element.get(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raw.problem(location, f"irt.{name}", f"not a number: {value!r}")
            return REPORTED

    out: dict[str, Any] = {
        "model": element.get("model"),
        "a": number("a"),
        "b": number("b"),
        "c": number("c"),
        "parameterisation": element.get("parameterisation"),
        "source": element.get("source"),
    }
    thresholds = element.get("thresholds")
    if thresholds is not None:
        try:
            out["thresholds"] = [float(t) for t in thresholds.split()]
        except ValueError:
            raw.problem(location, "irt.thresholds", f"write numbers separated by spaces, not {thresholds!r}")
            out["thresholds"] = REPORTED
    version = element.get("version")
    if version is not None:
        out["version"] = int(version) if version.isdigit() else version
    return out


def _item_from_xml(root: ET.Element, location: str, raw: RawBank, meta: ET.Element | None) -> RawItem | None:
    version = _version(root)
    if version is None:
        raw.problem(location, "", f"not a QTI 2.1 or 3.0 assessmentItem (root element {root.tag!r})")
        return None
    n = _Names(version)
    data: dict[str, Any] = {"id": root.get("identifier"), "lang": root.get(XML_LANG)}
    item_location = location or "item"
    if data["id"]:
        item_location = f"{location} (item {data['id']})" if location else f"item {data['id']}"
    body = root.find(n.el("itemBody"))
    if body is None:
        raw.problem(item_location, "itemBody", "missing")
        return None
    interactions = list(body.iter(n.el("choiceInteraction"))) + list(body.iter(n.el("orderInteraction")))
    if len(interactions) != 1:
        raw.problem(
            item_location,
            "interaction",
            f"expected exactly one choiceInteraction or orderInteraction, found {len(interactions)}",
        )
        return None
    interaction = interactions[0]
    declared = {d.get("identifier"): d for d in root.findall(n.el("responseDeclaration"))}
    declaration = declared.get(interaction.get(n.at("responseIdentifier")))
    if declaration is None:
        raw.problem(item_location, "responseDeclaration", "missing for the interaction's response identifier")
        return None

    # stem: everything in the body but the interaction; our own wrapper div is unwrapped
    parts = []
    rest = [child for child in body if child is not interaction]
    if body.text and body.text.strip():
        parts.append(html.escape(body.text.strip(), quote=False))
    if len(rest) == 1 and _local(rest[0].tag) == "div" and rest[0].get("class") == STEM_CLASS:
        parts.append(_inner_html(rest[0]))
    else:
        wrapper = ET.Element("wrapper")
        wrapper.extend(rest)
        parts.append(_inner_html(wrapper))
    prompt = interaction.find(n.el("prompt"))
    if prompt is not None:
        parts.append(_inner_html(prompt))
    data["stem"] = "".join(p for p in parts if p.strip())

    choices = [
        (c.get("identifier") or "", _inner_html(c).strip()) for c in interaction.findall(n.el("simpleChoice"))
    ]
    correct = [
        (v.text or "").strip() for v in declaration.iterfind(f"{n.el('correctResponse')}/{n.el('value')}")
    ]
    mapping_element = declaration.find(n.el("mapping"))
    mapping: dict[str, float] = {}
    if mapping_element is not None:
        for entry in mapping_element.findall(n.el("mapEntry")):
            try:
                mapping[entry.get(n.at("mapKey")) or ""] = float(entry.get(n.at("mappedValue")) or "")
            except ValueError:
                raw.problem(item_location, "mapping", "mappedValue must be a number")
    processing = root.find(n.el("responseProcessing"))
    template = processing.get("template", "") if processing is not None else ""
    cardinality = declaration.get("cardinality")

    if interaction.tag == n.el("orderInteraction"):
        data["options"] = [{"key": key, "text": text} for key, text in choices]
        data["type"] = "sequence"
        data["key"] = correct
        if cardinality != "ordered":
            raw.problem(
                item_location, "cardinality", f"an orderInteraction needs ordered, not {cardinality!r}"
            )
            return None
        if processing is None or "match_correct" in template:
            data["scoring"] = str(Scoring.ALL_OR_NOTHING)
        elif not template and _read_pairs(processing, n) == list(zip(correct, correct[1:], strict=False)):
            data["scoring"] = str(Scoring.PARTIAL)
        else:
            raw.problem(
                item_location,
                "responseProcessing",
                "an orderInteraction is read with template match_correct (all or nothing) or with "
                "adjacent-pair scoring of the correct order (see FORMAT.md)",
            )
            return None
    elif cardinality == "single" and [c[0] for c in choices] == ["true", "false"]:
        data["type"] = "truefalse"
        data["key"] = {"true": True, "false": False}.get(correct[0]) if len(correct) == 1 else None
        if data["key"] is None:
            raw.problem(item_location, "correctResponse", "a true/false item needs the value true or false")
            return None
    else:
        data["options"] = [{"key": key, "text": text} for key, text in choices]
        if cardinality == "multiple":
            data["type"] = "multiple"
            data["key"] = correct or [k for k, v in mapping.items() if v > 0]
            partial = mapping_element is not None or "map_response" in template
            data["scoring"] = str(Scoring.PARTIAL if partial else Scoring.ALL_OR_NOTHING)
        elif cardinality == "single" and mapping_element is not None:
            data["type"] = "ordered"
            scores: dict[str, Any] = {}
            for key, value in mapping.items():
                scores[key] = int(value) if float(value).is_integer() else value
            data["scores"] = scores
        elif cardinality == "single":
            data["type"] = "single"
            data["key"] = correct[0] if len(correct) == 1 else None
            if data["key"] is None:
                raw.problem(item_location, "correctResponse", "a single-choice item needs one correct value")
                return None
        else:
            raw.problem(item_location, "cardinality", f"unsupported cardinality {cardinality!r}")
            return None

    feedbacks = root.findall(n.el("modalFeedback"))
    chosen = [f for f in feedbacks if f.get("identifier") == "EXPLANATION"] or feedbacks[:1]
    if chosen:
        data["explanation"] = _inner_html(chosen[0]).strip()
    if meta is None:
        meta = root.find(f".//{_cmp('item')}")
    _read_metadata(meta, data, item_location, raw)
    return RawItem(item_location, {k: v for k, v in data.items() if v is not None})


def _safe_member(name: str) -> str | None:
    normal = posixpath.normpath(name)
    if normal.startswith(("/", "../")) or normal == ".." or "\\" in name:
        return None
    return normal


def _read_package(data: bytes, raw: RawBank) -> None:
    try:
        archive = checked_zip(data, ITEM_LIMITS.with_changes(max_entries=MAX_MEMBERS))
    except UploadRefused as exc:
        raw.problem("", "", "not a zip content package" if exc.code == "not_zip" else exc.message)
        return
    with archive:
        members = archive.infolist()
        sizes = {posixpath.normpath(m.filename): m for m in members}
        if "imsmanifest.xml" not in sizes:
            raw.problem("", "imsmanifest.xml", "missing from the package")
            return
        manifest = _parse_xml(
            read_member(archive, sizes["imsmanifest.xml"], ITEM_LIMITS), "imsmanifest.xml", raw
        )
        if manifest is None:
            return
        resources = [
            r
            for r in manifest.iter()
            if _local(r.tag) == "resource" and (r.get("type") or "").startswith("imsqti_item_xml")
        ]
        if not resources:
            raw.problem("imsmanifest.xml", "resources", "no QTI item resources")
        for resource in resources:
            href = _safe_member(resource.get("href") or "")
            if href is None or href not in sizes:
                raw.problem(
                    "imsmanifest.xml", "href", f"missing or unsafe item file {resource.get('href')!r}"
                )
                continue
            if sizes[href].file_size > MAX_MEMBER_BYTES:
                raw.problem(href, "", "item file too large")
                continue
            root = _parse_xml(read_member(archive, sizes[href], ITEM_LIMITS), href, raw)
            if root is None:
                continue
            meta = next((m for m in resource.iter(_cmp("item"))), None)
            item = _item_from_xml(root, href, raw, meta)
            if item is not None:
                raw.items.append(item)


def read(source: str | Path | bytes, *, name: str | None = None) -> RawBank:
    data, name = load(source, name)
    raw = RawBank(name)
    if data[:4] == b"PK\x03\x04":
        _read_package(data, raw)
    else:
        root = _parse_xml(data, "", raw)
        if root is not None:
            item = _item_from_xml(root, "", raw, None)
            if item is not None:
                raw.items.append(item)
    return raw
