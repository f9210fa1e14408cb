"""All SQL of the service. Every statement is parameterized; none is built from input."""
from __future__ import annotations

from importlib import resources

# Serializes schema creation across workers and replicas starting at once.
_SCHEMA_LOCK_ID = 7_202_604

# Postgres builds the JSON array itself: one text value instead of one Python object per cell.
_LIST_HISTORY = """
SELECT coalesce(json_agg(json_build_object(
           'id', id,
           'pet_id', pet_id,
           'adoption_date', to_char(adoption_date, 'YYYY-MM-DD'),
           'transaction_id', transaction_id) ORDER BY id), '[]')::text
FROM transactions_history
"""


def ensure_schema(cursor) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_ID,))
    cursor.execute(resources.files(__package__).joinpath("schema.sql").read_text())


def list_transaction_history_json(cursor) -> str:
    """Every history row as a JSON array of objects with ISO dates, ordered by id."""
    cursor.execute(_LIST_HISTORY)
    return cursor.fetchone()[0]


def delete_transaction_history(cursor) -> int:
    cursor.execute("DELETE FROM transactions_history")
    return cursor.rowcount


def count_transaction_history(cursor) -> int:
    cursor.execute("SELECT count(*) FROM transactions_history")
    return cursor.fetchone()[0]


def insert_transaction_history(cursor, rows) -> int:
    """Seed rows: (pet_id, adoption_date, transaction_id) tuples."""
    cursor.executemany(
        "INSERT INTO transactions_history (pet_id, adoption_date, transaction_id) VALUES (%s, %s, %s)",
        list(rows),
    )
    return cursor.rowcount
