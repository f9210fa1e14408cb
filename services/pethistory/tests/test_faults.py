"""The lab's fault drill: the feature flag pethistoryFailure (flagd's file provider, OpenFeature)
fails that share of API requests with a JSON 500 that shows in the trace; no file, no fault."""
import json
import os
import time

import pytest
import requests
from openfeature import api
from openfeature.provider import ProviderStatus
from opentelemetry.trace import SpanKind, StatusCode

from conftest import TRANSACTIONS, seed
from pethistory import repository

FLAG = "pethistoryFailure"
MESSAGE = "fault injected by feature flag pethistoryFailure"
PROVIDER_LOGGER = "openfeature.contrib"
# Reads the same global provider as the app, without the app's hook (no span events).
observer = api.get_client("tests")


def flag_document(share: float, variant: str = "on") -> str:
    return json.dumps({
        "$schema": "https://flagd.dev/schema/v0/flags.json",
        "flags": {FLAG: {"state": "ENABLED", "variants": {"on": share, "off": 0.0}, "defaultVariant": variant}},
    })


class FlagFile:
    def __init__(self, path):
        self.path = path

    def write(self, text: str) -> None:
        """Atomically, as labcli does: a new file renamed over the old one."""
        new = self.path.with_name(".flags.json.new")
        new.write_text(text)
        os.replace(new, self.path)

    def share(self, share: float, variant: str = "on") -> None:
        self.write(flag_document(share, variant))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def wait_for(condition, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


def flags_read(share: float):
    def read() -> bool:
        return observer.get_provider_status() is ProviderStatus.READY and observer.get_float_value(FLAG, -1.0) == share

    return read


def flags_unavailable() -> bool:
    return observer.get_provider_status() is ProviderStatus.ERROR


def let_the_watcher_poll() -> None:
    """Several of the provider's polls of the file (FLAGD_DEADLINE_MS=100 in conftest)."""
    time.sleep(0.6)


@pytest.fixture
def flags(app, flag_path):
    """The app's flag file; removed again after the test (every fault off for the other tests)."""
    flag_file = FlagFile(flag_path)
    yield flag_file
    flag_file.remove()
    wait_for(flags_unavailable, "the provider saw the file go")


def provider_log(caplog):
    return [record for record in caplog.records if record.name == PROVIDER_LOGGER]


def server_spans(spans):
    return [span for span in spans() if span.kind == SpanKind.SERVER]


def test_no_flag_file_no_fault(client, flag_path):
    assert not flag_path.exists()
    assert [client.get(TRANSACTIONS).status_code for _ in range(50)] == [200] * 50


def test_full_share_fails_every_api_request_with_json_and_the_trace_shows_it(app, client, flags, spans):
    seed(app, 3)
    flags.share(1.0)
    wait_for(flags_read(1.0), "the provider read the file")
    responses = [client.get(TRANSACTIONS) for _ in range(10)] + [client.delete(TRANSACTIONS) for _ in range(10)]
    for response in responses:
        assert response.status_code == 500
        assert response.get_json() == {"status": 500, "error": "Internal Server Error", "message": MESSAGE}
    # The handlers never ran: nothing was deleted, no custom or database span.
    assert app.extensions["pethistory.database"].run(repository.count_transaction_history) == 3
    assert {span.name for span in spans()} == {f"GET {TRANSACTIONS}", f"DELETE {TRANSACTIONS}"}
    failed = server_spans(spans)
    assert len(failed) == 20
    for span in failed:
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["http.status_code"] == 500
        exceptions = [event for event in span.events if event.name == "exception"]
        assert [(e.attributes["exception.type"], e.attributes["exception.message"]) for e in exceptions] == [
            ("pethistory.faults.FaultInjected", f"500 Internal Server Error: {MESSAGE}")
        ]
        evaluations = [event for event in span.events if event.name == "feature_flag.evaluation"]
        assert [(e.attributes["feature_flag.key"], e.attributes["feature_flag.result.variant"],
                 e.attributes["feature_flag.result.value"]) for e in evaluations] == [(FLAG, "on", "1.0")]


def test_zero_share_fails_nothing_and_the_evaluation_is_in_the_span(client, flags, spans):
    flags.share(1.0, variant="off")
    wait_for(flags_read(0.0), "the provider read the file")
    assert [client.get(TRANSACTIONS).status_code for _ in range(50)] == [200] * 50
    for span in server_spans(spans):
        assert span.status.status_code is StatusCode.UNSET
        assert [e.attributes["feature_flag.result.variant"] for e in span.events] == ["off"]


def test_half_share_fails_about_half_of_the_requests(client, flags):
    flags.share(0.5)
    wait_for(flags_read(0.5), "the provider read the file")
    statuses = [client.get(TRANSACTIONS).status_code for _ in range(400)]
    assert set(statuses) == {200, 500}
    # Binomial(400, 0.5): mean 200, standard deviation 10; these bounds are 8 deviations away.
    assert 120 <= statuses.count(500) <= 280


def test_a_file_written_later_or_rewritten_is_picked_up(client, flags, flag_path):
    assert client.get(TRANSACTIONS).status_code == 200
    flags.share(1.0)
    wait_for(lambda: client.get(TRANSACTIONS).status_code == 500, "the new file fails requests")
    flags.share(1.0, variant="off")  # renamed over the old one
    wait_for(lambda: client.get(TRANSACTIONS).status_code == 200, "the rewritten file ends the fault")
    assert [client.get(TRANSACTIONS).status_code for _ in range(20)] == [200] * 20
    flag_path.write_text(flag_document(1.0))  # rewritten in place
    wait_for(lambda: client.get(TRANSACTIONS).status_code == 500, "the file rewritten in place fails requests")


def test_health_metrics_and_unknown_paths_never_fail(client, flags):
    flags.share(1.0)
    wait_for(flags_read(1.0), "the provider read the file")
    for _ in range(10):
        assert client.get("/health/status").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/petadoptionshistory/api/nope").status_code == 404
    assert client.get(TRANSACTIONS).status_code == 500


@pytest.mark.parametrize(
    "content, logged",
    [
        ("", "Could not parse JSON flag data from file"),
        ("{not json", "Could not parse JSON flag data from file"),
        ('{"flags": 5}', "Could not parse flag data using flagd syntax"),
        (None, "Provided file path not valid"),  # the file deleted
    ],
)
def test_an_unreadable_file_ends_the_fault_with_one_log_line(client, flags, caplog, content, logged):
    flags.share(1.0)
    wait_for(flags_read(1.0), "the provider read the file")
    caplog.clear()
    flags.remove() if content is None else flags.write(content)
    wait_for(flags_unavailable, "the provider saw the file change")
    let_the_watcher_poll()
    assert [client.get(TRANSACTIONS).status_code for _ in range(20)] == [200] * 20
    messages = [record.getMessage() for record in provider_log(caplog)]
    assert len(messages) == 1 and messages[0].startswith(logged), messages
    flags.share(1.0)
    wait_for(lambda: client.get(TRANSACTIONS).status_code == 500, "a good file again fails requests")


def test_a_flag_of_the_wrong_type_is_off_and_says_so_in_the_span(client, flags, spans):
    flags.write(json.dumps({"flags": {FLAG: {"state": "ENABLED", "variants": {"on": "half"}, "defaultVariant": "on"}}}))
    wait_for(lambda: observer.get_provider_status() is ProviderStatus.READY, "the provider read the file")
    assert [client.get(TRANSACTIONS).status_code for _ in range(10)] == [200] * 10
    for span in server_spans(spans):
        assert [e.name for e in span.events] == ["feature_flag.evaluation"]
        assert span.events[0].attributes["error.type"] == "type_mismatch"


def test_gunicorn_reads_a_late_file_and_logs_its_absence_once(gunicorn_factory, tmp_path):
    path = tmp_path / "late" / "flags.json"
    path.parent.mkdir()
    # The provider's own poll period (FLAGD_DEADLINE_MS unset), as in the lab.
    server = gunicorn_factory(FLAGD_RESOLVER="file", FLAGD_OFFLINE_FLAG_SOURCE_PATH=str(path))
    url = server.url + TRANSACTIONS
    with requests.Session() as http:
        assert http.get(url, timeout=5).status_code == 200
        time.sleep(1.6)  # three polls of the missing file
        assert http.get(url, timeout=5).status_code == 200
        FlagFile(path).share(1.0)
        wait_for(lambda: http.get(url, timeout=5).status_code == 500, "the late file fails requests")
        assert http.get(url, timeout=5).json()["message"] == MESSAGE
        FlagFile(path).share(1.0, variant="off")
        wait_for(lambda: http.get(url, timeout=5).status_code == 200, "the rewritten file ends the fault")
        assert http.get(server.url + "/health/status", timeout=5).status_code == 200
    assert server.stop() == 0
    messages = [entry["message"] for entry in server.json_lines() if entry["logger"] == PROVIDER_LOGGER]
    assert messages == ["Provided file path not valid"]
    assert "Traceback" not in "\n".join(line for line in server.log_lines() if not line.startswith("{"))
