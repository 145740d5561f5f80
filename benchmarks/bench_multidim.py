"""Multidimensional calibration: competency.irt.multidim against Python `mirt` 1.2.0 on the same data.

Between-item 2PL, correlated factors (correlations 0.3/0.5/0.7 by position), a ~ U(0.8, 2),
b ~ N(0, 1), θ ~ N(0, R); seeds fixed. Each fit runs in a fresh subprocess with a time limit and
reports wall time, EM iterations, log-likelihood, max |ρ̂ − ρ|, RMSE of a and b against the truth.

    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_multidim.py
    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_multidim.py --case 5

OPENBLAS_NUM_THREADS=1: on this shared 2-core machine a multi-threaded BLAS spins against the other
jobs and made our E-step 7-10x slower (measured on the multigroup fits); mirt's Rust core is
not affected by the setting.

mirt is given the confirmatory structure (``mirt_model`` with ``F1 = …``, ``COV = F1*F2…``),
``n_factors`` = D and a product Gauss–Hermite grid of ``n_quadpts`` per dimension (21 by
default; fewer for 3 and 5 dimensions, where 21^D nodes do not fit in memory); no SEs on either side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CASES = {  # dims: (items per dimension, persons, mirt n_quadpts)
    2: (10, 5000, 21),
    3: (8, 5000, 11),
    5: (10, 5000, 5),
}


def corr_matrix(dims: int) -> np.ndarray:
    vals = (0.3, 0.5, 0.7)
    return np.array([[1.0 if i == j else vals[(i + j) % 3] for j in range(dims)] for i in range(dims)])


def data(dims: int, per: int, n: int, seed: int = 2026):
    rng = np.random.default_rng(seed)
    corr = corr_matrix(dims)
    theta = rng.multivariate_normal(np.zeros(dims), corr, n)
    dim = np.repeat(np.arange(dims), per)
    a = rng.uniform(0.8, 2.0, dims * per)
    b = rng.normal(0, 1, dims * per)
    x = (rng.random((n, dims * per)) < 1 / (1 + np.exp(-a * (theta[:, dim] - b)))).astype(int)
    return x, dim, corr, a, b


def worker(lib: str, dims: int) -> dict:
    per, n, quadpts = CASES[dims]
    x, dim, corr, a, b = data(dims, per, n)
    t0 = time.perf_counter()
    if lib == "competency":
        from competency.irt.multidim import fit_multidim

        res = fit_multidim(x.astype(float), dim, "2pl", se=False)
        est_a, est_b, est_r = res.params["a"], res.params["b"], res.correlation
        out = {
            "iterations": res.iterations,
            "loglik": res.loglik,
            "nodes": res.n_nodes,
            "quadrature": res.quadrature,
        }
        out["converged"] = bool(res.converged)
    else:
        import mirt

        lines = [f"F{d + 1} = {d * per + 1}-{(d + 1) * per}" for d in range(dims)]
        lines.append("COV = " + "*".join(f"F{d + 1}" for d in range(dims)))
        spec = mirt.mirt_model("\n".join(lines))
        res = mirt.fit_mirt(
            x, "2PL", n_factors=dims, spec=spec, n_quadpts=quadpts, compute_standard_errors=False
        )
        slopes = np.asarray(res.model.parameters["slopes"])
        inter = np.asarray(res.model.parameters["intercepts"]).ravel()
        est_a = slopes[np.arange(dims * per), dim]
        est_b = -inter / est_a
        est_r = np.asarray(res.latent_covariance)
        out = {
            "iterations": int(res.n_iterations),
            "loglik": float(res.log_likelihood),
            "nodes": quadpts**dims,
        }
        out["converged"] = bool(res.converged)
        out["quadrature"] = "Gauss-Hermite product"
    out["seconds"] = time.perf_counter() - t0
    iu = np.triu_indices(dims, 1)
    out["max_abs_corr_error"] = float(np.max(np.abs(est_r[iu] - corr[iu])))
    out["corr"] = [round(float(v), 4) for v in est_r[iu]]
    out["rmse_a"] = float(np.sqrt(np.mean((est_a - a) ** 2)))
    out["rmse_b"] = float(np.sqrt(np.mean((est_b - b) ** 2)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=2)
    ap.add_argument("--case", type=int, action="append")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return
    for dims in args.case or sorted(CASES):
        per, n, quadpts = CASES[dims]
        print(
            f"\n{dims} dimensions, {per} items each, N = {n}; true correlations {corr_matrix(dims)[np.triu_indices(dims, 1)].tolist()}"
        )
        for lib in ("competency", "mirt"):
            try:
                proc = subprocess.run(
                    [sys.executable, __file__, "--worker", lib, str(dims)],
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                    check=False,
                )
                if proc.returncode:
                    print(
                        f"  {lib}: failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}"
                    )
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                print(
                    f"  {lib:10s} {r['seconds']:8.2f} s  iter {r['iterations']:4d}  conv {r['converged']}  "
                    f"loglik {r['loglik']:.2f}  nodes {r['nodes']} ({r['quadrature']})  "
                    f"max|Δρ| {r['max_abs_corr_error']:.4f}  RMSE a {r['rmse_a']:.4f}  RMSE b {r['rmse_b']:.4f}"
                )
                print(f"  {'':10s} ρ̂ {r['corr']}")
            except subprocess.TimeoutExpired:
                print(f"  {lib}: no result within {args.timeout:.0f} s")


if __name__ == "__main__":
    main()
