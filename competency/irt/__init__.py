"""Pure IRT numerics: item models, calibration (MML-EM), ability estimation, diagnostics.

Parameterisation everywhere: logistic, D = 1, the IRT form documented in
``competency.irt.models`` (a, b, c; GRM/GPCM thresholds b_k, categories 0..K−1).

* ``fit(responses, model="2pl", weights=None, *, fixed=None, ...) -> FitResult``
  (``calibration``): Bock–Aitkin EM on 61 equally spaced nodes on [−6, 6].
* ``score(responses, params, model=None, method="eap", ...) -> (theta, se)`` (``scoring``):
  ``model`` is a name, one name per item, or ``params["model"]``; ``params`` may be a FitResult.
* ``eap_sum_score_table(params, model)``: EAP and SD for every sum score.
* ``models``: vectorised kernels; ``diagnostics``: S-X², infit/outfit, reliability, information;
  ``convert``: IRT ↔ slope–intercept form with delta-method SEs; ``simulate``: simulated data.
"""

from competency.irt.calibration import ConvergenceWarning, FitResult, fit
from competency.irt.scoring import eap_sum_score_table, score

__all__ = ["ConvergenceWarning", "FitResult", "eap_sum_score_table", "fit", "score"]
