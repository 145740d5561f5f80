"""Keyset pages of long lists: every member reached once going forward, the same pages going back,
search and sort, and set-based summaries that agree with the member-by-member computation."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from competency.extensions import db
from competency.models import Plan, User
from competency.services import cohort_results, cohort_summary, institutions, layering, paging, plans
from tests.app.conftest import login
from tests.app.test_query_counts import _add_members, world  # noqa: F401 (fixture)

NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
PREV = re.compile(r'<a rel="prev" href="([^"]+)"')


def _walk(client, url: str, pattern: str, link: re.Pattern) -> list[list[str]]:
    pages = []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(re.findall(pattern, page))
        found = link.search(page)
        url = url.split("?")[0] + html.unescape(found.group(1)) if found else None
    return pages


def test_members_page_walks_forward_and_back(client, world):  # noqa: F811
    cohort, assessment, assignment, institution = world
    _add_members(cohort, assessment, institution, 0, 120)
    login(client, "coach")
    url = f"/cohorts/{cohort.id}"
    forward = _walk(client, url, r'<tr data-member="([^"]+)"', NEXT)
    assert [len(p) for p in forward] == [50, 50, 20]
    names = [n for p in forward for n in p]
    assert names == sorted(names) and len(set(names)) == 120
    # From the last page, "previous" gives back the same pages in reverse.
    last = client.get(url).get_data(as_text=True)
    link = html.unescape(NEXT.search(last).group(1))
    second = client.get(url + link).get_data(as_text=True)
    third = client.get(url + html.unescape(NEXT.search(second).group(1))).get_data(as_text=True)
    back = client.get(url + html.unescape(PREV.search(third).group(1))).get_data(as_text=True)
    assert re.findall(r'<tr data-member="([^"]+)"', back) == forward[1]
    assert 'data-total="120"' in back


def test_search_and_sort(client, world):  # noqa: F811
    cohort, assessment, assignment, institution = world
    _add_members(cohort, assessment, institution, 0, 30)
    login(client, "coach")
    page = client.get(f"/cohorts/{cohort.id}?q=m001&sort=name&order=desc").get_data(as_text=True)
    assert re.findall(r'<tr data-member="([^"]+)"', page) == [f"m00{i}" for i in range(19, 9, -1)]
    # Wildcards in the search are taken literally.
    assert institutions.member_page(cohort, q="%").total == 0
    assert institutions.member_page(cohort, q="成员0002").total == 1
    boss = client.application.test_client()
    login(boss, "boss")
    users = boss.get("/admin/users?q=coach").get_data(as_text=True)
    assert re.findall(r'<tr data-user="([^"]+)"', users) == ["coach"]


def test_bad_cursors_fall_back_to_the_first_page(world):  # noqa: F811
    cohort, assessment, assignment, institution = world
    _add_members(cohort, assessment, institution, 0, 5)
    assert paging.decode("not a cursor!") is None
    assert paging.decode(paging.encode("m0003", 7)) == ("m0003", 7)
    page = institutions.member_page(cohort, after="%%%")
    assert page.first and [u.username for u, _layer in page.rows][0] == "m0000"


def test_set_based_summary_matches_the_member_by_member_results(client, world):  # noqa: F811
    cohort, assessment, assignment, institution = world
    _add_members(cohort, assessment, institution, 0, 37)
    full = cohort_results.results(assignment)
    summary = cohort_summary.summary(assignment)
    assert summary.members == len(full.members) == 37
    assert (summary.graded, summary.in_progress, summary.not_started) == (
        len(full.graded),
        len(full.in_progress),
        len(full.not_started),
    )
    assert summary.distribution == full.distribution()
    assert summary.dimensions == full.dimensions and summary.indicators == full.indicators
    cells = {code: {} for code in full.indicators}
    for _user, row in full.heatmap():
        for code, level in row.items():
            if level:
                cells[code][level] = cells[code].get(level, 0) + 1
    assert {c: {lv: n for lv, n in v.items() if n} for c, v in summary.indicator_levels.items()} == cells
    waiting = cohort_summary.waiting_page(assignment, "not_started", size=200)
    assert [u.username for (u,) in waiting.rows] == [m.user.username for m in full.not_started]
    login(client, "coach")
    page = client.get(f"/trainer/cohorts/{cohort.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert f'<dd data-count="graded">{len(full.graded)}</dd>' in page
    assert 'id="indicator-levels-table"' in page


def test_progress_rows_match_the_plans(client, world):  # noqa: F811
    cohort, assessment, assignment, institution = world
    _add_members(cohort, assessment, institution, 0, 12)
    coach = db.session.scalar(select(User).where(User.username == "coach"))
    layering.layer_cohort(cohort, assignment, "overall", coach)
    plan = db.session.scalars(select(Plan).where(Plan.archived_at.is_(None))).first()
    stage0 = [t for t in plan.tasks if t.stage == 0]
    for task in stage0:
        task.done_at = plan.created_at
    db.session.commit()
    rows = {p.user.id: p for p in layering.progress(cohort)}
    mine = rows[plan.user_id]
    assert (mine.done, mine.total) == plans.progress(plan)
    assert mine.reassess is plans.reassessment_suggested(plan) is True
    assert mine.stage == 1 and mine.plan_id == plan.id
    assert sum(1 for p in rows.values() if p.plan_id) == 4  # the graded members (every third of 12)
