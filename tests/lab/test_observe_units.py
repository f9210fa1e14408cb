"""Pure logic of `lab map`, `lab insights` and `lab dashboard`, on recorded fixtures
(tests/lab/fixtures, re-recorded by fixtures/record.py). No Docker."""
import json
import re
import xml.dom.minidom

import pytest

from labtest.checkout import ROOT
from labcli import charts, dashboard, insights, logsquery, mapdraw, servicemap

FIX = ROOT / "tests" / "lab" / "fixtures"


def load(name):
    return json.loads((FIX / name).read_text())


@pytest.fixture(params=["jaeger", "xray"])
def graph(request):
    if request.param == "jaeger":
        return servicemap.graph_from_jaeger(load("jaeger_traces.json")["data"])
    return servicemap.graph_from_segments(load("xray_segments.json"))


def test_map_has_petsite_service_and_database_with_their_edges(graph):
    data = graph.as_dict()
    nodes = {n["name"]: n for n in data["nodes"]}
    assert set(nodes) == {"PetSite", "PetAdoptionsHistory", "adoptions"}
    assert nodes["adoptions"]["type"] == "database" and nodes["adoptions"]["system"] == "postgresql"
    assert {(e["source"], e["target"]) for e in data["edges"]} == {
        ("PetSite", "PetAdoptionsHistory"), ("PetAdoptionsHistory", "adoptions")}
    # 4 recorded PetSite requests (3 GET, 1 DELETE), each reaching pethistory once
    assert nodes["PetSite"]["requests"] == nodes["PetAdoptionsHistory"]["requests"] == 4
    assert all(n["faults"] == 0 and n["latency_avg_ms"] > 0 for n in data["nodes"])


def test_jaeger_and_xray_give_the_same_map():
    a = servicemap.graph_from_jaeger(load("jaeger_traces.json")["data"]).as_dict()
    b = servicemap.graph_from_segments(load("xray_segments.json")).as_dict()
    strip = lambda d: ([(n["name"], n["type"], n["requests"]) for n in d["nodes"]],
                       [(e["source"], e["target"], e["requests"]) for e in d["edges"]])
    assert strip(a) == strip(b)


def test_an_uninstrumented_callee_is_named_after_the_host_in_the_client_span_url():
    """With the service's SDK off (the blog's figure 2), PetSite's call is a CLIENT span of the
    requests instrumentation, which names the host only in http.url (tags as Jaeger shows them):
    the map must end it at a node `pethistory`, not `remote`."""
    def tags(**kv):
        return [{"key": k.replace("_", "."), "value": v} for k, v in kv.items()]
    server = {"spanID": "a1", "processID": "p1", "operationName": "GET /pethistory", "references": [],
              "startTime": 1, "duration": 9000, "tags": tags(span_kind="server", http_status_code=200)}
    client = {"spanID": "a2", "processID": "p1", "operationName": "GET", "startTime": 2, "duration": 4000,
              "references": [{"refType": "CHILD_OF", "traceID": "t1", "spanID": "a1"}],
              "tags": tags(span_kind="client", http_method="GET", http_status_code=200,
                           http_url="http://pethistory:8080/petadoptionshistory/api/home/transactions")}
    trace = {"traceID": "t1", "spans": [server, client], "processes": {"p1": {"serviceName": "PetSite"}}}
    edges = servicemap.graph_from_jaeger([trace]).as_dict()["edges"]
    assert [(e["source"], e["target"]) for e in edges] == [("PetSite", "pethistory")]


def test_fault_status_is_counted_on_node_and_edge():
    docs = load("xray_segments.json")
    for d in docs:
        if d["name"] == "PetAdoptionsHistory":
            d["fault"], d["http"]["response"]["status"] = True, 503
            break
    nodes = {n["name"]: n for n in servicemap.graph_from_segments(docs).as_dict()["nodes"]}
    assert nodes["PetAdoptionsHistory"]["faults"] == 1


def test_inline_subsegments_are_read_like_separate_documents():
    docs = load("xray_segments.json")
    by_id = {d["id"]: d for d in docs}
    inline = []
    for d in docs:   # nest every subsegment into its parent, as X-Ray SDKs send them
        if d.get("type") == "subsegment" and d["parent_id"] in by_id and by_id[d["parent_id"]]["trace_id"] == d["trace_id"] \
                and "sql" in d:
            by_id[d["parent_id"]].setdefault("subsegments", []).append({k: v for k, v in d.items() if k not in ("parent_id", "type", "trace_id")})
        else:
            inline.append(d)
    names = {n["name"] for n in servicemap.graph_from_segments(inline).as_dict()["nodes"]}
    assert "adoptions" in names


def test_service_graph_of_real_xray_becomes_the_same_nodes():
    services = [
        {"ReferenceId": 0, "Name": "PetSite", "Type": "AWS::EKS::Container", "Edges": [
            {"ReferenceId": 1, "SummaryStatistics": {"TotalCount": 4, "TotalResponseTime": 0.08}}],
         "SummaryStatistics": {"TotalCount": 4, "TotalResponseTime": 0.1, "FaultStatistics": {"TotalCount": 1}}},
        {"ReferenceId": 1, "Name": "PetAdoptionsHistory", "Type": "AWS::EKS::Container", "Edges": [
            {"ReferenceId": 2, "SummaryStatistics": {"TotalCount": 6, "TotalResponseTime": 0.01}}],
         "SummaryStatistics": {"TotalCount": 4, "TotalResponseTime": 0.06}},
        {"ReferenceId": 2, "Name": "adoptions", "Type": "Database::SQL", "Edges": [],
         "SummaryStatistics": {"TotalCount": 6, "TotalResponseTime": 0.01}},
        {"ReferenceId": 3, "Name": "clients", "Type": "client", "Edges": [{"ReferenceId": 0}]},
    ]
    data = servicemap.graph_from_service_graph(services).as_dict()
    nodes = {n["name"]: n for n in data["nodes"]}
    assert set(nodes) == {"PetSite", "PetAdoptionsHistory", "adoptions"}
    assert nodes["adoptions"]["type"] == "database" and nodes["PetSite"]["faults"] == 1
    assert nodes["PetSite"]["latency_avg_ms"] == pytest.approx(25.0)


def test_renderings_table_dot_json_and_a_well_formed_svg(graph):
    assert "PetSite -> PetAdoptionsHistory" in mapdraw.render(graph, "table")
    dot = mapdraw.render(graph, "dot")
    assert '"PetSite" -> "PetAdoptionsHistory"' in dot and "cylinder" in dot
    assert json.loads(mapdraw.render(graph, "json"))["edges"]
    svg = xml.dom.minidom.parseString(mapdraw.render(graph, "svg"))
    names = {g.getAttribute("data-name") for g in svg.getElementsByTagName("g")}
    assert names == {"PetSite", "PetAdoptionsHistory", "adoptions"}
    assert "http" not in mapdraw.to_svg(graph).replace("http://www.w3.org/2000/svg", "")


def test_empty_map_says_how_to_get_traffic():
    assert "scripts/lab load" in mapdraw.to_table(servicemap.Graph())


# --- insights -------------------------------------------------------------------------------

def emf_events(history_counts):
    """EMF events like the recorded ones, one per scrape, with these history counts."""
    template = next(e for e in load("emf_events.json") if "transactions_history_count" in e["message"])
    out = []
    for i, count in enumerate(history_counts):
        doc = json.loads(template["message"])
        doc["transactions_history_count"] = count
        out.append({**template, "timestamp": template["timestamp"] + i * 20000, "message": json.dumps(doc)})
    return out + [e for e in load("emf_events.json") if "transactions_history_count" not in e["message"]]


def test_default_query_returns_nothing_below_90():
    columns, rows = logsquery.evaluate(insights.DEFAULT_QUERY, emf_events([0, 40, 90]))
    assert columns == ["@timestamp", "transactions_history_count"] and rows == []


def test_default_query_returns_rows_above_90_newest_first():
    columns, rows = logsquery.evaluate(insights.DEFAULT_QUERY, emf_events([50, 91, 120, 95]))
    assert [r[1] for r in rows] == [95, 120, 91]
    assert rows[0][0] > rows[1][0] > rows[2][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", rows[0][0])


@pytest.mark.parametrize("query, expected", [
    ("filter transactions_history_count >= 91 | fields transactions_history_count", [[91], [120]]),
    ("filter transactions_history_count > 90 and pod_name = 'pethistory' | fields transactions_history_count | limit 1", [[91]]),
    ("filter ispresent(transactions_history_count) and not (transactions_history_count < 100) | fields transactions_history_count", [[120]]),
    ("filter pod_name like /PET/i and transactions_history_count != 50 | fields transactions_history_count | sort transactions_history_count desc", [[120], [91]]),
    ("filter ispresent(transactions_history_count) or container_name = \"x\" | fields transactions_history_count | sort transactions_history_count asc | limit 2", [[50], [91]]),
    ("filter _aws.CloudWatchMetrics.0 = 1 | fields pod_name", []),
])
def test_filter_sort_limit_subset(query, expected):
    assert logsquery.evaluate(query, emf_events([50, 91, 120]))[1] == expected


def test_without_fields_insights_shows_timestamp_and_message():
    columns, rows = logsquery.evaluate("filter transactions_history_count > 100", emf_events([120]))
    assert columns == ["@timestamp", "@message"] and json.loads(rows[0][1])["transactions_history_count"] == 120


@pytest.mark.parametrize("query", [
    "stats count(*) by bin(5m)",
    "fields @timestamp | parse @message '* *' as a, b",
    "filter transactions_history_count > 90 | dedup pod_name",
    "filter abs(transactions_history_count) > 90",
    "fields concat(pod_name, 'x')",
    "limit 0",
    "filter a >",
])
def test_unsupported_query_parts_are_refused_in_one_line(query):
    with pytest.raises(logsquery.QueryError) as err:
        logsquery.parse(query)
    assert "\n" not in str(err.value)


# --- dashboard ------------------------------------------------------------------------------

def test_dashboard_names_only_metrics_the_service_exposes():
    body = dashboard.load()
    exposed = {line.split()[2] for line in (FIX / "metrics.txt").read_text().splitlines()
               if line.startswith("# TYPE")}
    assert set(dashboard.metric_names(body)) <= exposed
    assert {"transactions_history_count", "transactions_get_count_total"} <= set(dashboard.metric_names(body))


def test_dashboard_metrics_are_in_the_emf_namespace_and_dimensions():
    body = dashboard.load()
    emitted = set()
    for e in load("emf_events.json"):
        for d in json.loads(e["message"])["_aws"]["CloudWatchMetrics"]:
            assert d["Namespace"] == "PetAdoptionsHistory"
            emitted |= {m["Name"] for m in d["Metrics"]}
    assert set(dashboard.metric_names(body)) <= emitted
    for widget in body["widgets"]:
        if widget["type"] == "metric":
            (expr,) = [m["expression"] for row in widget["properties"]["metrics"] for m in row]
            assert "{PetAdoptionsHistory,container_name,pod_name}" in expr


def test_dashboard_layout_fits_the_24_column_grid_and_has_the_insights_widget():
    body = dashboard.load()
    for w in body["widgets"]:
        assert 0 <= w["x"] and w["x"] + w["width"] <= 24 and w["height"] > 0
    (log,) = [w for w in body["widgets"] if w["type"] == "log"]
    assert "SOURCE '/metrics/PetAdoptionsHistory'" in log["properties"]["query"]
    assert "filter transactions_history_count > 90" in log["properties"]["query"]


def test_every_dashboard_metric_has_its_promql_for_the_local_lab():
    for _, name, stat in dashboard.metric_widgets(dashboard.load()):
        assert (name, stat) in dashboard.PROMQL


def test_with_region_rewrites_every_widget():
    body = dashboard.with_region(dashboard.load(), "eu-west-1")
    assert {w["properties"]["region"] for w in body["widgets"] if "region" in w["properties"]} == {"eu-west-1"}


def test_charts_are_self_contained_svg():
    svg = charts.svg_line_chart("history", [("pethistory", [(0, 1), (20, 5), (40, 3)])])
    xml.dom.minidom.parseString(svg)
    assert "polyline" in svg and charts.sparkline([1, 5, 3]) == "▁█▄"
