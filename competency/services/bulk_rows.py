"""Many rows written fast, for generated data (scale seeding, the simulated calibration demo): ids
reserved up front, COPY on PostgreSQL, one multi-row INSERT elsewhere."""

from __future__ import annotations

import json

from sqlalchemy import Table, func, insert, select, text

from competency.extensions import db


def reserve_ids(table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``: from its sequence on PostgreSQL, after the largest elsewhere."""
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n},
        )
        return [r[0] for r in rows]
    top = db.session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + 1 + n))


def write(table: Table, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if db.engine.dialect.name == "postgresql":
        raw = db.session.connection().connection.driver_connection
        quoted = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_json(v) if isinstance(v, (dict, list)) else v for v in row])
        return
    db.session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
