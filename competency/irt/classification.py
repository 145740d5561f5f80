"""Classification accuracy and consistency of levels given by cut scores on θ.

A level we certify is a claim about a person, so its expected correctness is a number we compute:

* **Simulated accuracy**: with known true θ (a simulation), the share of people whose estimated
  level equals their true level.
* **Expected accuracy and consistency (Rudner's method)**: from each person's θ̂ and standard error
  alone, so it applies to live data too. The true θ given θ̂ is taken as normal, N(θ̂, SE²); the
  probability of each level is the mass of that normal between the level's cuts. Accuracy is the
  mean probability of the level actually given; consistency, the mean probability that two
  independent, equally precise measurements give the same level (Σₖ pₖ²). Rudner, L. M. (2001),
  "Computing the expected proportions of misclassified examinees", Practical Assessment, Research &
  Evaluation 7(14); Rudner, L. M. (2005), "Expected classification accuracy", PARE 10(13). The
  consistency index under the same normal model follows Lee, W.-C. (2010), "Classification
  consistency and accuracy for complex assessments using item response theory", JEM 47(1).
* For a grade that depends on several dimensions (an overall level), the same probabilities are
  estimated by drawing θ from each person's normal and applying the grade rule to the draws.

Pure numpy/scipy: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

Classifier = Callable[[NDArray[np.float64]], NDArray[np.intp]]


def classify(theta: ArrayLike, cuts: Sequence[float]) -> NDArray[np.intp]:
    """Level index of each θ: the number of cuts at or below it (a θ on a cut belongs to the upper level)."""
    return np.searchsorted(np.asarray(cuts, dtype=float), np.asarray(theta, dtype=float), side="right")


def level_probabilities(theta: ArrayLike, se: ArrayLike, cuts: Sequence[float]) -> NDArray[np.float64]:
    """P(true level = k | θ̂, SE) under N(θ̂, SE²): shape (n, number of levels)."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    se = np.maximum(np.atleast_1d(np.asarray(se, dtype=float)), 1e-9)
    edges = np.concatenate(([-np.inf], np.asarray(cuts, dtype=float), [np.inf]))
    cdf = norm.cdf((edges[None, :] - theta[:, None]) / se[:, None])
    return np.diff(cdf, axis=1)


@dataclass(frozen=True)
class Agreement:
    """Classification indices for one reported level (a dimension, or the overall grade)."""

    accuracy: float  # expected (Rudner) or simulated share classified correctly
    consistency: float  # expected share classified the same by two parallel measurements
    n: int

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson score interval of ``accuracy`` treated as a proportion of ``n`` people."""
        return wilson_interval(self.accuracy, self.n, confidence)

    def to_dict(self) -> dict[str, float | int | list[float]]:
        lo, hi = self.interval()
        return {
            "accuracy": round(self.accuracy, 3),
            "consistency": round(self.consistency, 3),
            "n": self.n,
            "accuracy_ci95": [round(lo, 3), round(hi, 3)],
        }


def rudner(theta: ArrayLike, se: ArrayLike, cuts: Sequence[float]) -> Agreement:
    """Expected classification accuracy and consistency of one reported level (Rudner 2001, 2005)."""
    probs = level_probabilities(theta, se, cuts)
    given = classify(theta, cuts)
    accuracy = probs[np.arange(len(given)), given]
    return Agreement(float(accuracy.mean()), float((probs**2).sum(axis=1).mean()), int(len(given)))


def rudner_composite(
    theta: ArrayLike,
    se: ArrayLike,
    classifier: Classifier,
    draws: int = 400,
    seed: int = 0,
    cov: ArrayLike | None = None,
) -> Agreement:
    """Rudner's indices for a grade computed from several dimensions by ``classifier``.

    ``theta`` and ``se`` are (n, dims); ``classifier`` maps an (m, dims) array of θ to level indices.
    The probabilities of each person's levels are estimated from ``draws`` normal draws around θ̂.
    ``cov`` (n, dims, dims), when given, is each person's posterior covariance and replaces ``se``:
    a multidimensional CAT's errors are correlated (the prior's correlation carries over), and a
    composite's error is then larger than independent draws with the same SEs would say, so
    independent draws overstate the composite's accuracy.
    """
    theta = np.asarray(theta, dtype=float)
    se = np.asarray(se, dtype=float)
    n, dims = theta.shape
    rng = np.random.default_rng(seed)
    given = classifier(theta)
    noise = rng.standard_normal((n, draws, dims))
    if cov is None:
        sample = theta[:, None, :] + se[:, None, :] * noise
    else:
        chol = np.linalg.cholesky(np.asarray(cov, dtype=float).reshape(n, dims, dims))
        sample = theta[:, None, :] + np.einsum("nde,nke->nkd", chol, noise)
    drawn = classifier(sample.reshape(n * draws, dims)).reshape(n, draws)
    top = int(max(drawn.max(), given.max())) + 1
    freq = np.stack([(drawn == k).mean(axis=1) for k in range(top)], axis=1)
    accuracy = freq[np.arange(n), given]
    return Agreement(float(accuracy.mean()), float((freq**2).sum(axis=1).mean()), n)


def simulated(true_levels: ArrayLike, estimated_levels: ArrayLike) -> float:
    """Share of simulated people whose estimated level equals their true level."""
    true_levels = np.asarray(true_levels)
    return float(np.mean(true_levels == np.asarray(estimated_levels))) if true_levels.size else float("nan")


def wilson_interval(p: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed in ``n`` trials."""
    if n <= 0 or not np.isfinite(p):
        return (float("nan"), float("nan"))
    z = float(norm.ppf(0.5 + confidence / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def likely_range(theta: float, se: float, cuts: Sequence[float], coverage: float = 0.8) -> tuple[int, int]:
    """Lowest and highest level index touched by the central ``coverage`` interval θ̂ ± z·SE.

    Says a level's uncertainty in plain words: "L4, most likely between L3 and L5".
    """
    z = float(norm.ppf(0.5 + coverage / 2))
    lo, hi = classify([theta - z * se, theta + z * se], cuts)
    return int(lo), int(hi)
