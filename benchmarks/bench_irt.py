"""IRT engine benchmark: competency.irt against Python `mirt` 1.2.0 (Rust core) and `girth` 0.8.0.

Every run fits the *same* simulated 2PL data (a ~ U(0.7, 2), b ~ N(0, 1) clipped to ±2.5,
θ ~ N(0, 1); seeds fixed) in a fresh subprocess, which reports wall time, peak RSS
(ru_maxrss) and the RSS growth during the fit, and RMSE of a and b against the truth.

    .venv/bin/pip install mirt==1.2.0 girth==0.8.0         # the `bench` extras
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_irt.py --quick
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_irt.py --full

The machine presets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, which slow numpy's BLAS; the
commands above unset them for the benchmark only (tests never do).

Sections:
  headline  10,000 × 50 2PL, each library at its defaults (with SEs where it computes them)
            and without SEs; ratios against mirt.
  grid      time and memory over N × items (quick: N ∈ {1k, 10k} × items ∈ {20, 50};
            full: N ∈ {1k, 10k, 100k} × items ∈ {20, 50, 200}), calibration without SEs.
  recovery  (--full or --recovery) competency.irt, every model, 5,000 people × 40 items.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

LIBRARIES = ("competency", "mirt", "girth")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _data(n_persons: int, n_items: int, model: str = "2pl", seed: int = 2026):
    from competency.irt.simulate import random_bank, simulate_responses

    rng = np.random.default_rng(seed)
    bank = random_bank(n_items, model, seed=rng)
    theta = rng.normal(size=n_persons)
    return bank, simulate_responses(bank, theta, model, seed=rng)


def _run_one(lib: str, n_persons: int, n_items: int, se: bool) -> dict:
    """Worker: fit one library on one data set and report numbers as JSON."""
    bank, x = _data(n_persons, n_items)
    if lib == "mirt":
        import mirt
    elif lib == "girth":
        import girth
    else:
        from competency.irt import fit
    xi = x.astype(int)
    base = _rss_mb()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if lib == "competency":
        r = fit(x, "2pl", se=se)
        a, b, extra = r.params["a"], r.params["b"], {"iterations": r.iterations, "converged": r.converged}
    elif lib == "mirt":
        r = mirt.fit_mirt(xi, model="2PL", compute_standard_errors=se)
        a = np.asarray(r.model.discrimination, dtype=float).ravel()
        b = np.asarray(r.model.difficulty, dtype=float).ravel()
        extra = {"iterations": int(r.n_iterations), "converged": bool(r.converged)}
    else:
        r = girth.twopl_mml(xi.T)  # girth wants items × persons; default options (25 EM cycles)
        a, b, extra = r["Discrimination"], r["Difficulty"], {}
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "lib": lib,
        "n": n_persons,
        "items": n_items,
        "se": se,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak,
        "fit_mb": max(peak - base, 0.0),
        "rmse_a": float(np.sqrt(np.mean((a - bank["a"]) ** 2))),
        "rmse_b": float(np.sqrt(np.mean((b - bank["b"]) ** 2))),
        **extra,
    }


def _spawn(lib: str, n: int, items: int, se: bool, timeout: float = 600) -> dict | None:
    cmd = [sys.executable, __file__, "--worker", lib, str(n), str(items), "1" if se else "0"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        print(f"  {lib} {n}×{items}: timed out after {timeout:.0f} s")
        return None
    except subprocess.CalledProcessError as exc:
        print(f"  {lib} {n}×{items}: failed: {exc.stderr.strip().splitlines()[-1] if exc.stderr else exc}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(r: dict) -> str:
    return (
        f"  {r['lib']:<11} n={r['n']:>6} items={r['items']:>3} se={'yes' if r['se'] else 'no ':<3} "
        f"{r['seconds']:8.3f} s (cpu {r['cpu']:7.2f} s)  peak {r['peak_mb']:7.1f} MB  fit +{r['fit_mb']:7.1f} MB  "
        f"RMSE a {r['rmse_a']:.4f}  b {r['rmse_b']:.4f}  iter {r.get('iterations', '-')}"
    )


def _best_of(configs, repeats: int) -> dict:
    """Run every config `repeats` times, interleaved so that all face the same machine load; keep the fastest."""
    best: dict = {}
    for rep in range(repeats):
        for key in configs:
            if rep and key in best and best[key]["seconds"] > 30:
                continue  # long runs vary little; repeating them would blow the time budget
            r = _spawn(*key)
            if r and (key not in best or r["seconds"] < best[key]["seconds"]):
                best[key] = r
    return best


def headline(repeats: int) -> None:
    print(f"== headline: 2PL, 10,000 persons × 50 items (best of {repeats} interleaved runs) ==")
    for se in (True, False):
        libs = [lib for lib in LIBRARIES if not (lib == "girth" and se)]  # girth: no SEs but bootstrap
        best = _best_of([(lib, 10_000, 50, se) for lib in libs], repeats)
        results = {key[0]: r for key, r in best.items()}
        for r in results.values():
            print(_row(r))
        ours, ref = results.get("competency"), results.get("mirt")
        if ours and ref:
            print(
                f"  ratio competency/mirt (se={se}): time {ours['seconds'] / ref['seconds']:.2f}, "
                f"RMSE a {ours['rmse_a'] / ref['rmse_a']:.3f}, RMSE b {ours['rmse_b'] / ref['rmse_b']:.3f}, "
                f"fit memory {ours['fit_mb'] / max(ref['fit_mb'], 1e-9):.2f}"
            )
        if ours and "girth" in results:
            g = results["girth"]
            print(
                f"  ratio competency/girth (se=no): time {ours['seconds'] / g['seconds']:.2f}, "
                f"RMSE a {ours['rmse_a'] / g['rmse_a']:.3f}, RMSE b {ours['rmse_b'] / g['rmse_b']:.3f}"
            )


def grid(ns, items_list, libs, repeats: int) -> None:
    print(f"== grid: 2PL calibration without SEs (best of {repeats} interleaved runs per cell) ==")
    configs = [(lib, n, items, False) for items in items_list for n in ns for lib in libs]
    table = {(k[0], k[1], k[2]): r for k, r in _best_of(configs, repeats).items()}
    for r in table.values():
        print(_row(r))
    print("  growth (wall time, CPU time and fit memory relative to the smallest N×items, per library):")
    for lib in libs:
        base = table.get((lib, ns[0], items_list[0]))
        if not base:
            continue
        for (l2, n, items), r in sorted(table.items(), key=lambda kv: (kv[0][1] * kv[0][2], kv[0][1])):
            if l2 != lib:
                continue
            scale = n * items / (ns[0] * items_list[0])
            print(
                f"  {lib:<11} N×items ×{scale:6.0f}: time ×{r['seconds'] / base['seconds']:7.1f}  "
                f"cpu ×{r['cpu'] / max(base['cpu'], 1e-9):7.1f}  "
                f"memory ×{max(r['fit_mb'], 1e-3) / max(base['fit_mb'], 1e-3):7.1f}"
            )
    if "mirt" in libs:
        print("  time ratio competency/mirt per cell:")
        for (lib, n, items), r in sorted(table.items()):
            ref = table.get(("mirt", n, items))
            if lib == "competency" and ref:
                print(f"    n={n:>6} items={items:>3}: {r['seconds'] / ref['seconds']:.2f}")


def recovery() -> None:
    from competency.irt import fit

    print("== recovery: competency.irt, 5,000 persons × 40 items, one replication per model ==")
    for model in ("rasch", "1pl", "2pl", "3pl", "grm", "gpcm"):
        bank, x = _data(5000, 40, model, seed=7)
        t0 = time.perf_counter()
        r = fit(x, model)
        secs = time.perf_counter() - t0
        parts = []
        for key in ("a", "b", "c", "thresholds"):
            if key in bank and key in r.params and not (model == "rasch" and key == "a"):
                err = r.params[key] - bank[key]
                parts.append(
                    f"{key}: bias {np.nanmean(err):+.4f} RMSE {np.sqrt(np.nanmean(err**2)):.4f} "
                    f"mean SE {np.nanmean(r.se[key]):.4f}"
                )
        print(
            f"  {model:<6} {secs:6.2f} s iter {r.iterations:>4} converged={r.converged}  " + "; ".join(parts)
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small grid (default)")
    parser.add_argument(
        "--full", action="store_true", help="N ∈ {1k,10k,100k} × items ∈ {20,50,200} + recovery"
    )
    parser.add_argument("--recovery", action="store_true", help="only the 5,000 × 40 recovery study")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=4, metavar=("LIB", "N", "ITEMS", "SE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        lib, n, items, se = args.worker
        print(json.dumps(_run_one(lib, int(n), int(items), se == "1")))
        return
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}, cpus={os.cpu_count()}"
    )
    if args.recovery:
        recovery()
        return
    headline(args.repeats)
    if args.full:
        grid([1_000, 10_000, 100_000], [20, 50, 200], ["competency", "mirt"], repeats=2)
        recovery()
    else:
        grid([1_000, 10_000], [20, 50], ["competency", "mirt", "girth"], repeats=args.repeats)


if __name__ == "__main__":
    main()
