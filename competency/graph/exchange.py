"""Import/export of maps as JSON (own, documented format) and GraphML.

GraphML only holds scalar attributes, so lists, dicts and nulls travel as JSON text marked
with the prefix ``json:``; ``from_graphml`` restores them, making the round trip exact.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

EXPORT_FORMAT = "competency.graph.export/1"
_PREFIX = "json:"
_GRAPH_ID = "graph_id"


def to_dict(graph: nx.DiGraph) -> dict[str, Any]:
    """A JSON-ready description of a map: graph attributes, nodes in order, edges."""
    return {
        "format": EXPORT_FORMAT,
        "graph": dict(graph.graph),
        "nodes": [{"id": n, "attrs": dict(a)} for n, a in graph.nodes(data=True)],
        "edges": [{"from": u, "to": v, "attrs": dict(a)} for u, v, a in graph.edges(data=True)],
    }


def from_dict(doc: dict[str, Any]) -> nx.DiGraph:
    if doc.get("format") != EXPORT_FORMAT:
        raise ValueError(f"format: expected {EXPORT_FORMAT!r}, found {doc.get('format')!r}")
    graph = nx.DiGraph(**doc.get("graph", {}))
    for node in doc["nodes"]:
        graph.add_node(node["id"], **node.get("attrs", {}))
    for edge in doc["edges"]:
        for end in (edge["from"], edge["to"]):
            if end not in graph:
                raise ValueError(f"edges: dangling reference to unknown node {end!r}")
        graph.add_edge(edge["from"], edge["to"], **edge.get("attrs", {}))
    return graph


def to_json(graph: nx.DiGraph, indent: int | None = 1) -> str:
    return json.dumps(to_dict(graph), ensure_ascii=False, indent=indent)


def from_json(text: str) -> nx.DiGraph:
    return from_dict(json.loads(text))


def _encode(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and not value.startswith(_PREFIX):
        return value
    return _PREFIX + json.dumps(value, ensure_ascii=False, sort_keys=True)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_PREFIX):
        return json.loads(value[len(_PREFIX) :])
    return value


def to_graphml(graph: nx.DiGraph) -> str:
    """GraphML text of a map (UTF-8 XML)."""
    # networkx reserves "id" on the <graph> element, so the map id travels under another key
    out = nx.DiGraph(**{(_GRAPH_ID if k == "id" else k): _encode(v) for k, v in graph.graph.items()})
    for n, attrs in graph.nodes(data=True):
        out.add_node(n, **{k: _encode(v) for k, v in attrs.items()})
    for u, v, attrs in graph.edges(data=True):
        out.add_edge(u, v, **{k: _encode(x) for k, x in attrs.items()})
    return "\n".join(nx.generate_graphml(out, encoding="utf-8"))


def from_graphml(text: str) -> nx.DiGraph:
    parsed = nx.parse_graphml(text, node_type=str)
    graph = nx.DiGraph(
        **{
            ("id" if k == _GRAPH_ID else k): _decode(v)
            for k, v in parsed.graph.items()
            if k not in ("node_default", "edge_default")
        }
    )
    for n, attrs in parsed.nodes(data=True):
        graph.add_node(n, **{k: _decode(v) for k, v in attrs.items()})
    for u, v, attrs in parsed.edges(data=True):
        graph.add_edge(u, v, **{k: _decode(x) for k, x in attrs.items() if k != "id"})
    return graph
