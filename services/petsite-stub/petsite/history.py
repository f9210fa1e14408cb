"""PetSite's calls into PetAdoptionsHistory, as the workshop's PetSite made them.

Each call is bounded by timeouts and retried a bounded number of times (labservice.http_client);
the requests instrumentation (telemetry.py) makes it a CLIENT span carrying X-Amzn-Trace-Id and
traceparent. Every failure becomes
`HistoryUnavailable` with the status PetSite answers and a message: 503 when pethistory cannot be
reached, 502 when it timed out or answered with an error.
"""
from __future__ import annotations

import requests

from labservice import http_client
from petsite.config import Config

TRANSACTIONS = "/petadoptionshistory/api/home/transactions"


class HistoryUnavailable(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class HistoryClient:
    def __init__(self, config: Config):
        self.url = config.pethistory_url + TRANSACTIONS
        self.read_timeout = config.pethistory_read_timeout
        self.session = http_client.session(
            connect_timeout=config.pethistory_connect_timeout,
            read_timeout=config.pethistory_read_timeout,
            retries=config.pethistory_retries,
        )

    def list_json(self) -> bytes:
        """The history as pethistory's JSON body (an array of row objects)."""
        return self._call("GET").content

    def rows(self) -> list[dict]:
        try:
            rows = self._call("GET").json()
        except ValueError:
            raise HistoryUnavailable(502, "pethistory answered something that is not JSON") from None
        if not isinstance(rows, list):
            raise HistoryUnavailable(502, "pethistory answered JSON that is not a list of rows")
        return rows

    def clear(self) -> bytes:
        return self._call("DELETE").content

    def _call(self, method: str) -> requests.Response:
        try:
            response = self.session.request(method, self.url)
        except requests.RequestException as error:
            raise _unavailable(error, self.url, self.read_timeout) from None
        if response.status_code >= 400:
            raise HistoryUnavailable(
                502, f"pethistory answered {response.status_code}: {_message(response)}"
            )
        return response


def _unavailable(error: requests.RequestException, url: str, read_timeout: float) -> HistoryUnavailable:
    cause = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, requests.ConnectTimeout):
        return HistoryUnavailable(503, f"pethistory unreachable at {url}: connection timed out")
    if isinstance(error, requests.Timeout) or "ReadTimeout" in type(cause).__name__:
        return HistoryUnavailable(502, f"pethistory did not answer within {read_timeout:g} s ({url})")
    if isinstance(error, requests.ConnectionError):
        return HistoryUnavailable(503, f"pethistory unreachable at {url}: {_short(cause or error)}")
    return HistoryUnavailable(502, f"call to pethistory failed: {_short(error)}")


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except ValueError:
        pass
    return response.reason or "error"


def _short(error: object) -> str:
    text = str(error)
    # urllib3 wraps the useful part: "...: Failed to establish a new connection: [Errno 111] ..."
    marker = "Failed to establish a new connection: "
    if marker in text:
        text = text.split(marker, 1)[1].rstrip("')\"")
    return text[:200]
