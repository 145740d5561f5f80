"""The resource library: add, edit, retire, import (all rows or none), files, and links in plans."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Resource
from competency.services import plans, resource_library
from competency.services.resources import seed_resources
from tests.app.conftest import csrf_from, login
from tests.app.outcomes_factory import make_assessment, make_attempt


def _count(**where) -> int:
    stmt = select(func.count()).select_from(Resource)
    for key, value in where.items():
        stmt = stmt.where(getattr(Resource, key) == value)
    return db.session.scalar(stmt)


def _form(**changes) -> dict:
    data = {
        "title_zh": "校本微课：分层作业",
        "title_en": "",
        "kind": "micro_lecture",
        "provider": "本校信息中心",
        "url": "https://example.edu.cn/layered",
        "hours": "0.5",
        "nodes": "T3.2.1 T3.2.2",
        "levels": "L2 L3",
        "roles": "",
        "summary_zh": "",
        "summary_en": "",
    }
    data.update(changes)
    return data


def test_trainer_adds_edits_and_retires_a_resource(client, make_user, other_institution):
    seed_resources(lambda _m: None)
    db.session.commit()
    demo = _count(demo=True)
    assert demo == 188  # the seeded catalogue is labelled demo
    make_user("trainer", "coach")
    login(client, "coach")
    token = csrf_from(client, "/resources/new")
    bad = client.post("/resources/new", data={**_form(url="ftp://x", nodes="T9.9.9"), "csrf_token": token})
    assert bad.status_code == 400 and _count(demo=False) == 0
    page = bad.get_data(as_text=True)
    assert 'aria-invalid="true"' in page
    ok = client.post("/resources/new", data={**_form(), "csrf_token": token})
    assert ok.status_code == 302
    row = db.session.scalar(select(Resource).where(Resource.demo.is_(False)))
    assert (
        row.institution_id is not None and row.title_en == row.title_zh and row.nodes == ["T3.2.1", "T3.2.2"]
    )
    # A file instead of a link; an HTML file is refused.
    refused = client.post(
        f"/resources/{row.id}/edit",
        data={**_form(url=""), "csrf_token": token, "file": (io.BytesIO(b"<script>"), "x.html")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    saved = client.post(
        f"/resources/{row.id}/edit",
        data={**_form(url=""), "csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4 demo"), "讲义.pdf")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    download = client.get(f"/resources/{row.id}/file")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 demo"
    assert "attachment" in download.headers["Content-Disposition"]
    # The demo catalogue cannot be edited by a trainer.
    demo_row = db.session.scalar(select(Resource).where(Resource.demo.is_(True)).limit(1))
    assert client.get(f"/resources/{demo_row.id}/edit").status_code == 403
    listing = client.get("/resources/?show=demo").get_data(as_text=True)
    assert 'data-demo="true"' in listing and "data-no-link" in listing  # demo rows have no link
    # Retire: out of the library and of new plans.
    assert client.post(f"/resources/{row.id}/retire", data={"csrf_token": token}).status_code == 302
    db.session.refresh(row)
    assert row.retired_at is not None
    assert f'data-resource="{row.code}"' not in client.get("/resources/?show=own").get_data(as_text=True)
    assert f'data-resource="{row.code}"' in client.get("/resources/?show=retired").get_data(as_text=True)
    # Another institution's trainer neither sees nor edits it.
    make_user("trainer", "other", inst=other_institution)
    client.post("/logout", data={"csrf_token": token})
    login(client, "other")
    assert client.get(f"/resources/{row.id}/edit").status_code == 404
    assert client.get(f"/resources/{row.id}/file").status_code == 404


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_import_is_all_or_nothing_with_row_and_field(client, make_user):
    make_user("institution_admin", "ia")
    login(client, "ia")
    token = csrf_from(client, "/resources/")
    header = ["title_zh", "kind", "nodes", "levels", "url", "hours"]
    bad = _xlsx(
        [
            header,
            ["好资源", "online_course", "S1.3", "J1 J2", "https://example.org/a", 3],
            ["坏资源", "podcast", "S1.3", "J9", "https://example.org/b", "three"],
        ]
    )
    response = client.post(
        "/resources/import",
        data={"csrf_token": token, "import-file": (io.BytesIO(bad), "list.xlsx")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and _count(demo=False) == 0
    assert 'data-row="3" data-field="kind"' in page and 'data-row="3" data-field="levels"' in page
    assert 'data-row="3" data-field="hours"' in page and 'data-row="2"' not in page
    missing = "title_zh,kind\n资源,micro_lecture\n".encode("utf-8-sig")
    response = client.post(
        "/resources/import",
        data={"csrf_token": token, "import-file": (io.BytesIO(missing), "list.csv")},
        content_type="multipart/form-data",
    )
    assert 'data-row="1" data-field="nodes"' in response.get_data(as_text=True)
    good = resource_library.template_csv()
    response = client.post(
        "/resources/import",
        data={"csrf_token": token, "import-file": (io.BytesIO(good), "list.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and _count(demo=False) == 1
    assert client.get("/resources/template.csv").data == good


def test_plans_link_to_library_resources_and_mark_missing_links(client, make_user):
    seed_resources(lambda _m: None)
    teacher = make_user("teacher", "wang", teacher_category="public_course", career_stage="backbone")
    trainer = make_user("trainer", "coach")
    own = resource_library.save(
        trainer,
        resource_library.ResourceInput(
            title_zh="校本课程：数字教学资源制作",
            title_en="School course: making digital teaching resources",
            kind="online_course",
            url="https://example.edu.cn/resources",
            hours=4,
            nodes=["T3.1.2"],
            levels=["L2", "L3", "L4"],
        ),
    )
    low = {"T1": "L2", "T2": "L2", "T3": "L2", "T4": "L2", "T5": "L2"}
    plan = plans.build_for_attempt(make_attempt(teacher, make_assessment(), low, {"T3.1.2": "L2"}))
    db.session.commit()
    assert any(own.code in t.resources for t in plan.tasks)
    login(client, "wang")
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert 'href="https://example.edu.cn/resources"' in page
    assert "data-no-link" in page  # demo resources without a URL are marked
