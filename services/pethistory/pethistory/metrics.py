"""The walkthrough's two business metrics, named exactly as the blog names them."""
from __future__ import annotations

import logging

from opentelemetry import metrics

from labtelemetry import Exposition, MirroredCounter
from pethistory import repository
from pethistory.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)


class HistoryMetrics:
    def __init__(self, meter: metrics.Meter, exposition: Exposition, database: Database):
        self._database = database
        # transactions_get_count_total on /metrics
        self.transactions_get = MirroredCounter(
            meter,
            exposition,
            "transactions_get.count",
            "The number of times the transactions_get endpoint has been called",
        )
        # transactions_history_count on /metrics, read from the database at scrape time
        exposition.observable_gauge(
            meter,
            "transactions_history.count",
            "The number of items in the transactions history",
            self.history_count,
        )

    def history_count(self) -> int | None:
        """Rows in the history now, or None (series left out) while the database is down."""
        # Scrapes are not traced, so Database.run keeps this COUNT out of traces too.
        try:
            return self._database.run(repository.count_transaction_history)
        except DatabaseUnavailable as error:
            log.warning("transactions_history_count not collected: %s", error)
            return None
