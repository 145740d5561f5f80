"""Moodle GIFT: single choice, multiple choice with weights, true/false; ordered items as single
choice with partial credit; sequence items as matching questions (option -> position).

Convention (templates/FORMAT.md): each question is preceded by one comment line
``// @competency {JSON}`` carrying the fields GIFT has no place for (id, type, node, tags, roles,
lang, level, status, scoring, media, irt). Moodle ignores the comment. The question title
``::id::`` repeats the id. Without the comment, ``$CATEGORY:`` paths whose last segment is a node
code supply the node, the title the id, and the type is read from the answer weights:

* one ``=`` answer, the others plain ``~``             → single
* no ``=``, ``~%w%`` weights, some positive             → multiple (key = positive weights)
* one ``=`` plus ``~%w%`` answers with 0 < w < 100       → ordered (categories = ranks of weights)
* ``{T}``/``{TRUE}``/``{F}``/``{FALSE}``                  → truefalse
* matching ``=option -> n``, the n a permutation of 1..N  → sequence (key = options by n)

GIFT has no put-in-order question, so a sequence item is written as the matching question
"match each option, in its authored order, to its position 1..N in the correct order". Moodle
imports it (for N ≥ 3: Moodle wants three answers) and grades it per option in the right place;
the scoring rule we use stays in the ``// @competency`` comment. Other matching questions are refused.

Export weights: multiple: key options +100/k %, others −100/k % (Moodle then scores right minus
wrong, floored at 0, which is our "partial" rule); ordered: category j of K gets 100·j/(K−1) %.
``####`` carries the explanation. Texts are written with ``[html]`` and GIFT escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from competency.tests_bank.formats import load, save
from competency.tests_bank.problems import RawBank, RawItem
from competency.tests_bank.schema import OPTION_KEYS, Item, ItemType

META_PREFIX = "// @competency "
META_FIELDS = ("id", "type", "node", "tags", "roles", "lang", "level", "status", "scoring", "media", "irt")
BODY_FIELDS = ("stem", "options", "key", "scores", "explanation")
SPECIAL = "~=#{}:"
NODE_CODE = re.compile(r"^[TS]\d+(\.\d+)*$")
WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
FORMAT_MARKER = re.compile(r"^\[(html|moodle|plain|markdown)\]")
TRUEFALSE = re.compile(r"^(T|TRUE|F|FALSE)\s*(#.*)?$", re.IGNORECASE | re.DOTALL)


def escape(text: str) -> str:
    out = text.replace("\\", "\\\\")
    for ch in SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", "\\n")


def unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt == "n" else nxt)
        else:
            out.append(ch)
    return "".join(out)


def _find(text: str, target: str, start: int = 0) -> int:
    """Index of the first unescaped ``target`` at or after ``start``; −1 if none."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(target, i):
            return i
        i += 1
    return -1


def _rfind(text: str, target: str) -> int:
    found, i = -1, _find(text, target)
    while i != -1:
        found, i = i, _find(text, target, i + 1)
    return found


def _weight(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".")


def _question_blocks(
    text: str, raw: RawBank
) -> list[tuple[int, list[str], dict[str, Any] | None, str | None]]:
    """(first line, lines, metadata, category) per question; metadata problems are reported."""
    blocks: list[tuple[int, list[str], dict[str, Any] | None, str | None]] = []
    lines: list[str] = []
    start = 0
    meta: dict[str, Any] | None = None
    category: str | None = None

    def flush() -> None:
        nonlocal lines, meta
        if lines:
            blocks.append((start, lines, meta, category))
            meta = None
        lines = []

    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            flush()
        elif stripped.startswith(META_PREFIX.strip()):
            flush()
            try:
                parsed = json.loads(stripped[len(META_PREFIX.strip()) :])
            except ValueError as exc:
                raw.problem(f"line {number}", "@competency", f"malformed JSON: {exc}")
                parsed = {}
            if not isinstance(parsed, dict):
                raw.problem(f"line {number}", "@competency", "must be a JSON object")
                parsed = {}
            meta = parsed
        elif stripped.startswith("//"):
            continue
        elif stripped.startswith("$CATEGORY:") and not lines:
            category = stripped[len("$CATEGORY:") :].strip()
        else:
            if not lines:
                start = number
            lines.append(line)
    flush()
    return blocks


def _split_answers(block: str) -> list[tuple[str, str]] | None:
    """(marker, raw body) per ``=``/``~`` answer of a block; None if the block is not a list of them."""
    positions, i = [], 0
    while i < len(block):
        if block[i] == "\\":
            i += 2
            continue
        if block[i] in "=~":
            positions.append(i)
        i += 1
    if not positions or block[: positions[0]].strip():
        return None
    ends = positions[1:] + [len(block)]
    return [(block[pos], block[pos + 1 : end].strip()) for pos, end in zip(positions, ends, strict=True)]


def _matching(block: str) -> list[tuple[str, str]] | None:
    """(option, target) per ``=option -> target`` answer of a matching block; None if not one."""
    split = _split_answers(block)
    if split is None or len(split) < 2 or any(marker != "=" for marker, _ in split):
        return None
    pairs = []
    for _, body in split:
        arrow = body.rfind("->")  # targets are position numbers, so the last arrow is the one
        if arrow == -1:
            return None
        pairs.append((unescape(body[:arrow]).strip(), unescape(body[arrow + 2 :]).strip()))
    return pairs


def _answers(block: str) -> list[tuple[str, float | None, str]] | None:
    """(marker, weight, text) per answer of a choice block; None if the block is not one."""
    split = _split_answers(block)
    if split is None:
        return None
    answers = []
    for marker, body in split:
        weight = None
        match = WEIGHT.match(body)
        if match:
            weight = float(match.group(1))
            body = body[match.end() :]
        feedback = _find(body, "#")
        text = body if feedback == -1 else body[:feedback]
        answers.append((marker, weight, unescape(text).strip()))
    return answers


def _infer_type(answers: list[tuple[str, float | None, str]]) -> ItemType | None:
    right = [a for a in answers if a[0] == "="]
    weights = [a[1] or 0.0 for a in answers if a[0] == "~"]
    if len(right) == 1 and all(w == 0 for w in weights):
        return ItemType.SINGLE
    if not right and any(w > 0 for w in weights):
        return ItemType.MULTIPLE
    if len(right) == 1 and all(0 <= w < 100 for w in weights):
        return ItemType.ORDERED
    return None


def _parse(lines: list[str], location: str, raw: RawBank) -> dict[str, Any] | None:
    text = "\n".join(lines).strip()
    data: dict[str, Any] = {}
    if text.startswith("::"):
        end = _find(text, "::", 2)
        if end == -1:
            raw.problem(location, "title", "unclosed ::title::")
            return None
        data["id"] = unescape(text[2:end]).strip()
        text = text[end + 2 :]
    open_at, close_at = _find(text, "{"), _rfind(text, "}")
    if open_at == -1 or close_at < open_at:
        raw.problem(location, "answers", "no {…} answer block (descriptions are not items)")
        return None
    if text[close_at + 1 :].strip():
        raw.problem(
            location, "answers", "text after the answer block (missing-word questions are not supported)"
        )
        return None
    stem = FORMAT_MARKER.sub("", text[:open_at].strip())
    data["stem"] = unescape(stem).strip()
    block = text[open_at + 1 : close_at]
    general = _find(block, "####")
    if general != -1:
        data["explanation"] = unescape(block[general + 4 :]).strip()
        block = block[:general]
    block = block.strip()
    match = TRUEFALSE.match(block)
    if match:
        data["type"] = ItemType.TRUEFALSE
        data["key"] = match.group(1).upper().startswith("T")
        return data
    matching = _matching(block)
    if matching is not None:
        data["options"] = [{"key": _option_key(i), "text": text} for i, (text, _) in enumerate(matching)]
        data["_positions"] = [target for _, target in matching]
        return data
    answers = _answers(block)
    if answers is None:
        raw.problem(
            location,
            "answers",
            "unsupported GIFT question (use =right ~wrong, ~%w% weights, {T}/{F} or =option -> position)",
        )
        return None
    data["options"] = [{"key": _option_key(i), "text": a[2]} for i, a in enumerate(answers)]
    data["_answers"] = answers
    return data


def _option_key(index: int) -> str:
    return OPTION_KEYS[index] if index < len(OPTION_KEYS) else f"#{index + 1}"


def _apply_type(data: dict[str, Any], item_type: Any, location: str, raw: RawBank) -> None:
    if "_positions" in data:
        _apply_positions(data, item_type, location, raw)
        return
    answers = data.pop("_answers", None)
    if answers is None:
        if item_type not in (None, ItemType.TRUEFALSE, "truefalse"):
            raw.problem(location, "type", f"metadata says {item_type!r} but the answers are true/false")
        return
    item_type = item_type or _infer_type(answers)
    keys = [o["key"] for o in data["options"]]
    weights = [100.0 if marker == "=" and w is None else (w or 0.0) for marker, w, _ in answers]
    if item_type == ItemType.SINGLE:
        right = [k for k, (marker, _, _) in zip(keys, answers, strict=True) if marker == "="]
        if len(right) != 1:
            raw.problem(location, "key", "a single-choice question needs exactly one =answer")
        data["key"] = right[0] if right else None
    elif item_type == ItemType.MULTIPLE:
        data["key"] = [k for k, w in zip(keys, weights, strict=True) if w > 0]
    elif item_type == ItemType.ORDERED:
        ranks = sorted(set(weights))
        data["scores"] = {k: ranks.index(w) for k, w in zip(keys, weights, strict=True)}
    elif item_type == ItemType.SEQUENCE:
        raw.problem(location, "answers", "write a sequence item as a matching question: =option -> position")
        return
    else:
        raw.problem(location, "type", "cannot tell the item type from the answer weights; add // @competency")
        return
    data["type"] = item_type


def _apply_positions(data: dict[str, Any], item_type: Any, location: str, raw: RawBank) -> None:
    """A matching question read as a sequence: the key lists the options by their position."""
    positions: list[str] = data.pop("_positions")
    if item_type not in (None, ItemType.SEQUENCE):
        raw.problem(location, "type", f"metadata says {item_type!r} but the answers are a matching question")
        return
    expected = [str(i) for i in range(1, len(positions) + 1)]
    if sorted(positions, key=lambda p: (len(p), p)) != expected:
        raw.problem(
            location,
            "key",
            "matching questions are read only as sequences: match every option to a different "
            f"position 1..{len(positions)}, not {', '.join(positions)}",
        )
        return
    keys = [o["key"] for o in data["options"]]
    data["key"] = [key for _, key in sorted(zip(map(int, positions), keys, strict=True))]
    data["type"] = ItemType.SEQUENCE


def read(source: str | Path | bytes, *, name: str | None = None) -> RawBank:
    data, name = load(source, name)
    raw = RawBank(name)
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raw.problem(f"byte {exc.start}", "", "the file is not UTF-8 text")
        return raw
    for start, lines, meta, category in _question_blocks(text, raw):
        location = f"line {start}"
        parsed = _parse(lines, location, raw)
        if parsed is None:
            continue
        meta = dict(meta or {})
        for field in BODY_FIELDS:
            if field in meta:
                raw.problem(location, f"@competency.{field}", "belongs in the question body, not the comment")
                meta.pop(field)
        if "id" in parsed and "id" in meta and parsed["id"] != meta["id"]:
            raw.problem(location, "id", f"title {parsed['id']!r} differs from metadata id {meta['id']!r}")
        if "node" not in meta and category:
            last = category.rstrip("/").split("/")[-1].strip()
            if NODE_CODE.match(last):
                meta["node"] = last
        _apply_type(parsed, meta.pop("type", None), location, raw)
        parsed.update(meta)
        raw.items.append(RawItem(location, parsed))
    return raw


def _metadata(item: Item) -> str:
    full = item.to_dict()
    meta = {field: full[field] for field in META_FIELDS if field in full}
    return META_PREFIX + json.dumps(meta, ensure_ascii=False, allow_nan=False)


def _block(item: Item) -> list[str]:
    if item.type is ItemType.TRUEFALSE:
        return ["TRUE" if item.key else "FALSE"]

    def answer(marker: str, weight: str | None, text: str) -> str:
        # a text that itself starts with "%" needs an explicit weight so it is not read as one
        if weight is None and text.startswith("%"):
            weight = "100" if marker == "=" else "0"
        return marker + (f"%{weight}%" if weight is not None else "") + escape(text)

    if item.type is ItemType.SINGLE:
        return [answer("=" if o.key == item.key else "~", None, o.text) for o in item.options]
    if item.type is ItemType.SEQUENCE:
        position = {key: n for n, key in enumerate(item.key or (), start=1)}  # type: ignore[arg-type]
        return [f"={escape(o.text)} -> {position[o.key]}" for o in item.options]
    if item.type is ItemType.MULTIPLE:
        keys = set(item.key or ())  # type: ignore[arg-type]
        share = _weight(100 / len(keys))
        return [answer("~", share if o.key in keys else "-" + share, o.text) for o in item.options]
    scores = item.score_map
    top = max(scores.values())
    lines = []
    for o in item.options:
        k = scores[o.key]
        if k == top:
            lines.append(answer("=", None, o.text))
        else:
            lines.append(answer("~", _weight(100 * k / top) if k else None, o.text))
    return lines


def dumps(items: Sequence[Item], *, bank: str) -> bytes:
    out = [f"// {bank}: competency.items/1 as Moodle GIFT (see FORMAT.md)", ""]
    for item in items:
        out.append(_metadata(item))
        out.append(f"::{escape(item.id)}::[html]{escape(item.stem)}{{")
        out.extend(_block(item))
        if item.explanation:
            out.append("####" + escape(item.explanation))
        out.append("}")
        out.append("")
    return "\n".join(out).encode("utf-8")


def write(items: Sequence[Item], path: str | Path | None = None, *, bank: str = "export") -> bytes:
    return save(dumps(items, bank=bank), path)
