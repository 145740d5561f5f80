"""Pure IRT numerics: item models, calibration (MML-EM), ability estimation, diagnostics.

Parameterisation everywhere: logistic, D = 1, the IRT form of ``competency.irt.models``.
"""

from competency.irt.calibration import ConvergenceWarning, FitResult, fit
from competency.irt.scoring import eap_sum_score_table, score

__all__ = ["ConvergenceWarning", "FitResult", "eap_sum_score_table", "fit", "score"]
