"""/metrics: the walkthrough's series, parsed with prometheus_client's own parser."""
from prometheus_client.parser import text_string_to_metric_families

from conftest import TRANSACTIONS, seed


def scrape(client_or_http, url="/metrics"):
    response = client_or_http.get(url)
    assert response.status_code == 200
    text = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples, name, **labels):
    matching = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert matching, f"{name}{labels} not exposed"
    return sum(matching)


def test_counter_counts_get_calls_and_gauge_counts_rows(app, client):
    seed(app, 7)
    client.get(TRANSACTIONS)  # an OTel counter is exposed from its first add on
    before = value(scrape(client), "transactions_get_count_total")
    for _ in range(4):
        client.get(TRANSACTIONS)
    client.delete(TRANSACTIONS)  # not a GET: not counted
    samples = scrape(client)
    assert value(samples, "transactions_get_count_total") == before + 4
    assert value(samples, "transactions_history_count") == 0


def test_gauge_follows_the_table(app, client):
    seed(app, 91)
    assert value(scrape(client), "transactions_history_count") == 91


def test_http_process_and_python_series_named_in_the_emf_selectors_are_exposed(client):
    client.get(TRANSACTIONS)
    client.get("/nope")
    samples = scrape(client)
    endpoint = "pethistory.transactions_get"
    assert value(samples, "flask_http_request_total", method="GET", status="200") >= 1
    assert value(samples, "flask_http_request_total", method="GET", status="404") >= 1
    assert value(samples, "flask_http_request_duration_seconds_count", endpoint=endpoint) >= 1
    assert value(samples, "flask_exporter_info") == 1
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_gc_collections_total", "python_info"):
        assert name in samples, name
