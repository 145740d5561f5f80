"""Fixtures for the CAT tests."""

from __future__ import annotations

import pytest

from .banks import make_2pl_bank, make_mixed_bank


@pytest.fixture()
def mixed_bank() -> dict[str, object]:
    return make_mixed_bank()


@pytest.fixture()
def bank_2pl() -> dict[str, object]:
    return make_2pl_bank()
