"""The adoption and housekeeping steps (the workshop's payforadoption), on top of the repository."""
from __future__ import annotations

import datetime
import random
import re
import uuid

from petsite import repository
from petsite.db import Database

MAX_BATCH = 100
_PET_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class InvalidAdoption(ValueError):
    """The request asks for something the adoption step cannot do (answered 400)."""


def new_adoption(pet_id: str | None = None) -> dict:
    if pet_id is None:
        pet_id = f"pet{random.randint(1, 999):03d}"
    elif not isinstance(pet_id, str) or not _PET_ID.match(pet_id):
        raise InvalidAdoption("pet_id must be 1-32 letters, digits, '-' or '_'")
    return {
        "pet_id": pet_id,
        "adoption_date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "transaction_id": str(uuid.uuid4()),
    }


def adopt(database: Database, adoptions: list[dict]) -> list[dict]:
    """Pay for the adoptions: one row each in `transactions`, all in one transaction."""
    if not 1 <= len(adoptions) <= MAX_BATCH:
        raise InvalidAdoption(f"between 1 and {MAX_BATCH} adoptions at a time")
    rows = [(a["pet_id"], a["adoption_date"], a["transaction_id"]) for a in adoptions]
    database.run(lambda cursor: repository.insert_adoptions(cursor, rows))
    return adoptions


def housekeeping(database: Database) -> int:
    """Move every adoption into the history; returns how many rows moved."""
    return database.run(repository.move_adoptions_to_history)
