"""The few AWS calls the observe commands make (X-Ray, CloudWatch Logs, CloudWatch).

Two clients with the same methods:
  * EmulatorClient: stdlib urllib against the lab's AWS emulator (moto), which checks no
    signatures, so `scripts/lab map|insights|dashboard|verify` need no venv in `emulated`;
  * Boto3Client: boto3 with the usual credential chain, for the real AWS (`aws`).
Times are epoch seconds (floats).
"""
import json
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from xml.etree import ElementTree

from .compose import LabError

LOGS_TARGET = "Logs_20140328."
# moto picks the service from the credential scope of the Authorization header.
_SIGNING_NAMES = {"xray": "xray", "logs": "logs", "cloudwatch": "monitoring"}


@contextmanager
def aws_errors(service):
    """boto3's errors (no credentials, no answer, access denied) as one LabError line; without
    boto3 (the emulator's client, which raises LabErrors itself) nothing to translate."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        yield
        return
    try:
        yield
    except (BotoCoreError, ClientError) as err:
        raise LabError(f"{service}: {err}")


class EmulatorClient:
    def __init__(self, endpoint, region="us-east-1", timeout=15):
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.timeout = timeout

    def _post(self, service, path, body, headers):
        auth = (f"AWS4-HMAC-SHA256 Credential=petlab/20260101/{self.region}/"
                f"{_SIGNING_NAMES[service]}/aws4_request, SignedHeaders=host, Signature=0")
        req = urllib.request.Request(self.endpoint + path, data=body, method="POST",
                                     headers={"Authorization": auth, **headers})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:300]
            raise LabError(f"AWS emulator {service} {path}: HTTP {err.code}: {detail}")
        except (urllib.error.URLError, OSError) as err:
            raise LabError(f"AWS emulator at {self.endpoint} does not answer ({err}); is the lab up with --backend emulated?")

    def _xray(self, path, payload):
        return json.loads(self._post("xray", path, json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"}) or b"{}")

    def _logs(self, action, payload):
        return json.loads(self._post("logs", "/", json.dumps(payload).encode(),
                                     {"Content-Type": "application/x-amz-json-1.1",
                                      "X-Amz-Target": LOGS_TARGET + action}) or b"{}")

    # --- X-Ray
    def trace_ids(self, start, end):
        ids, token = [], None
        while True:
            payload = {"StartTime": start, "EndTime": end}
            if token:
                payload["NextToken"] = token
            out = self._xray("/TraceSummaries", payload)
            ids += [s["Id"] for s in out.get("TraceSummaries", [])]
            token = out.get("NextToken")
            if not token:
                return ids

    def segment_documents(self, trace_ids):
        docs = []
        for i in range(0, len(trace_ids), 5):  # BatchGetTraces takes at most 5 ids
            out = self._xray("/Traces", {"TraceIds": trace_ids[i:i + 5]})
            docs += [json.loads(s["Document"]) for t in out.get("Traces", []) for s in t.get("Segments", [])]
        return docs

    def service_graph(self, start, end):
        return self._xray("/ServiceGraph", {"StartTime": start, "EndTime": end}).get("Services", [])

    # --- CloudWatch Logs
    def log_events(self, group, start=None, end=None, limit=10000):
        events, token = [], None
        while len(events) < limit:
            payload = {"logGroupName": group}
            if start is not None:
                payload["startTime"] = int(start * 1000)
            if end is not None:
                payload["endTime"] = int(end * 1000)
            if token:
                payload["nextToken"] = token
            try:
                out = self._logs("FilterLogEvents", payload)
            except LabError as err:
                if "ResourceNotFoundException" in str(err):
                    return []
                raise
            events += out.get("events", [])
            token = out.get("nextToken")
            if not token or not out.get("events"):
                break
        return events[:limit]

    def log_groups(self, prefix):
        """DescribeLogGroups: [{logGroupName, storedBytes, retentionInDays (when set), ...}]."""
        groups, token = [], None
        while True:
            payload = {"logGroupNamePrefix": prefix, **({"nextToken": token} if token else {})}
            out = self._logs("DescribeLogGroups", payload)
            groups += out.get("logGroups", [])
            token = out.get("nextToken")
            if not token:
                return groups

    def delete_log_group(self, name):
        self._logs("DeleteLogGroup", {"logGroupName": name})

    # --- CloudWatch (query protocol: form in, XML out)
    def _cloudwatch(self, action, params):
        form = urllib.parse.urlencode({"Action": action, "Version": "2010-08-01", **params}).encode()
        return self._post("cloudwatch", "/", form, {"Content-Type": "application/x-www-form-urlencoded"})

    def put_dashboard(self, name, body):
        self._cloudwatch("PutDashboard", {"DashboardName": name, "DashboardBody": body})

    def get_dashboard(self, name):
        return self._cloudwatch("GetDashboard", {"DashboardName": name}).decode()

    def dashboards(self, prefix):
        """ListDashboards: [{DashboardName, Size, LastModified}]."""
        entries, token = [], None
        while True:
            params = {"DashboardNamePrefix": prefix, **({"NextToken": token} if token else {})}
            root = ElementTree.fromstring(self._cloudwatch("ListDashboards", params))
            entries += [{"DashboardName": m.findtext("{*}DashboardName"), "Size": int(m.findtext("{*}Size") or 0),
                         "LastModified": m.findtext("{*}LastModified")}
                        for m in root.iterfind(".//{*}DashboardEntries/{*}member")]
            token = root.findtext(".//{*}NextToken")
            if not token:
                return entries

    def delete_dashboards(self, names):
        self._cloudwatch("DeleteDashboards", {f"DashboardNames.member.{i}": n for i, n in enumerate(names, 1)})


class Boto3Client:
    """The same calls on the real AWS; credentials and region as boto3 finds them."""

    def __init__(self, region):
        try:
            import boto3
        except ImportError:
            raise LabError("the aws backend needs boto3 (pip install boto3, or run inside the test venv)")
        self._session = boto3.session.Session(region_name=region)
        self.region = region

    def _client(self, name):
        return self._session.client(name)

    def trace_ids(self, start, end):
        pages = self._client("xray").get_paginator("get_trace_summaries").paginate(StartTime=start, EndTime=end)
        return [s["Id"] for page in pages for s in page.get("TraceSummaries", [])]

    def segment_documents(self, trace_ids):
        xray, docs = self._client("xray"), []
        for i in range(0, len(trace_ids), 5):
            out = xray.batch_get_traces(TraceIds=trace_ids[i:i + 5])
            docs += [json.loads(s["Document"]) for t in out["Traces"] for s in t["Segments"]]
        return docs

    def service_graph(self, start, end):
        pages = self._client("xray").get_paginator("get_service_graph").paginate(StartTime=start, EndTime=end)
        return [svc for page in pages for svc in page.get("Services", [])]

    def log_events(self, group, start=None, end=None, limit=10000):
        kwargs = {"logGroupName": group}
        if start is not None:
            kwargs["startTime"] = int(start * 1000)
        if end is not None:
            kwargs["endTime"] = int(end * 1000)
        events = []
        for page in self._client("logs").get_paginator("filter_log_events").paginate(**kwargs):
            events += page["events"]
            if len(events) >= limit:
                break
        return events[:limit]

    def start_query(self, group, query, start, end):
        logs = self._client("logs")
        return logs.start_query(logGroupName=group, queryString=query,
                                startTime=int(start), endTime=int(end))["queryId"]

    def query_results(self, query_id):
        return self._client("logs").get_query_results(queryId=query_id)

    def log_groups(self, prefix):
        pages = self._client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix)
        return [g for page in pages for g in page.get("logGroups", [])]

    def delete_log_group(self, name):
        self._client("logs").delete_log_group(logGroupName=name)

    def dashboards(self, prefix):
        pages = self._client("cloudwatch").get_paginator("list_dashboards").paginate(DashboardNamePrefix=prefix)
        return [d for page in pages for d in page.get("DashboardEntries", [])]

    def delete_dashboards(self, names):
        self._client("cloudwatch").delete_dashboards(DashboardNames=list(names))

    def put_dashboard(self, name, body):
        out = self._client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body)
        problems = out.get("DashboardValidationMessages") or []
        if problems:
            raise LabError(f"PutDashboard: {problems[0].get('Message')} ({problems[0].get('DataPath')})")

    def list_metrics(self, namespace):
        """[{MetricName, Dimensions: [{Name, Value}]}] of namespace (ListMetrics)."""
        pages = self._client("cloudwatch").get_paginator("list_metrics").paginate(Namespace=namespace)
        return [{"MetricName": m["MetricName"], "Dimensions": m.get("Dimensions", [])}
                for page in pages for m in page["Metrics"]]

    def latest_values(self, namespace, metrics, start, end, period=60, stat="Average"):
        """[(timestamp, value) or (None, None)] for each of metrics (list_metrics' entries): the
        newest datapoint of GetMetricData in [start, end]."""
        cloudwatch, out = self._client("cloudwatch"), []
        for i in range(0, len(metrics), 500):   # GetMetricData takes at most 500 queries
            batch = metrics[i:i + 500]
            queries = [{"Id": f"m{n}", "ReturnData": True,
                        "MetricStat": {"Metric": {"Namespace": namespace, **m}, "Period": period, "Stat": stat}}
                       for n, m in enumerate(batch)]
            newest = {}
            pages = cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending")
            for page in pages:
                for result in page["MetricDataResults"]:
                    for t, v in zip(result.get("Timestamps", []), result.get("Values", [])):
                        if t.timestamp() > newest.get(result["Id"], (0, None))[0]:
                            newest[result["Id"]] = (t.timestamp(), v)
            out += [newest.get(f"m{n}", (None, None)) for n in range(len(batch))]
        return out
