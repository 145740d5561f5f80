"""The institution digital-maturity model: versioned JSON data read into a NetworkX tree with links.

Nodes are the model's areas, sub-areas and indicators (``kind`` = area | sub_area | indicator), keyed by
code; ``contains`` edges form the tree and ``supports`` edges link indicators that build on each other.
The plain-data accessors (``MaturityModel.indicators`` etc.) are what services and the CLI use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import networkx as nx

from competency.bilingual import localized

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FILE = DATA_DIR / "maturity_model.json"
FORMAT = "competency.maturity/1"
LEVELS = (1, 2, 3, 4, 5)
GROUPS = ("leader", "teacher", "student", "mentor")
OBJECTIVE_KINDS = ("ratio", "count", "boolean")


class ModelError(ValueError):
    """The model data break a rule; ``problems`` lists each one with where it is."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Indicator:
    code: str
    area: str
    sub_area: str
    name_zh: str
    name_en: str
    descriptors_zh: tuple[str, ...]
    descriptors_en: tuple[str, ...]
    sources: tuple[dict, ...]
    weight: float = 1.0
    questionnaire: dict | None = None
    objective: dict | None = None
    literacy: dict | None = None
    scenario: str | None = None
    links: tuple[str, ...] = ()

    def name(self, locale: str) -> str:
        return localized(self, "name", locale == "en")

    def descriptor(self, level: int, locale: str) -> str:
        return localized(self, "descriptors", locale == "en")[level - 1]

    def statement(self, locale: str) -> str | None:
        if not self.questionnaire:
            return None
        return localized(self.questionnaire, "statement", locale == "en")


@dataclass
class MaturityModel:
    data: dict
    graph: nx.DiGraph
    indicators: dict[str, Indicator] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def levels(self) -> list[dict]:
        return self.data["levels"]

    @property
    def areas(self) -> list[dict]:
        return [{k: v for k, v in a.items() if k != "sub_areas"} for a in self.data["areas"]]

    def area(self, code: str) -> dict:
        return next(a for a in self.areas if a["code"] == code)

    def sub_areas(self, area: str) -> list[dict]:
        spec = next(a for a in self.data["areas"] if a["code"] == area)
        return [{k: v for k, v in s.items() if k != "indicators"} for s in spec["sub_areas"]]

    def level(self, code: int) -> dict:
        return self.levels[code - 1]

    @property
    def groups(self) -> list[dict]:
        return self.data["groups"]

    @property
    def scenarios(self) -> list[dict]:
        return self.data["scenarios"]

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.data["weights"])

    def area_weights(self) -> dict[str, float]:
        return {a["code"]: float(a.get("weight", 1.0)) for a in self.data["areas"]}

    def institution_type(self, type_code: str) -> dict:
        return self.data["institution_types"][type_code]

    def groups_for(self, type_code: str) -> list[dict]:
        """The respondent groups of an institution type, with the type's own names where it has them."""
        variant = self.institution_type(type_code)
        names = variant.get("group_names", {})
        return [{**g, **names.get(g["code"], {})} for g in self.groups if g["code"] in variant["groups"]]

    def applicable(self, type_code: str, scenarios: Iterable[str] | None = None) -> list[Indicator]:
        """Indicators that apply to an institution of this type running these scenarios (None: all of them).

        An indicator tied to a scenario applies only when the round says the institution runs it;
        a type's variant removes the indicators that make no sense for it (an enterprise has no students).
        """
        chosen = {s["code"] for s in self.scenarios} if scenarios is None else set(scenarios)
        skip = set(self.institution_type(type_code).get("not_applicable", []))
        return [
            ind
            for ind in self.indicators.values()
            if ind.code not in skip and (ind.scenario is None or ind.scenario in chosen)
        ]

    def in_area(self, area: str) -> list[Indicator]:
        return [ind for ind in self.indicators.values() if ind.area == area]

    def crosswalk(self, framework: str) -> dict[str, list[str]]:
        """Source element → the indicators that draw on it."""
        out: dict[str, list[str]] = {}
        for ind in self.indicators.values():
            for src in ind.sources:
                if src["framework"] == framework:
                    out.setdefault(src["ref"], []).append(ind.code)
        return out

    def source_label(self, src: dict) -> str:
        framework = self.data["sources"][src["framework"]]
        return f"{framework['name_zh']} · {framework['elements'][src['ref']]}"

    def contract(self) -> dict:
        """The shape `flask --app competency maturity model --json` prints (DESIGN.md contract), plus extras."""
        return {
            "format": FORMAT,
            "version": self.version,
            "authored_by": self.data["authored_by"],
            "levels": [
                {"code": lv["code"], "name_zh": lv["name_zh"], "name_en": lv["name_en"]} for lv in self.levels
            ],
            "areas": [
                {"code": a["code"], "name_zh": a["name_zh"], "name_en": a["name_en"], "weight": a["weight"]}
                for a in self.areas
            ],
            "sub_areas": [
                {"code": s["code"], "area": a["code"], "name_zh": s["name_zh"], "name_en": s["name_en"]}
                for a in self.areas
                for s in self.sub_areas(a["code"])
            ],
            "indicators": [
                {
                    "code": ind.code,
                    "area": ind.area,
                    "sub_area": ind.sub_area,
                    "name_zh": ind.name_zh,
                    "name_en": ind.name_en,
                    "descriptors": list(ind.descriptors_zh),
                    "descriptors_en": list(ind.descriptors_en),
                    "evidence": [
                        kind for kind in ("questionnaire", "objective", "literacy") if getattr(ind, kind)
                    ],
                    "scenario": ind.scenario,
                    "sources": [dict(s) for s in ind.sources],
                }
                for ind in self.indicators.values()
            ],
        }


def _problems(data: dict) -> list[str]:
    """Every rule the data break, each naming where."""
    problems: list[str] = []
    if data.get("format") != FORMAT:
        problems.append(f"format: expected {FORMAT}")
    if not data.get("version"):
        problems.append("version: missing")
    levels = data.get("levels", [])
    if [lv.get("code") for lv in levels] != list(LEVELS):
        problems.append("levels: need exactly five levels coded 1..5 in order")
    for lv in levels:
        if not lv.get("name_zh") or not lv.get("name_en"):
            problems.append(f"levels[{lv.get('code')}]: name_zh and name_en are required")
    weights = data.get("weights", {})
    if set(weights) != {"questionnaire", "objective", "expert"} or any(w < 0 for w in weights.values()):
        problems.append("weights: questionnaire, objective and expert, each ≥ 0")
    group_codes = {g["code"] for g in data.get("groups", [])}
    if group_codes != set(GROUPS):
        problems.append(f"groups: expected {', '.join(GROUPS)}")
    scenarios = {s["code"] for s in data.get("scenarios", [])}
    sources = data.get("sources", {})
    seen: set[str] = set()
    all_indicators: list[dict] = []
    for area in data.get("areas", []):
        where = f"area {area.get('code')}"
        for key in ("code", "name_zh", "name_en"):
            if not area.get(key):
                problems.append(f"{where}: {key} is required")
        if area.get("code") in seen:
            problems.append(f"{where}: duplicate code")
        seen.add(area.get("code"))
        if not area.get("sub_areas"):
            problems.append(f"{where}: has no sub-areas")
        for sub in area.get("sub_areas", []):
            swhere = f"sub-area {sub.get('code')}"
            if sub.get("code") in seen:
                problems.append(f"{swhere}: duplicate code")
            seen.add(sub.get("code"))
            if not str(sub.get("code", "")).startswith(f"{area.get('code')}."):
                problems.append(f"{swhere}: code must start with its area's code")
            if not sub.get("indicators"):
                problems.append(f"{swhere}: has no indicators")
            for ind in sub.get("indicators", []):
                all_indicators.append(ind)
                iwhere = f"indicator {ind.get('code')}"
                if ind.get("code") in seen:
                    problems.append(f"{iwhere}: duplicate code")
                seen.add(ind.get("code"))
                if not str(ind.get("code", "")).startswith(f"{sub.get('code')}."):
                    problems.append(f"{iwhere}: code must start with its sub-area's code")
                for lang in ("zh", "en"):
                    desc = ind.get(f"descriptors_{lang}", [])
                    if len(desc) != 5 or not all(isinstance(d, str) and d.strip() for d in desc):
                        problems.append(f"{iwhere}: descriptors_{lang} needs five non-empty descriptors")
                if not ind.get("sources"):
                    problems.append(f"{iwhere}: no source in the crosswalk")
                for src in ind.get("sources", []):
                    fw = sources.get(src.get("framework"))
                    if fw is None or src.get("ref") not in fw.get("elements", {}):
                        problems.append(
                            f"{iwhere}: source {src.get('framework')}:{src.get('ref')} does not resolve"
                        )
                evidence = [k for k in ("questionnaire", "objective", "literacy") if ind.get(k)]
                if not evidence:
                    problems.append(f"{iwhere}: has no kind of evidence")
                q = ind.get("questionnaire")
                if q and (
                    not q.get("statement_zh")
                    or not q.get("statement_en")
                    or not set(q.get("groups", []))
                    or not set(q["groups"]) <= set(GROUPS)
                ):
                    problems.append(
                        f"{iwhere}: questionnaire needs statements in both languages and known groups"
                    )
                for kind in ("objective", "literacy"):
                    spec = ind.get(kind)
                    if spec:
                        problems.extend(f"{iwhere}: {kind} {p}" for p in _scoring_problems(spec, kind))
                if ind.get("scenario") and ind["scenario"] not in scenarios:
                    problems.append(f"{iwhere}: unknown scenario {ind['scenario']}")
    indicator_codes = {ind.get("code") for ind in all_indicators}
    for ind in all_indicators:
        for link in ind.get("links", []):
            if link not in indicator_codes or link == ind.get("code"):
                problems.append(f"indicator {ind.get('code')}: link {link} does not resolve")
    for framework in ("notice", "digcomporg", "szxy2020"):
        covered = {
            s["ref"] for ind in all_indicators for s in ind.get("sources", []) if s["framework"] == framework
        }
        missing = set(sources.get(framework, {}).get("elements", {})) - covered
        if missing:
            problems.append(f"crosswalk {framework}: no indicator draws on {', '.join(sorted(missing))}")
    for code, variant in data.get("institution_types", {}).items():
        for na in variant.get("not_applicable", []):
            if na not in indicator_codes:
                problems.append(f"institution type {code}: not_applicable {na} is no indicator")
        if not set(variant.get("groups", [])) <= set(GROUPS):
            problems.append(f"institution type {code}: unknown group")
    return problems


def _scoring_problems(spec: dict, kind: str) -> list[str]:
    if kind == "objective" and spec.get("kind") not in OBJECTIVE_KINDS:
        return [f"kind must be one of {', '.join(OBJECTIVE_KINDS)}"]
    if spec.get("kind") == "boolean":
        return [] if spec.get("yes_level") in LEVELS else ["yes_level must be 1..5"]
    bands = spec.get("bands", [])
    if len(bands) != 4 or any(b >= c for b, c in zip(bands, bands[1:], strict=False)):
        return ["bands need four ascending thresholds (levels 2..5)"]
    if kind == "objective" and not spec.get("min", 0) <= bands[0] <= bands[-1] <= spec.get("max", 0):
        return ["bands must lie within min..max"]
    return []


def validate(data: dict) -> None:
    problems = _problems(data)
    if problems:
        raise ModelError(problems)


def build(data: dict) -> MaturityModel:
    """Validate the data and build the model with its graph."""
    validate(data)
    g = nx.DiGraph(version=data["version"], format=data["format"])
    g.add_node(
        "ROOT", kind="model", code="ROOT", name_zh="数字化成熟度模型", name_en="Digital maturity model"
    )
    model = MaturityModel(data=data, graph=g)
    for area in data["areas"]:
        g.add_node(
            area["code"], kind="area", code=area["code"], name_zh=area["name_zh"], name_en=area["name_en"]
        )
        g.add_edge("ROOT", area["code"], relation="contains")
        for sub in area["sub_areas"]:
            g.add_node(
                sub["code"], kind="sub_area", code=sub["code"], name_zh=sub["name_zh"], name_en=sub["name_en"]
            )
            g.add_edge(area["code"], sub["code"], relation="contains")
            for spec in sub["indicators"]:
                ind = Indicator(
                    code=spec["code"],
                    area=area["code"],
                    sub_area=sub["code"],
                    name_zh=spec["name_zh"],
                    name_en=spec["name_en"],
                    descriptors_zh=tuple(spec["descriptors_zh"]),
                    descriptors_en=tuple(spec["descriptors_en"]),
                    sources=tuple(spec["sources"]),
                    weight=float(spec.get("weight", 1.0)),
                    questionnaire=spec.get("questionnaire"),
                    objective=spec.get("objective"),
                    literacy=spec.get("literacy"),
                    scenario=spec.get("scenario"),
                    links=tuple(spec.get("links", [])),
                )
                model.indicators[ind.code] = ind
                g.add_node(
                    ind.code, kind="indicator", code=ind.code, name_zh=ind.name_zh, name_en=ind.name_en
                )
                g.add_edge(sub["code"], ind.code, relation="contains")
    for ind in model.indicators.values():
        for link in ind.links:
            g.add_edge(ind.code, link, relation="supports", source="platform")
    tree = nx.DiGraph([(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "contains"])
    if not nx.is_arborescence(tree):
        raise ModelError(["the contains edges do not form one tree"])
    if not nx.is_directed_acyclic_graph(g):
        raise ModelError(["the links form a cycle"])
    return model


def load_data(path: Path = MODEL_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def maturity_model() -> MaturityModel:
    """The platform's current model (cached; treat as read-only)."""
    return build(load_data())
