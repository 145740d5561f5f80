"""init-db, seed-demo and users create: clear messages, non-zero exits, nothing written on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, select

from competency.cli import init_db_command, seed_demo_command, users_group
from competency.extensions import db
from competency.models import Cohort, Institution, Role, User


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_users_create(app, institution):
    runner = app.test_cli_runner()
    result = runner.invoke(
        users_group,
        [
            "create",
            "wang",
            "--role",
            "teacher",
            "--password",
            "long-password-1",
            "--institution",
            institution.name,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "created teacher wang" in result.output
    assert db.session.scalar(select(User.role).where(User.username == "wang")) == "teacher"


def test_users_create_platform_admin_needs_no_institution(app):
    result = app.test_cli_runner().invoke(
        users_group, ["create", "root", "--role", "platform_admin", "--password", "long-password-1"]
    )
    assert result.exit_code == 0, result.output


def test_users_create_refuses_bad_input(app, institution):
    runner = app.test_cli_runner()
    cases = [
        (
            [
                "create",
                "x",
                "--role",
                "wizard",
                "--password",
                "long-password-1",
                "--institution",
                institution.name,
            ],
            "unknown role",
        ),
        (
            ["create", "x", "--role", "teacher", "--password", "short", "--institution", institution.name],
            "at least",
        ),
        (
            ["create", "x", "--role", "teacher", "--password", "long-password-1", "--institution", "Nowhere"],
            "unknown institution",
        ),
        (
            ["create", "x", "--role", "teacher", "--password", "long-password-1"],
            "must belong to an institution",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(users_group, args)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    assert _count(User) == 0


def test_users_create_duplicate(app, institution):
    runner = app.test_cli_runner()
    args = [
        "create",
        "wang",
        "--role",
        "teacher",
        "--password",
        "long-password-1",
        "--institution",
        institution.name,
    ]
    assert runner.invoke(users_group, args).exit_code == 0
    again = runner.invoke(users_group, args)
    assert again.exit_code != 0
    assert "taken" in again.output
    assert _count(User) == 1


def test_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(seed_demo_command)
    assert first.exit_code == 0, first.output
    from competency.models import PilotApplication, PilotCall, PilotDesignation
    from competency.services.demo import DEMO_INSTITUTIONS
    from competency.services.pilot_demo import APPLICANTS

    counts = (
        _count(User),
        _count(Institution),
        _count(Cohort),
        _count(PilotCall),
        _count(PilotApplication),
        _count(PilotDesignation),
    )
    # The two demo schools, the pilot programme's other applicants, and the simulated-data institution.
    from competency.services.demo_responses import INSTITUTION as SIMULATED

    schools = {spec["name"] for spec in DEMO_INSTITUTIONS} | {row[0] for row in APPLICANTS} | {SIMULATED}
    assert counts[0] >= 5 and counts[1] == len(schools) and counts[2] >= 2
    assert counts[3] == 2 and counts[4] >= 12 and counts[5] >= 1
    roles = set(db.session.scalars(select(User.role)))
    assert roles == {r.value for r in Role}
    second = runner.invoke(seed_demo_command)
    assert second.exit_code == 0
    assert (
        _count(User),
        _count(Institution),
        _count(Cohort),
        _count(PilotCall),
        _count(PilotApplication),
        _count(PilotDesignation),
    ) == counts


def test_seed_demo_refuses_production(app):
    app.config["ENV_NAME"] = "production"
    result = app.test_cli_runner().invoke(seed_demo_command)
    assert result.exit_code != 0
    assert "production" in result.output
    assert _count(User) == 0


def test_init_db_is_repeatable(app):
    result = app.test_cli_runner().invoke(init_db_command)
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output


def _run_cli(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "COMPETENCY_ENV")}
    env.update({"COMPETENCY_INSTANCE": str(tmp_path), **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "competency", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_malformed_database_url_is_a_clear_error(tmp_path):
    result = _run_cli(["init-db"], {"DATABASE_URL": "not a url"}, tmp_path)
    assert result.returncode != 0
    assert "DATABASE_URL is malformed" in result.stderr + result.stdout
    unsupported = _run_cli(["init-db"], {"DATABASE_URL": "mysql://x@y/z"}, tmp_path)
    assert unsupported.returncode != 0
    assert "supported" in unsupported.stderr + unsupported.stdout


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = _run_cli(["init-db"], {"COMPETENCY_ENV": "production"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr + result.stdout


def test_console_script_runs_init_and_seed(tmp_path):
    """The `competency` console script applies the migrations to a new SQLite file and seeds it."""
    script = os.path.join(os.path.dirname(sys.executable), "competency")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "COMPETENCY_ENV")}
    env["COMPETENCY_INSTANCE"] = str(tmp_path)
    for command in (
        ["init-db"],
        ["users", "create", "root", "--role", "platform_admin", "--password", "long-password-1"],
    ):
        result = subprocess.run([script, *command], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "competency.sqlite3").exists()


def test_simulate_prints_a_report_and_writes_a_plot(app, tmp_path):
    from pathlib import Path

    from competency.cli import simulate_command

    bank = (
        Path(__file__).resolve().parents[2] / "competency" / "tests_bank" / "data" / "demo" / "job_items.json"
    )
    plot = tmp_path / "sim.svg"
    result = app.test_cli_runner().invoke(simulate_command, [str(bank), "-n", "60", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    for fragment in ("RMSE", "length", "exposure", "stop reasons", "conditional"):
        assert fragment in result.output
    assert plot.read_text().startswith("<svg") or "<svg" in plot.read_text()[:200]


def test_simulate_refuses_a_bad_bank(app, tmp_path):
    from competency.cli import simulate_command

    bad = tmp_path / "bad.json"
    bad.write_text('{"items": [{"id": "x", "a": -1, "b": 0}]}')
    result = app.test_cli_runner().invoke(simulate_command, [str(bad), "-n", "10"])
    assert result.exit_code != 0
    assert "error" in result.output


def test_simulate_reports_classification_accuracy_at_given_cuts(app):
    from pathlib import Path

    from competency.cli import simulate_command

    bank = (
        Path(__file__).resolve().parents[2] / "competency" / "tests_bank" / "data" / "demo" / "job_items.json"
    )
    runner = app.test_cli_runner()
    result = runner.invoke(simulate_command, [str(bank), "-n", "80", "--cuts", "-1,0,1", "--classification", "ci"])
    assert result.exit_code == 0, result.output
    assert "classification at the cut scores" in result.output and "consistency" in result.output
    row = next(line for line in result.output.splitlines() if line.strip().startswith("all "))
    simulated, expected = float(row.split()[1]), float(row.split()[-2])
    assert 0 < simulated <= 1 and 0 < expected <= 1
    bad = runner.invoke(simulate_command, [str(bank), "-n", "10", "--cuts", "-1,zero"])
    assert bad.exit_code != 0 and "--cuts" in bad.output


def _long_key_bank(path, n: int = 12):
    """A valid bank whose key is always the one long option, and whose last stem repeats the first."""
    import json
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "competency" / "tests_bank" / "data" / "demo"
    template = next(
        i
        for i in json.loads((demo / "student_items.json").read_text("utf-8"))["items"]
        if i["type"] == "single"
    )
    items = []
    for i in range(n):
        item = json.loads(json.dumps(template))
        item["id"] = f"CLI-LONG-{i:02d}"
        item["stem"] = f"第 {i % (n - 1)} 个情境：最恰当的做法是？"
        item["options"] = [{"key": k, "text": f"做法{k}"} for k in "ABCD"]
        key = "ABCD"[i % 4]
        item["options"]["ABCD".index(key)]["text"] = "一个写得格外具体、格外长、一看就像正确答案的做法"
        item["key"] = key
        items.append(item)
    path.write_text(json.dumps({"format": "competency.items/1", "bank": "cli-long", "items": items}), "utf-8")
    return path


def test_items_import_prints_item_writing_warnings_and_still_imports(app, tmp_path):
    from competency.cli import items_group
    from competency.models import Item

    bank = _long_key_bank(tmp_path / "long.json")
    result = app.test_cli_runner().invoke(items_group, ["import", str(bank)])
    assert result.exit_code == 0, result.output
    assert "imported" in result.stdout and "12 new" in result.stdout
    assert "item-writing warning(s) (the import went ahead)" in result.stderr
    assert "[key-longest] single: the key is strictly the longest option in 12 of 12" in result.stderr
    assert "CLI-LONG-11: [duplicate-stem] same stem as CLI-LONG-00" in result.stderr
    assert _count(Item) == 12


def test_items_check_reports_figures_and_imports_nothing(app, tmp_path):
    from pathlib import Path

    from competency.cli import items_group
    from competency.models import Item

    runner = app.test_cli_runner()
    demo = Path(__file__).resolve().parents[2] / "competency" / "tests_bank" / "data" / "demo"
    clean = runner.invoke(items_group, ["check", *map(str, sorted(demo.glob("*.json")))])
    assert clean.exit_code == 0, clean.output
    assert "student-demo   single    key strictly longest" in clean.stdout
    assert "no item-writing warnings" in clean.stdout
    flagged = runner.invoke(items_group, ["check", str(_long_key_bank(tmp_path / "long.json"))])
    assert flagged.exit_code == 0
    assert "[key-longest]" in flagged.stderr
    assert _count(Item) == 0


def test_items_check_refuses_an_invalid_file(app, tmp_path):
    from competency.cli import items_group

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "competency.items/1", "items": [{"id": "x"}]}', "utf-8")
    result = app.test_cli_runner().invoke(items_group, ["check", str(bad)])
    assert result.exit_code != 0
    assert "not valid" in result.stderr
