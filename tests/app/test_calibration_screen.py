"""Calibration operations on the admin screen: a full round from responses per item to a published
parameter version (earlier results unchanged), DIF by consented groups, drift, the MCAT prior from the
calibrated correlation, pilot positions, the command line, and who may see what."""

from __future__ import annotations

import numpy as np
from sqlalchemy import insert, select

from competency.cli import calibrate_command, simulate_command
from competency.extensions import db
from competency.models import (
    Assessment,
    Attempt,
    AuditEvent,
    CalibrationRun,
    FairnessProfile,
    Item,
    Response,
)
from competency.services import pools, publishing
from competency.services.demo_responses import _probabilities
from tests.app.conftest import csrf_from, login


def _graded(assessment, groups, n, rng, codes=None, dif=None, drift=None, rho=0.0):
    """``n`` graded attempts per (user, focal) in ``groups``, answering every item in ``codes`` (all the
    pool's operational items by default); ``dif`` is harder by 1.2 logits for the focal group, ``drift``
    by 1.0 for everyone. Each result is a stored dict the test compares later."""
    pool = pools.pool_items(assessment)
    codes = codes or sorted(c for c, p in pool.items() if not p.pilot)
    dims = list(assessment.dimensions)
    corr = np.full((len(dims), len(dims)), rho)
    np.fill_diagonal(corr, 1.0)
    attempts, answers = [], []
    first = (db.session.scalar(select(Attempt.id).order_by(Attempt.id.desc()).limit(1)) or 0) + 1
    for user, focal in groups:
        theta = rng.multivariate_normal(np.zeros(len(dims)), corr, size=n)
        for code_pos, code in enumerate(codes):
            entry = pool[code]
            d = dims.index(entry.dimension) if len(dims) > 1 else 0
            shift = np.full(n, 1.0 if code == drift else 0.0) + (1.2 if code == dif and focal else 0.0)
            probs = _probabilities(entry.item.irt, theta[:, d], shift)
            draws = np.minimum(
                (probs.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1), probs.shape[1] - 1
            )
            for k in range(n):
                answers.append(
                    {
                        "attempt_id": first + len(attempts) + k,
                        "position": code_pos + 1,
                        "item_code": code,
                        "param_version": entry.version,
                        "answer": {"simulated": True},
                        "score": int(draws[k]),
                        "pilot": False,
                    }
                )
        for k in range(n):
            attempts.append(
                {
                    "id": first + len(attempts),
                    "assessment_id": assessment.id,
                    "user_id": user.id,
                    "status": "graded",
                    "position": len(codes) + 1,
                    "state": {},
                    "engine": {},
                    "param_versions": {c: pool[c].version for c in codes},
                    "result": {"dimensions": [{"code": dims[0], "theta": round(float(theta[k, 0]), 3)}]},
                    "overall_level": "J1",
                }
            )
    db.session.execute(insert(Attempt), attempts)
    db.session.execute(insert(Response), answers)
    db.session.commit()


def _consent(user, gender):
    db.session.add(FairnessProfile(user_id=user.id, consent=True, gender=gender))
    db.session.commit()


def _snapshot():
    return (
        sorted((a.id, repr(a.result), a.overall_level) for a in db.session.scalars(select(Attempt))),
        sorted(db.session.execute(select(Response.id, Response.param_version, Response.score)).all()),
    )


def test_a_calibration_round_from_the_admin_screen_to_a_published_version(
    app, client, make_user, job_assessment
):
    admin = make_user("platform_admin", "calib_admin")
    men, women = make_user("student", "men"), make_user("student", "women")
    _consent(men, "male"), _consent(women, "female")
    pool = pools.pool_items(job_assessment)
    dichotomous = sorted(c for c, p in pool.items() if not p.pilot and p.item.irt.model in ("2pl", "3pl"))
    dif_item, drift_item = dichotomous[1], dichotomous[3]
    _graded(
        job_assessment,
        [(men, False), (women, True)],
        700,
        np.random.default_rng(5),
        dif=dif_item,
        drift=drift_item,
    )
    before = _snapshot()
    published_before = job_assessment.published_at
    login(client, "calib_admin")

    page = client.get(f"/admin/calibration/assessments/{job_assessment.id}").get_data(as_text=True)
    assert dif_item in page and ">1400</td>" in page  # responses per item, before any run
    token = csrf_from(client, f"/admin/calibration/assessments/{job_assessment.id}")
    started = client.post(
        f"/admin/calibration/assessments/{job_assessment.id}/runs",
        data={"csrf_token": token, "model": "keep", "mode": "full", "min_responses": "200"},
    )
    assert started.status_code == 302, started.get_data(as_text=True)[:2000]
    run = db.session.scalars(select(CalibrationRun)).one()
    assert run.job_id is not None  # it ran as a background job (immediate in tests), not in the request
    assert run.status == "review", run.error
    review = client.get(f"/admin/calibration/runs/{run.id}").get_data(as_text=True)
    assert 'id="rescoring-policy"' in review and "边际信度" in review and "重新评分政策" in review
    rows = {r["code"]: r for r in run.findings["items"]}
    assert rows[drift_item]["drift"]["flag"] and rows[drift_item]["drift"]["delta_b"] > 0.5
    assert [f["grouping"] for f in rows[dif_item]["dif"]] == ["gender:female"]
    assert rows[dif_item]["dif"][0]["d_dif"] < -1.0  # harder for the focal group
    flagged_dif = [c for c, r in rows.items() if r["dif"]]
    flagged_drift = [c for c, r in rows.items() if (r["drift"] or {}).get("flag")]
    assert flagged_dif == [dif_item]
    # Half the sample finds the DIF item harder, so its pooled difficulty moved too: drift, correctly.
    assert drift_item in flagged_drift and set(flagged_drift) <= {drift_item, dif_item}
    assert all(r["new"]["se_a"] > 0 for r in rows.values())
    assert run.findings["groupings"][0]["n_focal"] == 700

    approve = sorted(c for c in rows if c not in (dif_item, drift_item))
    form = {"csrf_token": csrf_from(client, f"/admin/calibration/runs/{run.id}")}
    form |= {f"decision-{c}": "approve" for c in approve} | {f"decision-{dif_item}": "reject"}
    form[f"decision-{drift_item}"] = "reject"
    done = client.post(f"/admin/calibration/runs/{run.id}/publish", data=form)
    assert done.status_code == 302
    db.session.refresh(run)
    assert run.status == "published" and run.decisions[dif_item] == "reject"
    items = {i.code: i for i in db.session.scalars(select(Item).where(Item.code.in_(rows)))}
    assert all(
        items[c].current_version == 2 and items[c].versions[-1].source == f"calibration:run-{run.id}"
        for c in approve
    )
    assert items[dif_item].current_version == 1 and items[drift_item].current_version == 1
    assessment = db.session.get(Assessment, job_assessment.id)
    assert assessment.published_at != published_before  # re-frozen on the new versions
    frozen = {e["code"]: e["version"] for e in assessment.pool}
    assert all(frozen[c] == 2 for c in approve) and frozen[dif_item] == 1
    assert _snapshot() == before  # earlier results and the versions their answers were scored with
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "calibration.publish")).one()
    assert event.actor_id == admin.id and sorted(event.detail["rejected"]) == sorted([dif_item, drift_item])
    again = client.post(f"/admin/calibration/runs/{run.id}/publish", data=form)
    assert again.status_code == 302 and db.session.get(Item, items[approve[0]].id).current_version == 2


def test_the_mcat_prior_comes_from_the_calibrated_correlation(app, make_user, teacher_assessment):
    check = teacher_assessment.simulation["prior_check"]
    assert check["source"] == "provisional" and check["correlation"][0][1] == 0.3  # 0.6 − 0.3, no run yet
    assert set(check) >= {"mean_se", "rmse", "se_over_rmse", "accuracy", "overall_accuracy"}
    teachers = [make_user("teacher", f"t{k}") for k in range(2)]
    pool = pools.pool_items(teacher_assessment)
    codes = []
    for dim in teacher_assessment.dimensions:  # four 2PL items of each dimension
        codes += sorted(c for c, p in pool.items() if p.dimension == dim and p.item.irt.model == "2pl")[:4]
    _graded(
        teacher_assessment,
        [(t, False) for t in teachers],
        400,
        np.random.default_rng(9),
        codes=codes,
        rho=0.4,
    )
    result = app.test_cli_runner().invoke(
        calibrate_command, ["--assessment", teacher_assessment.code, "--min-responses", "200"]
    )
    assert result.exit_code == 0, result.output
    run = db.session.scalars(select(CalibrationRun)).one()
    corr = np.array(run.findings["correlation"]["matrix"])
    off = corr[~np.eye(5, dtype=bool)]
    assert abs(off.mean() - 0.4) < 0.1 and "latent correlations: T1-T2" in result.output
    published = app.test_cli_runner().invoke(calibrate_command, ["--run", str(run.id), "--apply"])
    assert published.exit_code == 0, published.output
    assessment = db.session.get(Assessment, teacher_assessment.id)
    prior = np.array(assessment.engine["prior_correlation"])
    assert prior.shape == (5, 5) and np.allclose(prior, corr, atol=1e-6)
    check = assessment.simulation["prior_check"]
    assert check["source"] == f"calibration run {run.id}"
    lower = np.array(check["correlation"])
    assert np.all(lower[~np.eye(5, dtype=bool)] < off.max()) and np.all(np.linalg.eigvalsh(lower) > 0)
    shell = app.test_cli_runner().invoke(
        simulate_command, ["--assessment", teacher_assessment.code, "-n", "20"]
    )
    assert shell.exit_code == 0, shell.output
    assert f"at the lower bound of the prior correlation (calibration run {run.id}" in shell.output
    assert "SE/RMSE" in shell.output


def test_pilot_positions_are_set_audited_and_checked(app, client, make_user, job_assessment):
    make_user("platform_admin", "calib_admin")
    login(client, "calib_admin")
    url = f"/admin/calibration/assessments/{job_assessment.id}"
    bad = client.post(
        f"{url}/pilot-positions", data={"csrf_token": csrf_from(client, url), "pilot_positions": "3, x"}
    )
    assert bad.status_code == 400 and "用逗号分隔的整数" in bad.get_data(as_text=True)
    ok = client.post(
        f"{url}/pilot-positions", data={"csrf_token": csrf_from(client, url), "pilot_positions": ""}
    )
    assert ok.status_code == 302
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "assessment.pilot_positions")
    ).one()


def test_only_platform_admins_reach_calibration(app, client, make_user, job_assessment):
    for role in ("teacher", "student", "trainer", "institution_admin", "expert"):
        make_user(role, f"who_{role}")
        client = app.test_client()
        login(client, f"who_{role}")
        assert client.get("/admin/calibration/").status_code == 403, role
        assert client.get(f"/admin/calibration/assessments/{job_assessment.id}").status_code == 403, role
        assert client.post(f"/admin/calibration/assessments/{job_assessment.id}/runs").status_code in (
            400,
            403,
        )
    assert db.session.scalars(select(CalibrationRun)).first() is None


def test_a_refused_publication_returns_the_run_to_review_and_changes_nothing(
    app, client, make_user, job_assessment, monkeypatch
):
    from competency.services.errors import ServiceError

    make_user("platform_admin", "calib_admin")
    code = sorted(e["code"] for e in job_assessment.pool)[0]
    new = {"model": "2pl", "a": 1.1, "b": 0.2, "c": None, "thresholds": None, "se_a": 0.1, "se_b": 0.1}
    current = {"version": 1, "model": "2pl", "a": 1.0, "b": 0.0, "c": None, "thresholds": None}
    row = {
        "code": code, "dimension": job_assessment.dimensions[0], "status": "operational", "n": 300,
        "exposure": 0.5, "anchor": False, "current": current, "new": new, "publishable": True,
        "imprecise": False, "rmsd": 0.01, "infit": 1.0, "outfit": 1.0, "misfit": False, "drift": None, "dif": [],
    }  # fmt: skip
    run = CalibrationRun(
        assessment_id=job_assessment.id, status="review", settings={}, decisions={}, findings={"items": [row]}
    )
    db.session.add(run)
    db.session.commit()

    def refuse(*_a, **_k):
        raise ServiceError(
            "accuracy_below_minimum", "classification accuracy below the minimum", "grade_rule"
        )

    monkeypatch.setattr(publishing, "publish", refuse)
    login(client, "calib_admin")
    url = f"/admin/calibration/runs/{run.id}"
    client.post(f"{url}/publish", data={"csrf_token": csrf_from(client, url), f"decision-{code}": "approve"})
    db.session.refresh(run)
    assert run.status == "review" and "accuracy below the minimum" in run.error
    assert db.session.scalar(select(Item).where(Item.code == code)).current_version == 1
    assert "accuracy below the minimum" in client.get(url).get_data(as_text=True)
