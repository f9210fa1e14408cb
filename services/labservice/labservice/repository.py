"""The one statement every service runs the same way; each service's own SQL is in its repository.py."""
from __future__ import annotations


def ping(cursor) -> None:
    cursor.execute("SELECT 1")
