"""Command-line interface: `flask --app competency <command>` or the `competency` script."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from competency.extensions import db
from competency.services.errors import ServiceError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema by applying every migration."""
    from flask_migrate import upgrade

    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("seed-demo")
@click.option(
    "--allow-production", is_flag=True, help="Load demo accounts even when COMPETENCY_ENV=production."
)
@with_appcontext
def seed_demo_command(allow_production: bool) -> None:
    """Load the demo content once (running it again adds nothing)."""
    from competency.services.demo import seed_demo

    if current_app.config["ENV_NAME"] == "production" and not allow_production:
        _fail("refusing to create demo accounts with known passwords in production (--allow-production)")
    seed_demo(log=lambda line: click.echo(f"  + {line}"))
    click.echo("demo content loaded")


@click.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", required=True, help="platform_admin, institution_admin, trainer, teacher or student")
@click.option("--password", required=True)
@click.option(
    "--institution", "institution_name", default=None, help="Institution name (all roles but platform_admin)"
)
@click.option("--display-name", default=None)
@with_appcontext
def users_create(
    name: str, role: str, password: str, institution_name: str | None, display_name: str | None
) -> None:
    """Create an account."""
    from competency.services import accounts

    try:
        institution = accounts.find_institution(institution_name) if institution_name else None
        user = accounts.create_user(name, password, role, display_name=display_name, institution=institution)
    except ServiceError as exc:
        db.session.rollback()
        _fail(f"{exc.field}: {exc.message}" if exc.field else exc.message)
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@click.group("items")
def items_group() -> None:
    """Import and export the item bank."""


@items_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def items_import(path: str) -> None:
    """Import FILE (.json, .csv, .xlsx, .gift, QTI .zip/.xml); all or nothing."""
    from competency.services.items import import_file
    from competency.tests_bank.problems import BankImportError

    try:
        summary = import_file(path)
    except BankImportError as exc:
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        _fail(f"{len(exc.problems)} problem(s) in {path}; nothing was imported")
    click.echo(
        f"imported {path}: bank {summary['bank']}, {summary['created']} new, {summary['updated']} updated, "
        f"{summary['new_versions']} new parameter versions"
    )
    _echo_item_writing([path], imported=True)


@items_group.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def items_check(paths: tuple[str, ...]) -> None:
    """Validate FILES and report item-writing figures and warnings; imports nothing.

    Exits non-zero when a file is invalid; warnings alone do not fail (they never block an import).
    """
    from competency.tests_bank.problems import BankImportError

    try:
        _echo_item_writing(list(paths), imported=False, figures=True)
    except BankImportError as exc:
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        _fail(f"{len(exc.problems)} problem(s); the files are not valid")


def _echo_item_writing(paths: list[str], *, imported: bool, figures: bool = False) -> None:
    """Item-writing warnings for the banks in ``paths`` (duplicate stems checked across them)."""
    from competency.services.items import known_codes
    from competency.tests_bank import bankio
    from competency.tests_bank.item_writing import banks_item_writing_checks, stats_table

    nodes, roles = known_codes()
    banks = [bankio.import_items(path, nodes, roles) for path in paths]
    if figures:
        for line in stats_table(banks):
            click.echo(line)
    warnings = banks_item_writing_checks(banks)
    if warnings:
        after = " (the import went ahead)" if imported else ""
        click.echo(f"{len(warnings)} item-writing warning(s){after}:", err=True)
        for warning in warnings:
            click.echo(f"  {warning}", err=True)
    elif figures:
        click.echo("no item-writing warnings")


@items_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--bank", default=None, help="Only this bank")
@click.option("--status", default=None, help="Only items with this status")
@with_appcontext
def items_export(path: str, bank: str | None, status: str | None) -> None:
    """Export the bank to FILE; the format follows the extension (.json .csv .xlsx .gift .zip .qti3.zip)."""
    from competency.services.items import export_file

    try:
        count = export_file(path, bank=bank, status=status)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"exported {count} items to {path}")


@click.command("simulate")
@click.argument("bank_file", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option(
    "--assessment",
    "assessment_code",
    default=None,
    help="Instead of a bank file: a published assessment's pre-flight simulation, an MCAT also at the "
    "lower bound of its prior correlation",
)
@click.option("-n", "--examinees", default=1000, show_default=True, help="Simulated examinees")
@click.option("--selector", default="mfi", show_default=True)
@click.option("--estimator", default="eap", show_default=True)
@click.option("--se-target", default=0.3, show_default=True, type=float)
@click.option("--min-items", default=5, show_default=True)
@click.option("--max-items", default=40, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--plot", "plot_path", default=None, help="Write an SVG plot of conditional SE and RMSE")
@click.option(
    "--cuts",
    default=None,
    help="θ cut scores between levels, comma-separated (e.g. -1,0,1): report classification accuracy and consistency",
)
@click.option(
    "--classification",
    default=None,
    type=click.Choice(["ci", "sprt"]),
    help="Stop when the level is decided (needs --cuts)",
)
def simulate_command(
    bank_file, examinees, selector, estimator, se_target, min_items, max_items, seed, plot_path, cuts,
    classification, assessment_code=None,
):
    """Run a CAT simulation on a bank file (or a published assessment) and print the report."""
    if assessment_code:
        from flask.cli import ScriptInfo

        from competency.calibration_cli import simulate_assessment

        with click.get_current_context().ensure_object(ScriptInfo).load_app().app_context():
            try:
                lines = simulate_assessment(assessment_code, examinees)
            except ServiceError as exc:
                _fail(exc.message)
        for line in lines:
            click.echo(line)
        return
    if not bank_file:
        _fail("give a BANK_FILE or --assessment CODE")
    from competency.irt.cat import EngineConfig, run_simulation_report
    from competency.irt.cat.errors import CatError

    try:
        cut_scores = [float(c) for c in cuts.split(",")] if cuts else None
    except ValueError:
        _fail(f"--cuts: {cuts!r} is not a comma-separated list of numbers")
    try:
        config = EngineConfig(
            selector=selector, estimator=estimator, se_target=se_target, min_items=min_items,
            max_items=max_items, cut_scores=cut_scores, classification=classification,
        )
    except CatError as exc:
        _fail(str(exc))
    with click.progressbar(length=examinees, label="simulating", file=sys.stderr) as bar:
        last = [0]

        def progress(done: int, total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        try:
            report = run_simulation_report(
                bank_file, examinees, config=config, seed=seed, progress=progress, plot_path=plot_path
            )
        except (CatError, ValueError) as exc:
            _fail(str(exc))
    click.echo(report.to_text())
    if plot_path:
        click.echo(f"plot written to {plot_path}")


@click.command("calibrate")
@click.option("--bank", default=None, help="Only items of this bank")
@click.option(
    "--model",
    default=None,
    type=click.Choice(["keep", "2pl", "3pl"]),
    help="Model for dichotomous items (default 2pl; keep: each item's own; --assessment: keep)",
)
@click.option(
    "--mode",
    default=None,
    type=click.Choice(["online", "full"]),
    help="online: anchor operational items (default; --assessment: full)",
)
@click.option(
    "--assessment",
    "assessment_code",
    default=None,
    help="Calibrate this assessment's items as the admin screen does: a run with findings left for review",
)
@click.option("--run", "run_id", type=int, default=None, help="With --apply: publish this reviewed run")
@click.option(
    "--pilot-positions", default=None, help="With --assessment: positions of pilot items, e.g. 5,12 ('' for none)"
)
@click.option(
    "--min-responses", default=200, show_default=True, help="Items with fewer responses keep their parameters"
)
@click.option(
    "--apply", is_flag=True, help="Store the estimates as new parameter versions (default: report only)"
)
@click.option(
    "--approve",
    default=None,
    help="With --apply: comma-separated item codes to publish; the other estimates are rejected (kept in the audit)",
)
@click.option(
    "--dif-groups",
    "dif_groups",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV with columns username,group (group: reference or focal) for a DIF check of every item",
)
@click.option(
    "--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Attempts finished on or after this UTC day"
)
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Attempts finished before this UTC day"
)
@click.option(
    "--param-version", type=int, default=None, help="Only answers scored with this parameter version"
)
@with_appcontext
def calibrate_command(
    bank: str | None,
    model: str,
    mode: str,
    min_responses: int,
    apply: bool,
    approve: str | None,
    dif_groups: str | None,
    since=None,
    until=None,
    param_version: int | None = None,
    assessment_code: str | None = None,
    run_id: int | None = None,
    pilot_positions: str | None = None,
) -> None:
    """Calibrate dichotomous items from stored responses (fixed-item calibration anchors operational items).

    The responses of a window (by finishing day or parameter version) are streamed from the database.
    With --assessment or --run, the same runs, findings, decisions and publication as the admin screen.
    """
    from datetime import UTC

    from competency.services.calibration import calibrate, read_dif_groups

    if assessment_code or run_id is not None:
        from competency.calibration_cli import run_or_publish

        try:
            lines = run_or_publish(
                assessment_code, run_id, model, mode, min_responses, apply, approve, pilot_positions
            )
        except ServiceError as exc:
            _fail(exc.message)
        for line in lines:
            click.echo(line)
        return
    model, mode = model or "2pl", mode or "online"
    if model == "keep":
        _fail("--model keep needs --assessment")

    approved = None if approve is None else [c.strip() for c in approve.split(",") if c.strip()]
    try:
        groups = read_dif_groups(dif_groups) if dif_groups else None
        report = calibrate(
            bank=bank,
            model=model,
            min_responses=min_responses,
            apply=apply,
            mode=mode,
            approve=approved,
            dif_groups=groups,
            since=since.replace(tzinfo=UTC) if since else None,
            until=until.replace(tzinfo=UTC) if until else None,
            param_version=param_version,
        )
    except ServiceError as exc:
        _fail(exc.message)
    for line in report["lines"]:
        click.echo(line)


@click.group("maturity")
def maturity_group() -> None:
    """The institution digital-maturity model."""


@maturity_group.command("model")
@click.option("--json", "as_json", is_flag=True, help="Print the whole model as JSON (levels, areas, indicators).")
def maturity_model_command(as_json: bool) -> None:
    """Print the maturity model: JSON with --json, else a short outline."""
    import json

    from competency.maturity import maturity_model

    model = maturity_model()
    if as_json:
        click.echo(json.dumps(model.contract(), ensure_ascii=False, indent=1))
        return
    click.echo(f"maturity model {model.version}: {len(model.areas)} areas, {len(model.indicators)} indicators")
    click.echo("levels: " + ", ".join(f"{lv['code']} {lv['name_zh']} {lv['name_en']}" for lv in model.levels))
    for area in model.areas:
        codes = [i.code for i in model.in_area(area["code"])]
        click.echo(f"  {area['code']} {area['name_zh']} / {area['name_en']}: {', '.join(codes)}")


@click.command("seed-scale")
@click.option("--teachers", default=0, show_default=True, help="Teachers to add, each with a graded attempt")
@click.option("--students", default=0, show_default=True, help="Students to add, each with a graded attempt")
@click.option(
    "--cohort-size", default=0, show_default=True, help="Members per cohort (0: one cohort per role)"
)
@click.option("--seed", default=0, show_default=True, help="Random seed (the same rows for the same seed)")
@click.option("--allow-production", is_flag=True, help="Add the rows even when COMPETENCY_ENV=production.")
@with_appcontext
def seed_scale_command(teachers: int, students: int, cohort_size: int, seed: int, allow_production: bool) -> None:
    """Add N teachers and M students to the first demo institution, each with one graded attempt of a
    demo assessment and its responses, in cohorts of the demo trainer (for scale benchmarks)."""
    from competency.services.scale_seed import seed_scale

    if current_app.config["ENV_NAME"] == "production" and not allow_production:
        _fail("refusing to add benchmark rows in production (--allow-production)")
    try:
        report = seed_scale(
            teachers, students, cohort_size=cohort_size, seed=seed, log=lambda line: click.echo(f"  + {line}")
        )
    except ServiceError as exc:
        _fail(exc.message)
    for cohort_id, name, members, assignment_id in report.cohorts:
        click.echo(f"cohort {cohort_id} {name}: {members} members, assignment {assignment_id}")
    click.echo(
        f"added {report.teachers} teachers, {report.students} students, {report.attempts} graded attempts, "
        f"{report.responses} responses in {report.seconds:.1f} s"
    )


def register_commands(app: Flask) -> None:
    from competency.i18n_cli import translate_group
    from competency.jobs_cli import jobs_group

    app.cli.add_command(init_db_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(seed_scale_command)
    app.cli.add_command(users_group)
    app.cli.add_command(translate_group)
    app.cli.add_command(items_group)
    app.cli.add_command(simulate_command)
    app.cli.add_command(calibrate_command)
    app.cli.add_command(maturity_group)
    app.cli.add_command(jobs_group)
