"""The fixed quadrature used for marginal likelihoods, EAP and diagnostics.

Default: 61 equally spaced nodes on [−6, 6] (the grid R mirt prints as "61 rectangular
quadrature" for one dimension), weighted by the standard normal density and normalised
to sum to one. Nodes are on the standard scale; a latent N(μ, σ²) uses μ + σ·node.
"""

from __future__ import annotations

import numpy as np

DEFAULT_POINTS = 61
DEFAULT_BOUND = 6.0


def normal_grid(
    n_points: int = DEFAULT_POINTS, bound: float = DEFAULT_BOUND
) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal nodes and weights (weights sum to 1)."""
    if n_points < 5 or bound <= 0:
        raise ValueError("quadrature: need at least 5 points and a positive bound")
    nodes = np.linspace(-bound, bound, int(n_points))
    weights = np.exp(-0.5 * nodes**2)
    return nodes, weights / weights.sum()
