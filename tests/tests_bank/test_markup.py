"""The allowed markup subset and the unsafe-markup rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competency.tests_bank.markup import canonical_markup, markup_problems, plain_text, sanitise


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "a < b & c > d",
        "<b>x</b><br/>y",
        "<ul><li>1</li><li>2</li></ul>",
        "H<sub>2</sub>O e=mc<sup>2</sup>",
        "<p>p</p><p><code>x</code></p>",
        "&lt;script&gt;",
        "中文<strong>粗体</strong>",
    ],
)
def test_safe(text):
    assert markup_problems(text) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<script>alert(1)</script>", "<script>"),
        ("<a href='x'>x</a>", "<a>"),
        ("<b style='color:red'>x</b>", "b style"),
        ("<!-- hidden -->x", "comments"),
        ("<div>x</div>", "<div>"),
        ("<b>x", "unbalanced"),
        ("<svg onload=alert(1)>", "<svg>"),
        ("<p><ul><li>x</li></ul></p>", "unbalanced"),
    ],
)
def test_unsafe(text, fragment):
    problems = markup_problems(text)
    assert problems and fragment in "; ".join(problems)


PIECES = list("ab <>&/;=\"'\n\r") + ["<b>", "</b>", "<br>", "<i>", "</i>", "&amp;", "<script>", "<p>", "</p>"]


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_canonical_form_is_stable_and_safe(text):
    if markup_problems(text):
        return
    canonical = canonical_markup(text)
    assert canonical_markup(canonical) == canonical
    assert markup_problems(canonical) == []
    assert plain_text(canonical) == plain_text(text).replace("\r\n", "\n").replace("\r", "\n")
    assert canonical_markup(sanitise(canonical)) == canonical
