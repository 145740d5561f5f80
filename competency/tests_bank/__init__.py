"""Item bank: schema, validation, scoring, delivery payloads, import/export (pure; no Flask, no DB).

Public API::

    from competency.tests_bank import (
        Item, Option, IrtParams, ItemType, ItemStatus, Scoring, IrtModel, ItemBank,
        import_items, export_items, export_bytes, BankImportError, ImportProblem,
        validate_items, score_answer, validate_answer, AnswerError, delivery_payload,
        engine_params, next_version, validate_demo_bank,
        ItemWarning, item_writing_checks, banks_item_writing_checks,
    )
"""

from competency.tests_bank.bankio import export_bytes, export_items, import_items, read_raw
from competency.tests_bank.delivery import delivery_payload
from competency.tests_bank.demo import validate_demo_bank
from competency.tests_bank.item_writing import ItemWarning, banks_item_writing_checks, item_writing_checks
from competency.tests_bank.params import engine_params, next_version, with_params
from competency.tests_bank.problems import BankImportError, ImportProblem
from competency.tests_bank.schema import (
    ITEM_FORMAT,
    IrtModel,
    IrtParams,
    Item,
    ItemBank,
    ItemStatus,
    ItemType,
    Media,
    Option,
    Scoring,
)
from competency.tests_bank.scoring import AnswerError, max_category, score_answer, validate_answer
from competency.tests_bank.validation import validate_items

__all__ = [
    "ITEM_FORMAT",
    "AnswerError",
    "BankImportError",
    "ImportProblem",
    "IrtModel",
    "IrtParams",
    "Item",
    "ItemBank",
    "ItemStatus",
    "ItemType",
    "ItemWarning",
    "Media",
    "Option",
    "Scoring",
    "banks_item_writing_checks",
    "delivery_payload",
    "engine_params",
    "export_bytes",
    "export_items",
    "import_items",
    "item_writing_checks",
    "max_category",
    "next_version",
    "read_raw",
    "score_answer",
    "validate_answer",
    "validate_demo_bank",
    "validate_items",
    "with_params",
]
