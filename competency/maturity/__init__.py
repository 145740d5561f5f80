"""Institution digital-maturity model and the rules that combine evidence into levels (pure: networkx + stdlib).

from competency.maturity import maturity_model, rules
model = maturity_model()                 # areas → sub-areas → indicators, five levels, crosswalks
model.graph                              # networkx.DiGraph ("contains" tree + "supports" links)
rules.questionnaire_scores(...)          # anonymous 1–5 agreement, groups of at least 5
"""

from competency.maturity import rules
from competency.maturity.model import (
    DATA_DIR,
    GROUPS,
    LEVELS,
    Indicator,
    MaturityModel,
    ModelError,
    build,
    load_data,
    maturity_model,
    validate,
)

__all__ = [
    "DATA_DIR",
    "GROUPS",
    "LEVELS",
    "Indicator",
    "MaturityModel",
    "ModelError",
    "build",
    "load_data",
    "maturity_model",
    "rules",
    "validate",
]
