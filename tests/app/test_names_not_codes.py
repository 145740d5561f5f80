"""Pages name things: job roles, dimensions, levels and templates by name, not by code."""

from __future__ import annotations

import re

from competency.extensions import db
from tests.app.conftest import csrf_from, login
from tests.app.outcomes_factory import make_assessment, make_attempt


def test_job_result_names_the_role_and_never_leaves_a_next_step_blank(client, make_user):
    student = make_user("student", "li", target_role="J-BD-01")
    job = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["J-BD-01"]
    )
    attempt = make_attempt(student, job, {"J-BD-01": "J1"}, {"S1.3": "J1", "S1.2": None}, overall="J1")
    login(client, "li")
    page = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "J-BD-01 J-BD-01" not in page
    assert "J-BD-01 大数据分析员" in page
    rows = re.findall(r'<tr>\s*<th scope="row">(S1\.\d)[^<]*</th>.*?</tr>', page, re.S)
    assert rows  # the indicator table is there
    for block in re.findall(r'<tr>\s*<th scope="row">S1\.\d.*?</tr>', page, re.S):
        last_cell = re.findall(r"<td>(.*?)</td>", block, re.S)[-1]
        assert last_cell.strip(), block  # a next step for every unmet indicator
    home = client.get("/home").get_data(as_text=True)
    assert "大数据分析员" in home and ">J-BD-01<" not in home


def test_level_labels_have_one_format(client, make_user):
    teacher = make_user("teacher", "wang")
    make_attempt(teacher, make_assessment(), {"T1": "L6"}, overall="L6")
    db.session.commit()
    login(client, "wang")
    page = client.get("/assessments/").get_data(as_text=True)
    assert "L6 · 创新者" in page
    client.post(
        "/language", data={"lang": "en", "next": "/assessments/", "csrf_token": csrf_from(client, "/home")}
    )
    english = client.get("/assessments/").get_data(as_text=True)
    assert 'lang="en"' in english and "L6 · Pioneer" in english
