"""Reading the versioned data files into validated graphs, scales and profiles.

Loading is all-or-nothing: every file is parsed and validated first, and only a data set
with no problem at all is built. Accessors hand out copies so callers cannot corrupt a
cached data set.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx as nx

from competency.graph.errors import MapValidationError, Problem
from competency.graph.profiles import CareerStage, Industry, JobProfile, Task, TeacherCategory
from competency.graph.scales import LevelScale, scale_from_dict
from competency.graph.validation import validate_documents

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST = "manifest.json"
FILE_KEYS = ("level_scales", "teacher_map", "teacher_targets", "student_indicators", "job_profiles")


def _read_json(path: Path, problems: list[Problem]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        problems.append(Problem(path.name, None, None, "file not found"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(path.name, None, None, f"invalid JSON: {exc}"))
    return None


def read_documents(
    directory: Path | str | None = None,
) -> tuple[str | None, dict[str, tuple[str, Any]], list[Problem]]:
    """Parse the manifest and the files it names; returns (version, docs, parse problems)."""
    base = Path(directory) if directory is not None else DATA_DIR
    problems: list[Problem] = []
    manifest = _read_json(base / MANIFEST, problems)
    version: str | None = None
    files: Mapping[str, str] = {key: f"{key}.json" for key in FILE_KEYS}
    if isinstance(manifest, dict):
        version = manifest.get("version") if isinstance(manifest.get("version"), str) else None
        if version is None:
            problems.append(Problem(MANIFEST, None, "version", "missing version"))
        if isinstance(manifest.get("files"), dict):
            files = {**files, **manifest["files"]}
        else:
            problems.append(Problem(MANIFEST, None, "files", "missing file list"))
    docs: dict[str, tuple[str, Any]] = {}
    for key in FILE_KEYS:
        name = files[key]
        doc = _read_json(base / name, problems)
        if doc is not None:
            docs[key] = (name, doc)
    return version, docs, problems


def validate(directory: Path | str | None = None) -> list[Problem]:
    """Every problem in a data directory (empty list = valid)."""
    version, docs, problems = read_documents(directory)
    return problems + validate_documents(docs, version)


def _map_graph(doc: Mapping[str, Any], kind: str, version: str) -> nx.DiGraph:
    meta = doc.get("metadata", {})
    graph = nx.DiGraph(
        id=doc["id"],
        kind=kind,
        version=doc["version"],
        data_version=version,
        scale=doc["scale"],
        title_zh=meta.get("title_zh", ""),
        title_en=meta.get("title_en", ""),
        status=meta.get("status", ""),
    )
    student = kind == "student_indicators"
    for node in doc["nodes"]:
        attrs = {k: copy.deepcopy(v) for k, v in node.items() if k != "parent"}
        if student:
            attrs.setdefault("role_specific", False)
            attrs.setdefault("industry", None)
        graph.add_node(node["code"], **attrs)
    for node in doc["nodes"]:
        if node.get("parent"):
            graph.add_edge(node["parent"], node["code"], relation="contains")
    for edge in doc.get("prerequisites", []):
        graph.add_edge(
            edge["from"],
            edge["to"],
            relation="prerequisite",
            source=edge["source"],
            reason_zh=edge.get("reason_zh", ""),
            reason_en=edge.get("reason_en", ""),
        )
    return graph


class Dataset:
    """One validated, versioned set of graph data. Accessors return copies."""

    def __init__(self, version: str, docs: Mapping[str, tuple[str, Any]]):
        self.version = version
        self._docs = {key: doc for key, (_, doc) in docs.items()}
        self._scales = {
            s["name"]: scale_from_dict(s, docs["level_scales"][1]["version"])
            for s in self._docs["level_scales"]["scales"]
        }
        self._teacher = _map_graph(self._docs["teacher_map"], "teacher_map", version)
        self._student = _map_graph(self._docs["student_indicators"], "student_indicators", version)
        jobs = self._docs["job_profiles"]
        self._industries = tuple(
            Industry(i["code"], i["name_zh"], i["name_en"], i["indicator"]) for i in jobs["industries"]
        )
        by_code = {i.code: i for i in self._industries}
        self._jobs = tuple(
            JobProfile(
                code=r["code"],
                name_zh=r["name_zh"],
                name_en=r["name_en"],
                industry=r["industry"],
                industry_zh=by_code[r["industry"]].name_zh,
                industry_en=by_code[r["industry"]].name_en,
                description_zh=r["description_zh"],
                description_en=r["description_en"],
                typical_tasks=tuple(Task(t["zh"], t["en"]) for t in r["typical_tasks"]),
                requirements=MappingProxyType(dict(r["requirements"])),
                version=jobs["version"],
            )
            for r in jobs["roles"]
        )
        self._targets = self._docs["teacher_targets"]
        self._stages = tuple(
            CareerStage(s["code"], s["name_zh"], s["name_en"], s["description_zh"], s["description_en"])
            for s in self._targets["stages"]
        )
        self._categories = self._expand_categories()

    def _expand_categories(self) -> tuple[TeacherCategory, ...]:
        out: list[TeacherCategory] = []
        for cat in self._targets["categories"]:
            base = TeacherCategory(
                cat["code"], cat["name_zh"], cat["name_en"], cat["description_zh"], cat["description_en"]
            )
            out.append(base)
            if cat.get("per_industry"):
                for ind in self._industries:
                    out.append(
                        TeacherCategory(
                            f"{cat['code']}-{ind.code}",
                            f"{cat['name_zh']}（{ind.name_zh}）",
                            f"{cat['name_en']} ({ind.name_en})",
                            cat["description_zh"],
                            cat["description_en"],
                            industry=ind.code,
                        )
                    )
        return tuple(out)

    # -- graphs ---------------------------------------------------------------------------------
    def teacher_map(self) -> nx.DiGraph:
        return copy.deepcopy(self._teacher)

    def student_indicators(self) -> nx.DiGraph:
        return copy.deepcopy(self._student)

    # -- scales, profiles ---------------------------------------------------------------------------
    def level_scale(self, name: str) -> LevelScale:
        try:
            return self._scales[name]
        except KeyError as exc:
            raise KeyError(f"unknown level scale {name!r}; known: {sorted(self._scales)}") from exc

    def level_scales(self) -> dict[str, LevelScale]:
        return dict(self._scales)

    def industries(self) -> list[Industry]:
        return list(self._industries)

    def job_profiles(self) -> list[JobProfile]:
        return list(self._jobs)

    def job_profile(self, code: str) -> JobProfile:
        for job in self._jobs:
            if job.code == code:
                return job
        raise KeyError(f"unknown job role {code!r}")

    def digcompedu(self) -> list[dict[str, str]]:
        """The DigCompEdu areas and competences the teacher map is crosswalked to."""
        return copy.deepcopy(self._docs["teacher_map"]["crosswalk_targets"]["digcompedu"]["items"])

    # -- teacher classification and stages --------------------------------------------------------
    def teacher_categories(self) -> list[TeacherCategory]:
        return list(self._categories)

    def career_stages(self) -> list[CareerStage]:
        return list(self._stages)

    def teacher_targets(self, category: str, stage: str, *, indicators: bool = False) -> dict[str, str]:
        """Target teacher level per dimension (and indicator overrides) for a category and stage.

        With ``indicators=True`` every indicator gets a target: its own override, else its
        dimension's target. ``specialty-<INDUSTRY>`` raises that industry's focus indicators by one level.
        """
        base_code, _, industry = category.partition("-")
        cats = {c["code"]: c for c in self._targets["categories"]}
        known = {c.code for c in self._categories}
        if category not in known:
            raise KeyError(f"unknown teacher category {category!r}; known: {sorted(known)}")
        if stage not in {s.code for s in self._stages}:
            raise KeyError(f"unknown career stage {stage!r}; known: {[s.code for s in self._stages]}")
        cat = cats[base_code]
        targets: dict[str, str] = dict(cat["dimension_targets"][stage])
        overrides: dict[str, str] = dict((cat.get("indicator_targets") or {}).get(stage, {}))
        scale = self.level_scale(self._targets["scale"])
        dimension_of = {
            code: code.split(".")[0]
            for code, data in self._teacher.nodes(data=True)
            if data["kind"] == "indicator"
        }
        for code in self._targets.get("industry_focus", {}).get(industry, []) if industry else []:
            current = overrides.get(code, targets[dimension_of[code]])
            raised = scale.next_level(current)
            overrides[code] = raised.code if raised else current
        if indicators:
            for code, dim in dimension_of.items():
                targets[code] = overrides.get(code, targets[dim])
        else:
            targets.update(overrides)
        return targets


def load(directory: Path | str | None = None) -> Dataset:
    """Load and validate a data directory; raises MapValidationError listing every problem."""
    version, docs, problems = read_documents(directory)
    problems += validate_documents(docs, version)
    if problems:
        raise MapValidationError(problems)
    assert version is not None
    return Dataset(version, docs)
