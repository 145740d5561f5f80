"""DIF simulation with known DIF (power and type-I rate), and IRT-LR DIF against Python `mirt` 1.2.0.

Design (as tests/irt/test_dif.py, with more replications): 20 2PL items, 800 + 800 persons,
focal group 0.5 SD lower (impact), items 0 and 1 shifted by +0.6 / −0.6 logits for the focal
group (uniform DIF), each person answers 14 of the 20 items at random (missing by design).
MH and logistic regression match on WLE θ̂; IRT-LR uses multigroup calibration with Woods'
rank-chosen anchors on complete data (the multigroup fits cost more).

    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_dif.py --reps 200 --lr-reps 20
    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_dif.py --mirt

``--mirt`` fits one complete data set with both libraries, same anchors (items 2–5), mirt's
``dif(method="likelihood_ratio", scheme="add", anchors=...)`` against our ``irt_lr_dif(anchors=...)``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from competency.irt import score
from competency.irt.dif import logistic_dif, mantel_haenszel
from competency.irt.multigroup import irt_lr_dif
from competency.irt.simulate import random_bank, simulate_responses

BANK = random_bank(20, "2pl", seed=3)


def simulate(seed, n=800, sparse=14, shift=0.6):
    rng = np.random.default_rng(seed)
    g = np.repeat([0, 1], n)
    th = np.concatenate([rng.normal(0, 1, n), rng.normal(-0.5, 1, n)])
    x = simulate_responses(BANK, th, "2pl", seed=rng)
    focal = {k: v.copy() for k, v in BANK.items()}
    focal["b"][0] += shift
    focal["b"][1] -= shift
    x[g == 1] = simulate_responses(focal, th[g == 1], "2pl", seed=rng)
    if sparse < 20:
        x = np.where(np.argsort(rng.random(x.shape), axis=1) < sparse, x, np.nan)
    return x, g


def rates(reps: int, lr_reps: int) -> None:
    hits = {"MH": [], "logistic": [], "IRT-LR": []}
    false = {"MH": [], "logistic": [], "IRT-LR": []}
    ets_c = []
    t0 = time.perf_counter()
    for rep in range(reps):
        x, g = simulate(1000 + rep)
        theta, _ = score(x, BANK, "2pl", method="wle")
        mh = mantel_haenszel(x, g, theta)
        lr = logistic_dif(x, g, theta)
        ets_c.extend(mh["ets"][:2] != "A")
        for name, p in (("MH", mh["p_value"]), ("logistic", lr["p_both"])):
            hits[name].extend(p[:2] < 0.05)
            false[name].extend(p[2:] < 0.05)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    for rep in range(lr_reps):
        x, g = simulate(5000 + rep, sparse=20)
        res = irt_lr_dif(x, g, "2pl")
        hits["IRT-LR"].extend(res["flag"][:2])
        studied = [j for j in range(2, 20) if j not in res["anchors"]]
        false["IRT-LR"].extend(res["flag"][studied])
    t_lr = time.perf_counter() - t0
    print(
        f"MH + logistic: {reps} replications in {t_fast:.1f} s; IRT-LR: {lr_reps} replications in {t_lr:.1f} s"
    )
    print("method     power (2 DIF items)   type-I (18 clean items, α = .05)   tests")
    for name in hits:
        if hits[name]:
            n = len(false[name])
            rate = np.mean(false[name])
            print(
                f"{name:10s} {np.mean(hits[name]):.3f}                 {rate:.4f} ± {np.sqrt(rate * (1 - rate) / n):.4f}"
                f"                  {len(hits[name])} / {n}"
            )
    print(f"ETS class B or C for the DIF items (|Δb| = 0.6 ≈ 1.4 ETS delta): {np.mean(ets_c):.3f}")


def versus_mirt() -> None:
    from mirt.diagnostics import compute_dif  # mirt.dif wraps it in a DataFrame (needs pandas)

    x, g = simulate(77, n=1000, sparse=20)
    anchors = [2, 3, 4, 5]
    t0 = time.perf_counter()
    ours = irt_lr_dif(x, g, "2pl", anchors=anchors)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = compute_dif(
        x.astype(int), g, model="2PL", method="likelihood_ratio", scheme="add", anchors=anchors
    )
    t_mirt = time.perf_counter() - t0
    print(f"ours {t_ours:.2f} s, mirt {t_mirt:.2f} s (16 studied items, anchors {anchors})")
    print("mirt keys:", sorted(theirs))
    stat = np.asarray(theirs["statistic"], float)
    print(" item   G² ours   G² mirt   p ours   p mirt")
    studied = [j for j in range(20) if j not in anchors]
    pm = np.asarray(theirs["p_value"], float)
    for k, j in enumerate(studied):
        sm = stat[j] if stat.size == 20 else stat[k]
        pmj = pm[j] if pm.size == 20 else pm[k]
        print(f"{j:5d} {ours['chi2'][j]:9.3f} {sm:9.3f} {ours['p_value'][j]:8.4f} {pmj:8.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--lr-reps", type=int, default=20)
    ap.add_argument("--mirt", action="store_true")
    args = ap.parse_args()
    if args.mirt:
        versus_mirt()
    else:
        rates(args.reps, args.lr_reps)


if __name__ == "__main__":
    main()
