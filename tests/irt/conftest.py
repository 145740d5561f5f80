"""Fixtures: the LSAT pattern-frequency tables (1000 examinees, 5 items each).

LSAT6: Law School Admission Test section 6 (Bock & Lieberman, 1970; Thissen, 1982), the
``LSAT`` data of R ltm and ``LSAT6`` of R mirt. LSAT7: section 7 (Bock & Lieberman, 1970),
R mirt's ``LSAT7``. Patterns are listed in binary order 00000 … 11111 (item 1 first).
Check: item proportions correct are .924 .709 .553 .763 .870 (LSAT6) and
.828 .658 .772 .606 .843 (LSAT7), as the packages' descriptive tables print.
"""

import numpy as np
import pytest

PATTERNS = np.array([[int(ch) for ch in format(i, "05b")] for i in range(32)], dtype=float)
LSAT6_FREQ = np.array(
    [
        3,
        6,
        2,
        11,
        1,
        1,
        3,
        4,
        1,
        8,
        0,
        16,
        0,
        3,
        2,
        15,
        10,
        29,
        14,
        81,
        3,
        28,
        15,
        80,
        16,
        56,
        21,
        173,
        11,
        61,
        28,
        298,
    ],
    dtype=float,
)
LSAT7_FREQ = np.array(
    [
        12,
        19,
        1,
        7,
        3,
        19,
        3,
        17,
        10,
        5,
        3,
        7,
        7,
        23,
        8,
        28,
        7,
        39,
        11,
        34,
        14,
        51,
        15,
        90,
        6,
        25,
        7,
        35,
        18,
        136,
        32,
        308,
    ],
    dtype=float,
)


@pytest.fixture(scope="session")
def lsat6() -> tuple[np.ndarray, np.ndarray]:
    return PATTERNS, LSAT6_FREQ


@pytest.fixture(scope="session")
def lsat7() -> tuple[np.ndarray, np.ndarray]:
    return PATTERNS, LSAT7_FREQ
