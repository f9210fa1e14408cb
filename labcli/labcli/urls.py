"""Where to look once the lab runs: URLs derived from the resolved compose config, so the
ports in .env stay their only source."""

PETHISTORY_API = "/petadoptionshistory/api/home/transactions"


def published(cfg, service, target):
    """host:port on which `service` publishes container port `target`, or None."""
    svc = cfg.get("services", {}).get(service)
    for port in (svc or {}).get("ports", []):
        if int(port.get("target", 0)) == target and port.get("published"):
            return f"{port.get('host_ip') or '127.0.0.1'}:{port['published']}"
    return None


def lab_urls(cfg, backend, region):
    """[(label, url)] for everything a user can open or point a client at."""
    rows = []
    app = published(cfg, "pethistory", 8080)
    if app:
        rows += [
            ("pethistory API", f"http://{app}{PETHISTORY_API}"),
            ("pethistory health", f"http://{app}/health/status"),
            ("pethistory metrics", f"http://{app}/metrics"),
            ("pethistory OpenAPI", f"http://{app}/openapi.json"),
        ]
    for label, service, target, path in (
        ("PetSite page", "petsite-stub", 8000, "/"),
        ("Locust web UI (load)", "loadgen", 8089, "/"),
        ("lab console", "console", 8070, "/"),
    ):
        addr = published(cfg, service, target)
        if addr:
            rows.append((label, f"http://{addr}{path}"))
    for label, target, scheme in (("collector OTLP gRPC", 4317, ""), ("collector OTLP HTTP", 4318, "http://")):
        addr = published(cfg, "collector", target)
        if addr:
            rows.append((label, f"{scheme}{addr}"))
    if backend == "local":
        jaeger = published(cfg, "jaeger", 16686)
        prom = published(cfg, "prometheus", 9090)
        if jaeger:
            rows.append(("Jaeger UI (traces)", f"http://{jaeger}/search?service=PetAdoptionsHistory"))
        if prom:
            rows.append(("Prometheus (metrics)", f"http://{prom}/graph?g0.expr=transactions_history_count&g0.tab=0"))
    elif backend == "emulated":
        moto = published(cfg, "moto", 4566)
        if moto:
            rows.append(("moto (AWS emulator)", f"http://{moto}   (AWS_ENDPOINT_URL=http://{moto})"))
            rows.append(("moto dashboard", f"http://{moto}/moto-api/"))
    elif backend == "aws":
        console = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        rows.append(("X-Ray traces", f"{console}#xray:traces/query"))
        rows.append(("CloudWatch metrics", f"{console}#metricsV2:graph=~();namespace=PetAdoptionsHistory"))
        rows.append(("EMF log group", f"{console}#logsV2:log-groups/log-group/$252Fmetrics$252FPetAdoptionsHistory"))
    return rows


def table(rows, headers=None):
    """Left-aligned text table of string tuples."""
    rows = [tuple(str(c) for c in r) for r in rows]
    if headers:
        rows = [tuple(headers)] + rows
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if headers:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
