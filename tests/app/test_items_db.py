"""The item bank in the database: CLI import/export (all or nothing), admin pages, parameter versions."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from competency.cli import items_group
from competency.extensions import db
from competency.models import Item, ItemParams
from tests.app.conftest import csrf_from, login

GOOD = {
    "format": "competency.items/1",
    "bank": "pilot-2026",
    "items": [
        {
            "id": "P-001",
            "type": "single",
            "node": "T4.2.1",
            "lang": "zh-CN",
            "level": "L3",
            "stem": "班主任需要把学生名单发给实习单位，哪种做法最合适？",
            "options": [
                {"key": "A", "text": "只发送实习必需的字段，并通过加密方式传输"},
                {"key": "B", "text": "直接把含身份证号的完整表格发到群里"},
            ],
            "key": "A",
            "explanation": "个人信息处理应遵循最小必要原则。",
            "irt": {
                "model": "2pl",
                "a": 1.1,
                "b": -0.3,
                "c": None,
                "thresholds": None,
                "parameterisation": "logistic-D1-irt",
                "source": "provisional",
                "version": 1,
            },
        }
    ],
}


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_cli_import_and_export_roundtrip(app, tmp_path):
    path = tmp_path / "pilot.json"
    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(items_group, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output
    assert _count(Item) == 1 and _count(ItemParams) == 1
    out = tmp_path / "out.csv"
    exported = runner.invoke(items_group, ["export", str(out)])
    assert exported.exit_code == 0 and "exported 1 items" in exported.output
    assert "P-001" in out.read_text(encoding="utf-8-sig")


def test_cli_import_refuses_a_bad_file_whole(app, tmp_path):
    bad = json.loads(json.dumps(GOOD))
    second = json.loads(json.dumps(GOOD["items"][0]))
    second.update(id="P-002", node="T9.9.9", key="Z")
    second["irt"]["a"] = -1
    bad["items"].append(second)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(items_group, ["import", str(path)])
    assert result.exit_code != 0
    for fragment in ("T9.9.9", "irt.a", "key", "nothing was imported"):
        assert fragment in result.output, fragment
    assert _count(Item) == 0


def test_reimport_with_changed_parameters_adds_a_version(app, tmp_path):
    path = tmp_path / "pilot.json"
    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    runner = app.test_cli_runner()
    runner.invoke(items_group, ["import", str(path)])
    changed = json.loads(json.dumps(GOOD))
    changed["items"][0]["irt"].update(b=0.4, source="expert")
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(items_group, ["import", str(path)])
    assert "1 new parameter versions" in result.output
    row = db.session.scalar(select(Item))
    assert row.current_version == 2 and [v.b for v in row.versions] == [-0.3, 0.4]
    again = runner.invoke(items_group, ["import", str(path)])
    assert "0 new parameter versions" in again.output


def test_admin_browses_filters_and_previews(client, make_user, bank):
    make_user("platform_admin", "root")
    login(client, "root")
    page = client.get("/admin/items/?node=T4.2&type=single").get_data(as_text=True)
    assert "T-4.2.1-" in page and "T-3.1.1-" not in page
    code = db.session.scalar(select(Item.code).where(Item.node == "T4.2.1").limit(1))
    detail = client.get(f"/admin/items/{code}").get_data(as_text=True)
    assert "<fieldset>" in detail and "Parameter versions" in detail or "参数版本" in detail


def test_admin_upload_shows_every_problem(client, make_user):
    import io

    make_user("platform_admin", "root")
    login(client, "root")
    token = csrf_from(client, "/admin/items/")
    csv_bytes = b"id,type,node\nX-1,single,NOPE\n"
    response = client.post(
        "/admin/items/",
        data={"csrf_token": token, "file": (io.BytesIO(csv_bytes), "bad.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "bad.csv" in response.get_data(as_text=True)
    assert _count(Item) == 0


def test_admin_edit_creates_a_parameter_version(client, make_user, bank):
    make_user("platform_admin", "root")
    login(client, "root")
    row = db.session.scalar(select(Item).where(Item.type == "single").limit(1))
    before = row.current_version
    token = csrf_from(client, f"/admin/items/{row.code}")
    response = client.post(
        f"/admin/items/{row.code}",
        data={
            "csrf_token": token,
            "stem": row.content["stem"],
            "explanation": row.content.get("explanation", ""),
            "status": "operational",
            "a": "1.7",
            "b": "0.2",
            "c": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    db.session.refresh(row)
    assert row.current_version == before + 1
    assert row.versions[-1].a == 1.7 and row.versions[-1].source == "expert"


def test_templates_download(client, make_user):
    make_user("platform_admin", "root")
    login(client, "root")
    assert client.get("/admin/items/template/csv").status_code == 200
    assert client.get("/admin/items/template/xlsx").status_code == 200
