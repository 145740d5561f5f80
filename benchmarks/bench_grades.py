"""Grades a certificate can stand behind: simulated takers with known θ through the JSON API.

Every demo assessment is taken by N simulated people through the same routes a browser uses
(start, answer each item, read the result); each answer is drawn from the item's own IRT model at
the taker's true θ on the item's dimension. True θs: N(0, Σ) with the correlation r given (0.6 by
default) for the multidimensional tests, N(0, 1) otherwise. The script prints, per assessment:
the accuracy of every reported class (share of takers whose reported class equals the class of
their true θ, with a 95 % Wilson interval), Rudner's expected accuracy and consistency computed
from the API's θ̂ and SE alone, the accuracy of the full level scale for comparison, and lengths.

    .venv/bin/python benchmarks/bench_grades.py                # 150 takers per assessment
    .venv/bin/python benchmarks/bench_grades.py -n 300 --rho 0.3 --only TDL-2026
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from competency import graph  # noqa: E402
from competency.app import create_app  # noqa: E402
from competency.extensions import db  # noqa: E402
from competency.irt import classification  # noqa: E402
from competency.models import Assessment  # noqa: E402
from competency.services import accounts, grading  # noqa: E402
from competency.services.demo import seed_demo  # noqa: E402
from tests.app.simulated_takers import accuracies, run_takers  # noqa: E402

PASSWORD = "bench-grades-2026"


def _people(assessment: Assessment, n: int, rho: float, seed: int) -> np.ndarray:
    dims = len(assessment.dimensions)
    cov = np.full((dims, dims), rho)
    np.fill_diagonal(cov, 1.0)
    return np.random.default_rng(seed).multivariate_normal(np.zeros(dims), cov, size=n)


def _fmt(acc: float, n: int) -> str:
    lo, hi = classification.wilson_interval(acc, n)
    return f"{acc:.3f} [{lo:.3f}, {hi:.3f}]"


def bench(client, assessment: Assessment, n: int, rho: float, seed: int) -> None:
    role = "teacher" if assessment.kind == "teacher_graded" else "student"
    from competency.models import Institution

    home = db.session.query(Institution).order_by(Institution.id).first()
    headers = {}
    for i in range(n):
        name = f"bench_{assessment.code}_{i}".lower()
        accounts.create_user(name, PASSWORD, role, institution=home, commit=False)
    db.session.commit()

    def headers_for(i: int) -> dict:
        if i not in headers:
            name = f"bench_{assessment.code}_{i}".lower()
            token = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD}).get_json()
            headers[i] = {"Authorization": f"Bearer {token['token']}"}
        return headers[i]

    thetas = _people(assessment, n, rho, seed)
    started = time.perf_counter()
    run = run_takers(client, headers_for, assessment, thetas, seed=seed)
    seconds = time.perf_counter() - started
    per_dim, overall = accuracies(run)
    results = run["results"]
    graded = [r for r in results if r["status"] == "graded"]
    theta = np.array([[d["theta"] for d in r["dimensions"]] for r in graded])
    se = np.array([[d["se"] for d in r["dimensions"]] for r in graded])
    frame = grading.ReportFrame.of(assessment)
    scale, codes, groups = frame.scale, list(frame.codes), frame.overall_groups
    expected = classification.rudner_composite(theta, se, frame.overall_classes)
    true_levels = frame.overall_levels(thetas)
    given_levels = np.array([scale.index(r["overall_level"]) for r in results])
    lengths = np.array(run["lengths"])
    dim_classes = " / ".join(grading.group_label(scale, g)["code"] for g in frame.dimension_groups)
    print(f"\n{assessment.code}: {n} takers through the JSON API, r = {rho}, {seconds:.0f} s")
    print(f"  graded {len(graded)} of {n}; length mean {lengths.mean():.1f}, max {lengths.max()}")
    print(f"  per dimension, classes {dim_classes}: simulated accuracy [95% interval]")
    for code, acc in zip(codes, per_dim, strict=True):
        d = codes.index(code)
        rud = classification.rudner(theta[:, d], se[:, d], frame.dimension_cuts(d))
        print(f"    {code:<10} {_fmt(acc, n)}  expected {rud.accuracy:.3f}  consistency {rud.consistency:.3f}")
    print(f"  overall class ({' / '.join(grading.group_label(scale, g)['code'] for g in groups)}): "
          f"{_fmt(overall, n)}  expected {expected.accuracy:.3f}  consistency {expected.consistency:.3f}")
    level_acc = classification.simulated(true_levels, given_levels)
    print(f"  overall level ({'/'.join(scale.codes)}), shown as the most likely level: {_fmt(level_acc, n)}")


def design_table(assessment: Assessment, n: int, rho: float, seed: int) -> None:
    """Why the teacher test reports classes: accuracy of each granularity at fixed lengths, by the
    engine's own simulator on the published pool (no web layer)."""
    from competency.irt.cat import EngineConfig
    from competency.irt.cat.simulation import run_sessions
    from competency.services.pools import engine_bank

    scale = graph.level_scale(assessment.scale)
    rule = {**grading.DEFAULT_RULE, **(assessment.grade_rule or {})}
    codes = list(assessment.dimensions)
    cuts = list(scale.cuts)
    thetas = _people(assessment, n, rho, seed)
    bands = grading.report_cuts(scale, cuts, ("L3", "L5"))
    band_groups = np.array([grading.group_of(grading.report_groups(scale, ("L3", "L5")), lv.code) for lv in scale])
    print(f"\n{assessment.code} design table: {n} simulated people, r = {rho}, fixed length, no exposure control")
    print("  length  dim L1–L6  dim 3 bands  dim 2 classes (L3)  overall L1–L6  overall 3 bands")
    for length in (30, 40, 60, 80):
        base = {**assessment.engine, "min_items": length, "max_items": length, "se_target": None,
                "classification": None, "exposure": "none", "randomesque": 1,
                "content_min": {c: length // len(codes) for c in codes}}
        run = run_sessions(engine_bank(assessment), EngineConfig.from_dict(base), thetas, seed=seed)

        def acc(cut_list, d, est=run.theta):
            return classification.simulated(
                classification.classify(thetas[:, d], cut_list), classification.classify(est[:, d], cut_list)
            )

        dims6 = np.mean([acc(cuts, d) for d in range(len(codes))])
        dims3 = np.mean([acc(bands, d) for d in range(len(codes))])
        dims2 = np.mean([acc([cuts[1]], d) for d in range(len(codes))])
        true_l = grading.overall_indices(scale, thetas, [cuts] * len(codes), rule, cuts, codes=codes)
        est_l = grading.overall_indices(scale, run.theta, [cuts] * len(codes), rule, cuts, codes=codes)
        print(f"  {length:>6}  {dims6:>9.3f}  {dims3:>11.3f}  {dims2:>18.3f}  "
              f"{classification.simulated(true_l, est_l):>13.3f}  "
              f"{classification.simulated(band_groups[true_l], band_groups[est_l]):>15.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--takers", type=int, default=150)
    parser.add_argument("--rho", type=float, default=0.6, help="correlation of the true θs between dimensions")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--only", action="append", help="assessment code (repeatable)")
    parser.add_argument("--design", action="store_true", help="print the teacher design table instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                "INSTANCE_DIR": tmp,
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            seed_demo(lambda _line: None)
            client = app.test_client()
            if args.design:
                teacher = db.session.query(Assessment).filter_by(code="TDL-2026").one()
                design_table(teacher, max(args.takers, 400), args.rho, args.seed)
                return
            codes = args.only or ["TDL-2026", "SDL-2026", "JOB-BD-01", "JOB-AI-01", "JOB-NEV-01", "JOB-SW-01"]
            for code in codes:
                assessment = db.session.query(Assessment).filter_by(code=code).one()
                bench(client, assessment, args.takers, args.rho, args.seed)


if __name__ == "__main__":
    main()
