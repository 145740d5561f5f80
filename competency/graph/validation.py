"""Validation of the graph data documents; every check names the file, node and field.

The checks run on the parsed JSON before anything is built, so a refused data set is
never half-loaded. ``validate_documents`` collects every problem instead of stopping at
the first, because a data author wants the whole list in one go.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import networkx as nx

from competency.graph.errors import Problem

WEIGHT_TOLERANCE = 1e-6
TEACHER_KINDS = {"dimension": None, "subdimension": "dimension", "indicator": "subdimension"}
STUDENT_KINDS = {"area": None, "indicator": "area"}
DIGCOMPEDU_LEVELS = {"A1", "A2", "B1", "B2", "C1", "C2"}
REQUIRED_SCALES = ("teacher", "job", "digcomp")

Docs = Mapping[str, tuple[str, Any]]


def has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


class _Collector:
    """Accumulates problems for one file."""

    def __init__(self, file: str, out: list[Problem]):
        self.file = file
        self.out = out

    def add(self, node: str | None, field: str | None, message: str) -> None:
        self.out.append(Problem(self.file, node, field, message))

    def text(self, node: str | None, obj: Mapping[str, Any], field: str, lang: str) -> None:
        """A text field in ``lang`` ("zh" or "en") must be present and in that language."""
        value = obj.get(field)
        if not isinstance(value, str) or not value.strip():
            self.add(node, field, "missing translation" if lang else "missing text")
        elif lang == "zh" and not has_cjk(value):
            self.add(node, field, "Chinese text expected (no Chinese characters found)")
        elif lang == "en" and has_cjk(value):
            self.add(node, field, "English text expected (contains Chinese characters)")

    def pair(self, node: str | None, obj: Mapping[str, Any], stem: str) -> None:
        self.text(node, obj, f"{stem}_zh", "zh")
        self.text(node, obj, f"{stem}_en", "en")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _header(c: _Collector, doc: Any, fmt: str, version: str | None) -> bool:
    if not isinstance(doc, dict):
        c.add(None, None, "top level must be a JSON object")
        return False
    if doc.get("format") != fmt:
        c.add(None, "format", f"expected {fmt!r}, found {doc.get('format')!r}")
    if not isinstance(doc.get("version"), str) or not doc.get("version"):
        c.add(None, "version", "missing version")
    elif version is not None and doc["version"] != version:
        c.add(None, "version", f"version {doc['version']!r} differs from the manifest version {version!r}")
    return True


# -- level scales ------------------------------------------------------------------------------
def validate_scales(c: _Collector, doc: Any, version: str | None) -> dict[str, list[str]]:
    """Check the scales file; returns {scale name: level codes} for the other checks."""
    found: dict[str, list[str]] = {}
    if not _header(c, doc, "competency.graph.scales/1", version):
        return found
    scales = doc.get("scales")
    if not isinstance(scales, list) or not scales:
        c.add(None, "scales", "a non-empty list of scales is required")
        return found
    for scale in scales:
        name = scale.get("name") if isinstance(scale, dict) else None
        if not isinstance(name, str) or not name:
            c.add(None, "name", "scale without a name")
            continue
        if name in found:
            c.add(name, "name", "duplicate scale name")
            continue
        c.pair(name, scale, "name")
        codes: list[str] = []
        levels = scale.get("levels")
        if not isinstance(levels, list) or not levels:
            c.add(name, "levels", "a non-empty list of levels is required")
            levels = []
        for level in levels:
            code = level.get("code") if isinstance(level, dict) else None
            if not isinstance(code, str) or not code:
                c.add(name, "levels", "level without a code")
                continue
            where = f"{name}/{code}"
            if code in codes:
                c.add(where, "code", "duplicate level code")
                continue
            codes.append(code)
            c.pair(where, level, "name")
            c.pair(where, level, "descriptor")
        found[name] = codes
        cuts = scale.get("cuts")
        if not isinstance(cuts, list) or not all(_is_number(x) for x in cuts):
            c.add(name, "cuts", "a list of numbers is required")
        else:
            if len(cuts) != max(len(codes) - 1, 0):
                c.add(
                    name, "cuts", f"{len(codes)} levels need {len(codes) - 1} cut scores, found {len(cuts)}"
                )
            if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
                c.add(name, "cuts", "cut scores must be strictly increasing")
    for name in REQUIRED_SCALES:
        if name not in found:
            c.add(name, "scales", "required scale is missing")
    for scale in scales:
        if not isinstance(scale, dict) or scale.get("name") not in found:
            continue
        name = scale["name"]
        for target, spec in (scale.get("crosswalks") or {}).items():
            where = f"{name}->{target}"
            mapping = spec.get("map") if isinstance(spec, dict) else None
            if not isinstance(mapping, dict):
                c.add(where, "map", "crosswalk needs a map")
                continue
            if target == "band":
                allowed = set((spec.get("labels") or {}).keys())
            elif target == "digcompedu":
                allowed = DIGCOMPEDU_LEVELS
            else:
                allowed = set(found.get(target, []))
                if target not in found:
                    c.add(where, "target", f"unknown crosswalk target scale {target!r}")
                    continue
            for code, values in mapping.items():
                if code not in found[name]:
                    c.add(where, code, f"unknown level {code!r} of scale {name!r}")
                if not isinstance(values, list):
                    c.add(where, code, "crosswalk values must be a list")
                    continue
                for value in values:
                    if value not in allowed:
                        c.add(where, code, f"unknown {target} level {value!r}")
    return found


# -- maps (teacher map, student indicator system) ---------------------------------------------
def validate_map(
    c: _Collector,
    doc: Any,
    fmt: str,
    kinds: Mapping[str, str | None],
    scales: Mapping[str, list[str]],
    version: str | None,
) -> dict[str, dict[str, Any]]:
    """Check a map document; returns {code: node object} of the nodes that have a code."""
    nodes: dict[str, dict[str, Any]] = {}
    if not _header(c, doc, fmt, version):
        return nodes
    scale = doc.get("scale")
    if scales and scale not in scales:
        c.add(None, "scale", f"unknown level scale {scale!r}")
    raw = doc.get("nodes")
    if not isinstance(raw, list) or not raw:
        c.add(None, "nodes", "a non-empty list of nodes is required")
        return nodes
    for position, node in enumerate(raw):
        code = node.get("code") if isinstance(node, dict) else None
        if not isinstance(code, str) or not code.strip():
            c.add(f"#{position}", "code", "node without a code")
            continue
        if code in nodes:
            c.add(code, "code", "duplicate code")
            continue
        nodes[code] = node
    student = "area" in kinds
    for code, node in nodes.items():
        kind = node.get("kind")
        if kind not in kinds:
            c.add(code, "kind", f"kind {kind!r} is not one of {sorted(kinds)}")
        c.pair(code, node, "name")
        c.pair(code, node, "description")
        _check_container(c, code, node, nodes, kinds)
        if kind == "indicator" and student:
            _check_student_indicator(c, code, node, doc)
        elif kind == "indicator":
            _check_teacher_indicator(c, code, node, scales.get(scale, []))
    _check_children(c, nodes, kinds)
    _check_weights(c, nodes)
    _check_prerequisites(c, doc.get("prerequisites", []), nodes)
    _check_crosswalks(c, doc, nodes)
    return nodes


def _check_container(c: _Collector, code: str, node: dict, nodes: dict, kinds: Mapping) -> None:
    kind, parent = node.get("kind"), node.get("parent")
    expected = kinds.get(kind) if kind in kinds else None
    if parent is None:
        if expected is not None:
            c.add(code, "parent", f"a {kind} needs a container of kind {expected!r}")
        return
    if not isinstance(parent, str):
        c.add(code, "parent", "parent must be a node code")
    elif parent not in nodes:
        c.add(code, "parent", f"dangling reference to unknown node {parent!r}")
    elif expected is None:
        c.add(code, "parent", f"a {kind} is a top-level node and has no container")
    elif nodes[parent].get("kind") != expected:
        c.add(code, "parent", f"container {parent!r} is a {nodes[parent].get('kind')}, expected a {expected}")
    elif not code.startswith(parent + "."):
        c.add(code, "code", f"code must extend its container's code {parent!r}")


def _check_children(c: _Collector, nodes: dict, kinds: Mapping) -> None:
    has_child = {n.get("parent") for n in nodes.values()}
    for code, node in nodes.items():
        kind = node.get("kind")
        if kind in kinds and kind != "indicator" and code not in has_child:
            c.add(code, "children", f"{kind} contains no nodes")


def _check_weights(c: _Collector, nodes: dict) -> None:
    groups: dict[str | None, list[str]] = defaultdict(list)
    for code, node in nodes.items():
        weight = node.get("weight")
        if weight is None:
            if not node.get("role_specific"):
                c.add(code, "weight", "missing weight (only role-specific indicators may have weight null)")
            continue
        if not _is_number(weight) or not 0 < weight <= 1:
            c.add(code, "weight", f"weight must be a number in (0, 1], found {weight!r}")
            continue
        if node.get("role_specific"):
            c.add(
                code,
                "weight",
                "role-specific indicators must have weight null (they count only in job profiles)",
            )
            continue
        parent = node.get("parent")
        if parent is not None and parent not in nodes:
            continue  # dangling container: reported already, its group is unknown
        groups[parent].append(code)
    for parent, members in groups.items():
        total = sum(nodes[m]["weight"] for m in members)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            c.add(
                parent or "(top level)",
                "weight",
                f"weights of {', '.join(members)} sum to {total:.6g}, not 1",
            )


def _check_teacher_indicator(c: _Collector, code: str, node: dict, levels: list[str]) -> None:
    descriptors = node.get("descriptors")
    if not isinstance(descriptors, dict):
        c.add(code, "descriptors", "missing level descriptors")
    else:
        for level in levels:
            entry = descriptors.get(level)
            if not isinstance(entry, dict):
                c.add(code, f"descriptors.{level}", "missing descriptor")
                continue
            c.text(code, {f"descriptors.{level}.zh": entry.get("zh")}, f"descriptors.{level}.zh", "zh")
            c.text(code, {f"descriptors.{level}.en": entry.get("en")}, f"descriptors.{level}.en", "en")
        for level in descriptors:
            if levels and level not in levels:
                c.add(code, f"descriptors.{level}", "unknown level code")
    refs = node.get("digcompedu")
    if not isinstance(refs, list) or not refs:
        c.add(code, "digcompedu", "missing DigCompEdu crosswalk")


def _check_crosswalks(c: _Collector, doc: dict, nodes: dict) -> None:
    """Node crosswalk codes resolve to the listed target framework, and every competence is linked."""
    targets = doc.get("crosswalk_targets") or {}
    if not isinstance(targets, dict):
        c.add(None, "crosswalk_targets", "must be an object")
        return
    for key, spec in targets.items():
        items = spec.get("items") if isinstance(spec, dict) else None
        if not isinstance(items, list) or not items:
            c.add(None, f"crosswalk_targets.{key}", "needs a list of items")
            continue
        codes = {item.get("code") for item in items}
        for item in items:
            c.pair(f"{key} {item.get('code')}", item, "name")
        used: set[str] = set()
        for code, node in nodes.items():
            refs = node.get(key)
            if refs is None:
                continue
            if not isinstance(refs, list):
                c.add(code, key, "crosswalk must be a list of codes")
                continue
            for ref in refs:
                if ref not in codes:
                    c.add(code, key, f"dangling reference to unknown {key} code {ref!r}")
            if node.get("kind") == "indicator":
                used.update(refs)
        for item in items:
            if item.get("kind") == "competence" and item.get("code") not in used:
                c.add(f"{key} {item.get('code')}", key, "competence is not linked to any indicator")


def _check_student_indicator(c: _Collector, code: str, node: dict, doc: dict) -> None:
    known = {lit.get("code") for lit in (doc.get("metadata") or {}).get("core_literacies", [])}
    for tag in node.get("core_literacies") or []:
        if tag not in known:
            c.add(code, "core_literacies", f"unknown core literacy {tag!r}")
    if node.get("role_specific") and not node.get("industry"):
        c.add(code, "industry", "role-specific indicator needs an industry")


def _check_prerequisites(c: _Collector, edges: Any, nodes: dict) -> None:
    if not isinstance(edges, list):
        c.add(None, "prerequisites", "must be a list")
        return
    graph = nx.DiGraph()
    for edge in edges:
        a, b = (edge.get("from"), edge.get("to")) if isinstance(edge, dict) else (None, None)
        where = f"{a} -> {b}"
        ok = True
        for end, field in ((a, "from"), (b, "to")):
            if end not in nodes:
                c.add(where, field, f"dangling reference to unknown node {end!r}")
                ok = False
            elif nodes[end].get("kind") != "indicator":
                c.add(
                    where, field, f"prerequisites link indicators only; {end!r} is a {nodes[end].get('kind')}"
                )
                ok = False
        if not isinstance(edge, dict) or edge.get("source") != "platform":
            c.add(where, "source", 'prerequisite edges must be labelled source="platform"')
        if isinstance(edge, dict):
            c.pair(where, edge, "reason")
        if not ok:
            continue
        if a == b:
            c.add(where, "to", "a node cannot be its own prerequisite")
            continue
        if graph.has_edge(a, b):
            c.add(where, None, "duplicate prerequisite edge")
        graph.add_edge(a, b)
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            members = sorted(component)
            cycle = nx.find_cycle(graph.subgraph(members))
            path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            c.add(members[0], "prerequisites", f"prerequisite cycle: {path}")


# -- teacher targets ----------------------------------------------------------------------------
def validate_targets(
    c: _Collector,
    doc: Any,
    teacher: dict[str, dict],
    scales: Mapping[str, list[str]],
    industries: set[str] | None,
    version: str | None,
) -> None:
    if not _header(c, doc, "competency.graph.teacher_targets/1", version):
        return
    levels = scales.get(doc.get("scale"), [])
    if scales and doc.get("scale") not in scales:
        c.add(None, "scale", f"unknown level scale {doc.get('scale')!r}")
    stages: list[str] = []
    for stage in doc.get("stages") or []:
        code = stage.get("code")
        if not code or code in stages:
            c.add(str(code), "code", "missing or duplicate stage code")
            continue
        stages.append(code)
        c.pair(code, stage, "name")
        c.pair(code, stage, "description")
    if not stages:
        c.add(None, "stages", "no stages")
    dims = [code for code, n in teacher.items() if n.get("kind") == "dimension"]
    seen: set[str] = set()
    for cat in doc.get("categories") or []:
        code = cat.get("code")
        if not code or code in seen:
            c.add(str(code), "code", "missing or duplicate category code")
            continue
        seen.add(code)
        c.pair(code, cat, "name")
        c.pair(code, cat, "description")
        dim_targets = cat.get("dimension_targets") or {}
        for stage in stages:
            per_stage = dim_targets.get(stage)
            if not isinstance(per_stage, dict):
                c.add(code, f"dimension_targets.{stage}", "missing targets for stage")
                continue
            for dim in dims:
                if dim not in per_stage:
                    c.add(code, f"dimension_targets.{stage}.{dim}", "missing target")
        for field in ("dimension_targets", "indicator_targets"):
            for stage, per_stage in (cat.get(field) or {}).items():
                if stage not in stages:
                    c.add(code, f"{field}.{stage}", "unknown stage")
                    continue
                want = "dimension" if field == "dimension_targets" else "indicator"
                for node, level in per_stage.items():
                    if teacher and (node not in teacher or teacher[node].get("kind") != want):
                        c.add(
                            code, f"{field}.{stage}.{node}", f"dangling reference: {node!r} is not a {want}"
                        )
                    if levels and level not in levels:
                        c.add(code, f"{field}.{stage}.{node}", f"unknown level {level!r}")
    if not seen:
        c.add(None, "categories", "no categories")
    for industry, codes in (doc.get("industry_focus") or {}).items():
        if industries is not None and industry not in industries:
            c.add(industry, "industry_focus", f"dangling reference to unknown industry {industry!r}")
        for node in codes:
            if teacher and (node not in teacher or teacher[node].get("kind") != "indicator"):
                c.add(industry, "industry_focus", f"dangling reference: {node!r} is not a teacher indicator")


# -- job profiles --------------------------------------------------------------------------------
def validate_jobs(
    c: _Collector,
    doc: Any,
    student: dict[str, dict],
    scales: Mapping[str, list[str]],
    version: str | None,
) -> set[str]:
    industries: dict[str, dict] = {}
    if not _header(c, doc, "competency.graph.jobs/1", version):
        return set()
    levels = scales.get(doc.get("scale"), [])
    if scales and doc.get("scale") not in scales:
        c.add(None, "scale", f"unknown level scale {doc.get('scale')!r}")
    for ind in doc.get("industries") or []:
        code = ind.get("code")
        if not code or code in industries:
            c.add(str(code), "code", "missing or duplicate industry code")
            continue
        industries[code] = ind
        c.pair(code, ind, "name")
        node = ind.get("indicator")
        if student:
            if node not in student:
                c.add(code, "indicator", f"dangling reference to unknown indicator {node!r}")
            elif not student[node].get("role_specific") or student[node].get("industry") != code:
                c.add(code, "indicator", f"{node!r} is not the role-specific indicator of industry {code!r}")
    for node in student.values():
        if node.get("role_specific") and node.get("industry") not in industries:
            c.add(
                node["code"], "industry", f"dangling reference to unknown industry {node.get('industry')!r}"
            )
    roles: set[str] = set()
    for role in doc.get("roles") or []:
        code = role.get("code")
        if not code or code in roles:
            c.add(str(code), "code", "missing or duplicate role code")
            continue
        roles.add(code)
        c.pair(code, role, "name")
        c.pair(code, role, "description")
        industry = role.get("industry")
        if industry not in industries:
            c.add(code, "industry", f"dangling reference to unknown industry {industry!r}")
        tasks = role.get("typical_tasks")
        if not isinstance(tasks, list) or not tasks:
            c.add(code, "typical_tasks", "at least one typical task is required")
        else:
            for i, task in enumerate(tasks):
                c.text(code, {f"typical_tasks.{i}.zh": task.get("zh")}, f"typical_tasks.{i}.zh", "zh")
                c.text(code, {f"typical_tasks.{i}.en": task.get("en")}, f"typical_tasks.{i}.en", "en")
        reqs = role.get("requirements")
        if not isinstance(reqs, dict) or not reqs:
            c.add(code, "requirements", "at least one requirement is required")
            continue
        for node, level in reqs.items():
            if student and (node not in student or student[node].get("kind") != "indicator"):
                c.add(
                    code, f"requirements.{node}", f"dangling reference to unknown student indicator {node!r}"
                )
            if levels and (level not in levels or level == levels[0]):
                c.add(
                    code, f"requirements.{node}", f"target level must be one of {levels[1:]}, found {level!r}"
                )
        own = industries.get(industry, {}).get("indicator")
        if own and own not in reqs:
            c.add(code, "requirements", f"must require its industry's role-specific indicator {own!r}")
    if not roles:
        c.add(None, "roles", "no roles")
    return set(industries)


def validate_documents(docs: Docs, version: str | None) -> list[Problem]:
    """Validate all data documents together (cross-file references included)."""
    problems: list[Problem] = []

    def run(key: str, check: Any, default: Any) -> Any:
        file, doc = docs.get(key, (f"{key}.json", None))
        if doc is None:
            return default
        try:
            return check(_Collector(file, problems), doc)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            # a value of the wrong JSON type somewhere the checks expected an object or list
            problems.append(Problem(file, None, None, f"malformed document ({type(exc).__name__}: {exc})"))
            return default

    scales = run("level_scales", lambda c, d: validate_scales(c, d, version), {})
    teacher = run(
        "teacher_map",
        lambda c, d: validate_map(c, d, "competency.graph.teacher/1", TEACHER_KINDS, scales, version),
        {},
    )
    student = run(
        "student_indicators",
        lambda c, d: validate_map(c, d, "competency.graph.student/1", STUDENT_KINDS, scales, version),
        {},
    )
    industries = run("job_profiles", lambda c, d: validate_jobs(c, d, student, scales, version), None)
    run("teacher_targets", lambda c, d: validate_targets(c, d, teacher, scales, industries, version), None)
    return problems
