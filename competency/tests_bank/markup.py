"""The small markup subset allowed in stems, options and explanations, checked with nh3.

Import policy: markup that sanitising would change is *unsafe* and refused (never silently
cleaned). "Change" is judged on the parsed token stream (tags and unescaped text), so harmless
spelling differences such as ``<br/>`` versus ``<br>`` or ``a < b`` versus ``a &lt; b`` pass,
while disallowed tags, any attribute, comments and unbalanced tags do not.
Accepted text is stored in one canonical spelling (:func:`canonical_markup`).
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = frozenset({"b", "i", "em", "strong", "code", "br", "ul", "ol", "li", "p", "sub", "sup"})
VOID_TAGS = frozenset({"br"})

Token = tuple[str, str, tuple[tuple[str, str | None], ...]]  # (kind, tag or text, attributes)


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []

    def _text(self, text: str) -> None:
        if self.tokens and self.tokens[-1][0] == "text":
            self.tokens[-1] = ("text", self.tokens[-1][1] + text, ())
        else:
            self.tokens.append(("text", text, ()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("start", tag, tuple(sorted(attrs, key=lambda kv: (kv[0], kv[1] or "")))))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(("end", tag, ()))

    def handle_data(self, data: str) -> None:
        self._text(data)

    def handle_comment(self, data: str) -> None:
        self.tokens.append(("comment", data, ()))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(("decl", decl, ()))

    def handle_pi(self, data: str) -> None:
        self.tokens.append(("pi", data, ()))

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(("decl", data, ()))


def tokens(text: str) -> list[Token]:
    parser = _Tokens()
    parser.feed(text)
    parser.close()
    return parser.tokens


def sanitise(text: str) -> str:
    """nh3-clean ``text`` to the allowed subset (no attributes, no comments)."""
    return nh3.clean(text, tags=set(ALLOWED_TAGS), attributes={}, strip_comments=True)


def markup_problems(text: str) -> list[str]:
    """Why sanitising would change ``text``; empty when the markup is within the allowed subset."""
    original = tokens(text)
    if original == tokens(sanitise(text)):
        return []
    problems: list[str] = []
    bad_tags = sorted({t[1] for t in original if t[0] in ("start", "end") and t[1] not in ALLOWED_TAGS})
    if bad_tags:
        problems.append("tags not allowed: " + ", ".join(f"<{t}>" for t in bad_tags))
    bad_attrs = sorted({f"{t[1]} {name}" for t in original if t[0] == "start" for name, _ in t[2]})
    if bad_attrs:
        problems.append("attributes are not allowed: " + ", ".join(bad_attrs))
    if any(t[0] in ("comment", "decl", "pi") for t in original):
        problems.append("comments, declarations and processing instructions are not allowed")
    if not problems:
        problems.append("unbalanced or misnested tags (sanitising would rewrite them)")
    return problems


def canonical_markup(text: str) -> str:
    """One spelling of safe markup: bare allowed tags, ``<br>``, text escaped (``& < >``), "\\n" newlines."""
    out: list[str] = []
    for kind, value, _ in tokens(text.replace("\r\n", "\n").replace("\r", "\n")):
        if kind == "text":
            out.append(html.escape(value, quote=False))
        elif kind == "start":
            out.append(f"<{value}>")
        elif kind == "end" and value not in VOID_TAGS:
            out.append(f"</{value}>")
    return "".join(out)


def plain_text(text: str) -> str:
    """The text content without tags (for titles and spreadsheets previews)."""
    return "".join(value for kind, value, _ in tokens(text) if kind == "text")
