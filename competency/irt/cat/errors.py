"""Errors raised by the adaptive engine; each names the field or item at fault."""

from __future__ import annotations


class CatError(ValueError):
    """Base class: bad input to the adaptive engine (the state is left unchanged)."""


class ConfigError(CatError):
    """An EngineConfig field is missing, unknown or out of range."""


class BankError(CatError):
    """An item bank is malformed (duplicate id, bad parameters, unknown model...)."""


class UnknownItemError(CatError):
    """An item id that is not in the bank."""


class ItemAlreadyAnsweredError(CatError):
    """An item that the state already holds a response for."""


class InvalidResponseError(CatError):
    """A score outside the item's categories 0..K-1."""


class StateMismatchError(CatError):
    """A CatState that was built for another bank, or is internally inconsistent."""
