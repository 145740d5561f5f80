"""The admin user list: search by name, filter by role, paging in the database; the create form first."""

from __future__ import annotations

import re

from competency.web.admin import USERS_PAGE
from tests.app.conftest import login


def test_search_filter_and_paging(client, make_user, other_institution):
    make_user("institution_admin", "ia")
    for i in range(USERS_PAGE + 5):
        make_user("student", f"s{i:03d}", display_name=f"学生{i:03d}")
    make_user("teacher", "wangfang", display_name="王芳")
    make_user("teacher", "outsider", inst=other_institution, display_name="王外校")
    login(client, "ia")
    page = client.get("/admin/users").get_data(as_text=True)
    # The create form comes before the long list.
    assert page.index('id="create-user"') < page.index('id="users"')
    total = int(re.search(r'data-total="(\d+)"', page).group(1))
    assert total == USERS_PAGE + 5 + 2  # own institution only: the students, the teacher, the admin
    assert page.count("<tr data-user=") == USERS_PAGE
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert second.count("<tr data-user=") == total - USERS_PAGE
    found = client.get("/admin/users?q=王").get_data(as_text=True)
    assert 'data-user="wangfang"' in found and 'data-user="outsider"' not in found
    assert 'data-total="1"' in found
    by_name = client.get("/admin/users?q=fang").get_data(as_text=True)
    assert 'data-total="1"' in by_name
    students = client.get("/admin/users?role=student&q=s00").get_data(as_text=True)
    assert 'data-total="10"' in students
    # A wildcard typed by the user is taken literally.
    assert 'data-total="0"' in client.get("/admin/users?q=%25").get_data(as_text=True)


def test_an_institution_admin_adds_people_to_their_own_institution_only(app, make_user, other_institution):
    from competency.services import institutions

    admin = make_user("institution_admin", "ia")
    teacher = institutions.add_person(
        admin,
        "newteacher",
        "a-long-passphrase-42",
        "teacher",
        "新教师",
        other_institution.id,  # asked for, but an institution admin adds to their own
        {"teacher_category": "public_course", "department": "信息系", "programme": "软件技术", "year": 2},
    )
    assert teacher.institution_id == admin.institution_id
    assert teacher.department == "信息系" and teacher.teacher_category == "public_course"
    assert teacher.programme is None and teacher.year is None  # a student's fields are not kept
    platform = make_user("platform_admin", "pa")
    student = institutions.add_person(
        platform, "newstudent", "a-long-passphrase-42", "student", "新学生", other_institution.id, {"year": 2}
    )
    assert student.institution_id == other_institution.id and student.year == 2
