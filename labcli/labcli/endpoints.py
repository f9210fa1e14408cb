"""Where the observe commands (map, insights, dashboard, verify) read the lab's signals.

Addresses come from the resolved compose config (ports live in .env only); each can be
overridden by an environment variable, which is how the console container, which reaches the
backends by their compose names, uses the same code:
  LAB_JAEGER_URL, LAB_PROMETHEUS_URL, LAB_AWS_ENDPOINT_URL, LAB_PETHISTORY_URL, LAB_PETSITE_URL,
  LAB_COLLECTOR_OTLP_HTTP_URL, AWS_REGION.
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from . import compose
from .compose import LabError
from .urls import published

LOG_GROUP = "/metrics/PetAdoptionsHistory"
NAMESPACE = "PetAdoptionsHistory"


@dataclass
class Endpoints:
    backend: str
    region: str = "us-east-1"
    jaeger: str | None = None
    prometheus: str | None = None
    aws: str | None = None          # the emulator's endpoint (emulated); None = real AWS
    pethistory: str | None = None
    petsite: str | None = None
    collector_http: str | None = None

    def aws_client(self):
        from .awsapi import Boto3Client, EmulatorClient
        if self.backend == "emulated":
            if not self.aws:
                raise LabError("no AWS emulator address (is the lab up with --backend emulated?)")
            return EmulatorClient(self.aws, self.region)
        return Boto3Client(self.region)


def _env_endpoints(backend):
    get = os.environ.get
    return Endpoints(backend=backend, region=get("AWS_REGION", "us-east-1"),
                     jaeger=get("LAB_JAEGER_URL"), prometheus=get("LAB_PROMETHEUS_URL"),
                     aws=get("LAB_AWS_ENDPOINT_URL"), pethistory=get("LAB_PETHISTORY_URL"),
                     petsite=get("LAB_PETSITE_URL"), collector_http=get("LAB_COLLECTOR_OTLP_HTTP_URL"))


def pick_backend(requested):
    """--backend if given, else the running lab's, else LAB_BACKEND/.env."""
    return requested or os.environ.get("LAB_OBSERVE_BACKEND") or compose.running_backend() or compose.default_backend()


def resolve(requested=None):
    """Endpoints of the running lab, from `docker compose config` plus env overrides."""
    if os.environ.get("LAB_OBSERVE_BACKEND"):   # inside the console container: env only
        return _env_endpoints(os.environ["LAB_OBSERVE_BACKEND"])
    backend = pick_backend(requested)
    cfg = compose.config(backend)

    def url(service, port):
        addr = published(cfg, service, port)
        return f"http://{addr}" if addr else None

    env = cfg.get("services", {}).get("collector", {}).get("environment", {}) or {}
    found = Endpoints(backend=backend, region=os.environ.get("AWS_REGION") or env.get("AWS_REGION", "us-east-1"),
                      jaeger=url("jaeger", 16686), prometheus=url("prometheus", 9090),
                      aws=url("moto", 4566) if backend == "emulated" else None,
                      pethistory=url("pethistory", 8080), petsite=url("petsite-stub", 8000),
                      collector_http=url("collector", 4318))
    override = _env_endpoints(backend)
    for field in ("jaeger", "prometheus", "aws", "pethistory", "petsite", "collector_http"):
        if getattr(override, field):
            setattr(found, field, getattr(override, field))
    return found


def get_json(base, path, params=None, timeout=15):
    """GET base+path?params as JSON; one-line LabError when the service does not answer."""
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        raise LabError(f"{url}: HTTP {err.code}")
    except (urllib.error.URLError, OSError) as err:
        raise LabError(f"{base} does not answer ({getattr(err, 'reason', err)})")
