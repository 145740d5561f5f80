"""Item-bank pages: the difficulty filter pages in the database, names instead of codes, readable keys."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Item, ItemParams
from competency.web.items import PAGE_SIZE
from tests.app.conftest import login


def _expected(lo: float, hi: float) -> int:
    stmt = (
        select(func.count())
        .select_from(Item)
        .join(ItemParams, (ItemParams.item_id == Item.id) & (ItemParams.version == Item.current_version))
        .where(ItemParams.b >= lo, ItemParams.b <= hi)
    )
    return db.session.scalar(stmt)


def _rows(page: str) -> int:
    return len(re.findall(r'<td data-label="[^"]*"><a href="/admin/items/', page))


def test_difficulty_filter_is_applied_before_paging(client, make_user, bank):
    make_user("platform_admin", "root")
    login(client, "root")
    expected = _expected(-0.5, 1.5)
    assert expected > PAGE_SIZE  # more than one page, so paging matters
    first = client.get("/admin/items/?bmin=-0.5&bmax=1.5").get_data(as_text=True)
    assert f"共 {expected} 道题符合条件" in first  # the total counts every match, not one page's
    assert _rows(first) == PAGE_SIZE  # a full first page, not a shrunken one
    last_page = (expected - 1) // PAGE_SIZE + 1
    last = client.get(f"/admin/items/?bmin=-0.5&bmax=1.5&page={last_page}").get_data(as_text=True)
    assert _rows(last) == expected - (last_page - 1) * PAGE_SIZE
    # Every listed b is inside the range.
    for b in re.findall(r'<td data-label="b">(-?\d+\.\d+)</td>', first + last):
        assert -0.5 <= float(b) <= 1.5
    # A typo in a number is ignored rather than failing the page.
    assert client.get("/admin/items/?bmin=abc").status_code == 200


def test_filters_and_item_page_show_names_counts_and_readable_keys(client, make_user, bank):
    make_user("platform_admin", "root")
    login(client, "root")
    page = client.get("/admin/items/?status=operational").get_data(as_text=True)
    assert "单项选择" in page or "Single choice" in page
    assert ">single<" not in page and ">operational<" not in page
    code = db.session.scalar(select(Item.code).where(Item.type == "multiple").limit(1))
    detail = client.get(f"/admin/items/{code}").get_data(as_text=True)
    assert "('" not in detail  # no Python tuple for a multiple-choice key
    key = re.search(r"<strong data-key>([^<]+)</strong>", detail).group(1)
    assert re.fullmatch(r"[A-F](, [A-F])+", key)
    # Times administered: the same count as in the list (0 here), never blank.
    assert re.search(r"<dd>0</dd>", detail)


def test_node_and_code_filters_match_what_they_name(client, make_user, bank):
    """A node filter means that node and the nodes below it; the code search is literal text.

    Before, "S6.1" also listed S6.10–S6.12 (a bare prefix) and "%" or "_" in the search were LIKE
    wildcards, so a search for "%" listed the whole bank.
    """
    make_user("platform_admin", "root")
    login(client, "root")
    own = db.session.scalar(select(func.count()).select_from(Item).where(Item.node == "S6.1"))
    assert own and db.session.scalar(select(func.count()).select_from(Item).where(Item.node == "S6.10"))
    page = client.get("/admin/items/?node=S6.1").get_data(as_text=True)
    assert f"共 {own} 道题符合条件" in page
    below = db.session.scalar(select(func.count()).select_from(Item).where(Item.node.like("T1.1.%")))
    assert f"共 {below} 道题符合条件" in client.get("/admin/items/?node=T1.1").get_data(as_text=True)
    for wildcard in ("%25", "_"):
        page = client.get(f"/admin/items/?q={wildcard}").get_data(as_text=True)
        assert "共 0 道题符合条件" in page and _rows(page) == 0
