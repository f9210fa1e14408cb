"""All SQL of the PetSite stub: the adoption step and the housekeeping of the workshop's
payforadoption service. Every statement is parameterized; none is built from input."""
from __future__ import annotations

# Moves every adoption into the history in one statement, so one transaction: a row is either
# still in `transactions` or already in `transactions_history`, never in both or neither.
_HOUSEKEEPING = """
WITH moved AS (
    DELETE FROM transactions RETURNING id, pet_id, adoption_date, transaction_id
)
INSERT INTO transactions_history (pet_id, adoption_date, transaction_id)
SELECT pet_id, adoption_date, transaction_id FROM moved ORDER BY id
"""


def insert_adoptions(cursor, rows) -> int:
    """Record paid adoptions: (pet_id, adoption_date, transaction_id) tuples."""
    cursor.executemany(
        "INSERT INTO transactions (pet_id, adoption_date, transaction_id) VALUES (%s, %s, %s)",
        list(rows),
    )
    return cursor.rowcount


def move_adoptions_to_history(cursor) -> int:
    """Housekeeping: every row of `transactions` into `transactions_history`; returns how many."""
    cursor.execute(_HOUSEKEEPING)
    return cursor.rowcount


def count_pending_adoptions(cursor) -> int:
    cursor.execute("SELECT count(*) FROM transactions")
    return cursor.fetchone()[0]
