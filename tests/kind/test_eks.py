"""The eks overlay: IRSA on pethistory-sa, the aws backend, the database secret instead of a
password, and an IAM policy that allows exactly what the collector and the service call, on
exactly the lab's log group and secret."""
import json
import re

import pytest

from labtest.collector_layers import effective
from conftest import OVERLAYS, containers_by_name, generated, one

EKS = OVERLAYS["eks"]
POLICY = json.loads((EKS / "iam-policy.json").read_text())
TRUST = json.loads((EKS / "iam-trust-policy.json").read_text())
EKS_ENV = dict(line.split("=", 1) for line in (EKS / "eks.env").read_text().splitlines()
               if line.strip() and not line.startswith("#"))
LOG_GROUP = effective(["aws.yaml"])["exporters"]["awsemf"]["log_group_name"]

# action -> why the lab needs it. Anything else in the policy fails.
NEEDED_ACTIONS = {
    "xray:PutTraceSegments": "awsxray exporter: sends the spans",
    "xray:PutTelemetryRecords": "awsxray exporter: its health records when telemetry is enabled (X-Ray write pair, as AWSXrayWriteOnlyAccess)",
    "logs:CreateLogGroup": "awsemf exporter: creates /metrics/PetAdoptionsHistory on first use",
    "logs:CreateLogStream": "awsemf exporter: creates its log stream (otel-stream)",
    "logs:DescribeLogStreams": "awsemf exporter: looks up the stream before writing",
    "logs:PutLogEvents": "awsemf exporter: writes the EMF events (the metrics)",
    "secretsmanager:GetSecretValue": "pethistory: reads DB_SECRET_ID at start",
}


def statements():
    return POLICY["Statement"]


def test_service_account_carries_the_irsa_role_from_eks_env(manifests):
    sa = one(manifests["eks"], "ServiceAccount", "pethistory-sa")
    arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert arn == EKS_ENV["IRSA_ROLE_ARN"]
    assert re.fullmatch(r"arn:aws:iam::(\d{12}|<ACCOUNT_ID>):role/\S+", arn), arn


def test_kind_service_account_has_no_irsa_annotation(manifests):
    sa = one(manifests["kind"], "ServiceAccount", "pethistory-sa")
    assert "eks.amazonaws.com/role-arn" not in (sa["metadata"].get("annotations") or {})


def test_eks_uses_the_aws_backend_and_the_database_secret(manifests):
    docs = manifests["eks"]
    lab_env = generated(docs, "lab-env")["data"]
    assert lab_env["LAB_BACKEND"] == "aws"
    assert lab_env["DB_SECRET_ID"] == EKS_ENV["DB_SECRET_ID"]
    _, _, app = containers_by_name(docs)["pethistory"]
    names = {e["name"] for e in app["env"]}
    assert "DB_SECRET_ID" in names and "DB_PASSWORD" not in names


def test_every_statement_has_a_sid_and_allows_only_needed_actions():
    seen = set()
    for statement in statements():
        assert re.fullmatch(r"[A-Za-z0-9]+", statement.get("Sid", "")), statement
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action, action
            assert action in NEEDED_ACTIONS, f"{action} is not needed by the lab"
        seen.update(actions)
    assert seen == set(NEEDED_ACTIONS), f"missing: {set(NEEDED_ACTIONS) - seen}"


def resources(prefix):
    out = []
    for statement in statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(a.startswith(prefix) for a in actions):
            assert all(a.startswith(prefix) for a in actions), "one service per statement"
            out.extend(statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    return out


def test_logs_actions_are_limited_to_the_emf_log_group():
    group = f"arn:aws:logs:<REGION>:<ACCOUNT_ID>:log-group:{LOG_GROUP}"
    for arn in resources("logs:"):
        assert arn in (group, f"{group}:log-stream:*"), arn


def test_secret_read_is_limited_to_the_one_secret():
    (arn,) = resources("secretsmanager:")
    # Secrets Manager appends 6 random characters to a secret's ARN.
    assert arn == f"arn:aws:secretsmanager:<REGION>:<ACCOUNT_ID>:secret:{EKS_ENV['DB_SECRET_ID']}-??????"


def test_xray_resource_is_star_because_xray_has_no_resource_level_permissions():
    assert resources("xray:") == ["*"]


def test_trust_policy_admits_only_pethistory_sa():
    (statement,) = TRUST["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    assert conditions["<OIDC_PROVIDER>:sub"] == "system:serviceaccount:petlab:pethistory-sa"
    assert conditions["<OIDC_PROVIDER>:aud"] == "sts.amazonaws.com"
