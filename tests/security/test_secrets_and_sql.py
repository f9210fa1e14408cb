"""No secret in the repository, and no SQL built from strings.

The scan reads every tracked file. The only credential-looking values allowed are listed below,
each with why it is not a secret.
"""
import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, tracked_files

ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b")
SECRET_KEY = re.compile(r"(?i)secret_?access_?key\w*[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})\b")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# name containing password/passwd/secret key, then = or :, then a literal value
ASSIGNED = re.compile(
    r"(?i)\b\w*(?:password|passwd|pwd|secret_access_key|secret_key)\w*[\"']?\s*[:=]\s*"
    r"(?:(?P<q>[\"'])(?P<quoted>[^\"'\n]*)(?P=q)|(?P<bare>[^\s\"'#,;)]+))"
)

# (path, value) -> why it is allowed.
ALLOWED = {
    (".env", "petlab"): "POSTGRES_PASSWORD of the local lab's throw-away database, documented in place; "
                        "in AWS the password comes from Secrets Manager (DB_SECRET_ID)",
    ("collector/env/emulated.env", "petlab"): "moto accepts any key: a fixed dummy for the emulator",
    ("tests/labtest/labtest/lab_session.py", "petlab"): "the same moto dummy key (the tests' emulator client)",
    ("tests/lab/test_e2e_emulated.py", "petlab"): "the same dummy, as the shell's exported keys",
    ("tests/lab/test_aws_credentials.py", "petlab"): "the same dummy, for the credentials pre-flight check",
    ("tests/lab/test_compose_config.py", "petlab"): "the same dummy, passed through the compose config",
    ("services/pethistory/tests/test_secret.py", "testing"): "moto's documented dummy credentials",
    ("services/pethistory/tests/test_secret.py", "oops"): "a deliberately malformed secret",
    ("services/pethistory/tests/test_gunicorn.py", "hunter2-do-not-log"): "a canary the test proves never reaches the logs",
    (".ci/images/postgres/docker-entrypoint.sh", "password"): "upstream entrypoint's help text",
}
NOT_VALUES = {"", "...", "none", "null", "true", "false", "str", "env"}
SKIP_SUFFIXES = (".lock", ".png", ".jpg", ".svg", ".ico", ".gz")
# In these, an unquoted value after NAME= is a literal; in code only quoted strings are.
CONFIG_LIKE = (".env", ".yaml", ".yml", ".json", ".sh", ".ini", ".toml", ".cfg", ".conf", ".md", "Dockerfile")


def scanned():
    for path in tracked_files():
        if path.resolve() == Path(__file__).resolve():
            continue  # this file's test vectors are fake credentials, by design
        if path.suffix in SKIP_SUFFIXES or path.name.endswith(SKIP_SUFFIXES) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        yield path.relative_to(ROOT).as_posix(), text


def literal_values(text, config_like=True):
    for match in ASSIGNED.finditer(text):
        value = match.group("quoted") if match.group("q") else match.group("bare")
        line = text.count("\n", 0, match.start()) + 1
        if value is None or value.lower() in NOT_VALUES or value.startswith(("$", "{", "%", "<")):
            continue
        if " " in value.strip():
            continue  # prose (a message, a description), not a credential
        if not match.group("q") and not config_like:
            continue  # code: a name or a call, not a literal
        yield line, value.split("=")[-1] if match.group("q") and "=" in value else value


def test_no_aws_access_key_ids_secret_keys_or_private_keys():
    found = []
    for rel, text in scanned():
        for pattern in (ACCESS_KEY_ID, SECRET_KEY, PRIVATE_KEY):
            found += [f"{rel}: {m.group(0)[:24]}..." for m in pattern.finditer(text)]
    assert found == []


def test_no_password_or_key_literal_other_than_the_documented_ones():
    found = [f"{rel}:{line}: {value!r}" for rel, text in scanned()
             for line, value in literal_values(text, rel.endswith(CONFIG_LIKE) or "/env/" in rel)
             if (rel, value) not in ALLOWED]
    assert found == [], "credential-looking literals (add to ALLOWED only with a reason):\n" + "\n".join(found)


def test_the_scanner_catches_what_it_is_for():
    fake_id = "AKIA" + "ABCDEFGHIJKLMNOP"
    assert ACCESS_KEY_ID.search(f"aws_access_key_id = {fake_id}")
    assert PRIVATE_KEY.search("-----BEGIN " + "RSA PRIVATE KEY-----")
    assert SECRET_KEY.search("aws_secret_access_key = " + "a" * 40)
    assert [v for _l, v in literal_values('DB_PASSWORD="s3cr3t"\nPOSTGRES_PASSWORD=hunter\n')] == ["s3cr3t", "hunter"]
    assert list(literal_values("db_password=env.get('DB_PASSWORD', cls.db_password)", config_like=False)) == []
    assert [v for _l, v in literal_values('secret = {"password": "Pa55"}', config_like=False)] == ["Pa55"]


# --- the lab's database password stays in the lab ------------------------------------------
# .env's POSTGRES_PASSWORD is a throw-away password of the local database: it may reach only
# the database and the services that connect to it, the database is not published on the host,
# no image carries it, and on EKS the service reads Secrets Manager (DB_SECRET_ID) instead.
PASSWORD_REF = re.compile(r"\$\{POSTGRES_PASSWORD(?:[:?-][^}]*)?\}")


def password_holders(compose):
    """compose service -> its environment entries that interpolate ${POSTGRES_PASSWORD}."""
    out = {}
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        items = env.items() if isinstance(env, dict) else (e.partition("=")[::2] for e in env)
        refs = [key for key, value in items if PASSWORD_REF.search(str(value))]
        if refs or any(PASSWORD_REF.search(str(f)) for f in service.get("env_file", [])):
            out[name] = refs
    return out


def env_entries(node):
    """Every container env entry ({name, value|valueFrom}) in a YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, list):
                yield from (e for e in value if isinstance(e, dict))
            yield from env_entries(value)
    elif isinstance(node, list):
        for value in node:
            yield from env_entries(value)


def kustomize_files(directory):
    """The YAML files a kustomization uses (resources, patches, components), recursively."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    for entry in kustomization.get("resources", []) + kustomization.get("components", []):
        path = (directory / entry).resolve()
        yield from kustomize_files(path) if path.is_dir() else [path]
    for patch in kustomization.get("patches", []) + kustomization.get("patchesStrategicMerge", []):
        path = patch.get("path") if isinstance(patch, dict) else patch
        if path:
            yield (directory / path).resolve()


def uses_the_lab_password(entry):
    ref = (entry.get("valueFrom") or {}).get("configMapKeyRef") or (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
    return entry.get("name") in ("DB_PASSWORD", "POSTGRES_PASSWORD") or ref.get("key") == "POSTGRES_PASSWORD"


def postgres_addresses(compose):
    """postgres, and the fault proxy's aliases whose proxy (faults/toxiproxy.json) forwards to it."""
    aliases = compose["services"]["toxiproxy"]["networks"]["default"]["aliases"]
    proxies = json.loads((ROOT / "faults" / "toxiproxy.json").read_text())
    return {"postgres"} | {p["name"] for p in proxies if p["upstream"] == "postgres:5432" and p["name"] in aliases}


def test_the_lab_password_reaches_only_the_database_and_its_clients(compose):
    holders = password_holders(compose)
    assert "postgres" in holders, "the database gets its password from .env"
    for name in set(holders) - {"postgres"}:
        env = compose["services"][name].get("environment", {})
        assert isinstance(env, dict) and env.get("DB_HOST") in postgres_addresses(compose), \
            f"compose service {name} gets POSTGRES_PASSWORD ({holders[name]}) but does not connect to postgres"
        assert holders[name] == ["DB_PASSWORD"], f"{name}: {holders[name]}"


def test_the_database_is_not_reachable_from_the_host(compose):
    postgres = compose["services"]["postgres"]
    assert not postgres.get("ports") and postgres.get("network_mode") != "host", postgres.get("ports")


def test_no_image_carries_the_password():
    for dockerfile in sorted(ROOT.glob("**/Dockerfile")):
        if ".git" in dockerfile.parts:
            continue
        for number, line in enumerate(dockerfile.read_text().splitlines(), 1):
            if re.match(r"\s*(ENV|ARG)\b", line, re.I):
                assert not re.search(r"PASSWORD|PGPASSWORD", line, re.I), \
                    f"{dockerfile.relative_to(ROOT)}:{number}: {line.strip()}"


def test_eks_reads_the_database_credentials_from_secrets_manager():
    eks = ROOT / "kind" / "overlays" / "eks"
    entries = [(path, e) for path in sorted(set(kustomize_files(eks)))
               for doc in yaml.safe_load_all(path.read_text()) for e in env_entries(doc)]
    assert entries, "no container env found in the eks overlay's files"
    leaks = [f"{p.relative_to(ROOT)}: {e['name']}" for p, e in entries if uses_the_lab_password(e)]
    assert leaks == [], "the eks overlay hands the lab password to a container: " + ", ".join(leaks)
    assert any(e["name"] == "DB_SECRET_ID" for _p, e in entries), "eks: no DB_SECRET_ID"
    env_file = {k: v for k, _s, v in (line.partition("=") for line in (eks / "eks.env").read_text().splitlines()
                                      if line and not line.startswith("#"))}
    assert env_file.get("DB_SECRET_ID"), "eks.env sets no DB_SECRET_ID"


def test_the_password_checks_catch_what_they_are_for():
    leaky = {"services": {"postgres": {"environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"}},
                          "collector": {"environment": ["DB_PASSWORD=${POSTGRES_PASSWORD:-x}"]}}}
    assert password_holders(leaky) == {"postgres": ["POSTGRES_PASSWORD"], "collector": ["DB_PASSWORD"]}
    with pytest.raises(AssertionError, match="collector"):
        test_the_lab_password_reaches_only_the_database_and_its_clients(leaky)
    assert uses_the_lab_password({"name": "PGPASS", "valueFrom": {"configMapKeyRef": {"key": "POSTGRES_PASSWORD"}}})
    assert not uses_the_lab_password({"name": "DB_SECRET_ID", "valueFrom": {"configMapKeyRef": {"key": "DB_SECRET_ID"}}})
    assert list(env_entries({"spec": {"containers": [{"env": [{"name": "A"}]}]}})) == [{"name": "A"}]


# --- SQL ------------------------------------------------------------------------------------
def sql_modules():
    return sorted(p for p in ROOT.glob("services/*/**/*.py") if "tests" not in p.parts)


def built_string(node):
    """Why a SQL argument is built from pieces (f-string, %, +, .format, concatenation), or None."""
    if isinstance(node, ast.JoinedStr):
        return "f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return "% or + on strings"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return f".{node.func.attr}()"
    return None


def execute_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("execute", "executemany", "mogrify", "copy_expert") and node.args:
            yield node


@pytest.mark.parametrize("module", sql_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_is_never_built_from_strings(module):
    tree = ast.parse(module.read_text())
    # Names assigned from built strings count too (sql = f"..."; cursor.execute(sql)).
    built_names = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and built_string(node.value)
                   for t in node.targets if isinstance(t, ast.Name)}
    for call in execute_calls(tree):
        query = call.args[0]
        reason = built_string(query) or ("a name bound to a built string"
                                         if isinstance(query, ast.Name) and query.id in built_names else None)
        assert reason is None, f"{module.name}:{call.lineno}: SQL built with {reason}; pass parameters instead"


def test_only_repository_modules_run_sql():
    runners = [p.relative_to(ROOT).as_posix() for p in sql_modules() if any(execute_calls(ast.parse(p.read_text())))]
    assert runners and all(p.endswith("repository.py") for p in runners), runners


def test_the_sql_check_catches_what_it_is_for():
    bad = ast.parse('cursor.execute(f"SELECT * FROM t WHERE id = {x}")\n'
                    'cursor.execute("SELECT %s" % x)\ncursor.execute("SELECT {}".format(x))')
    assert [built_string(c.args[0]) for c in execute_calls(bad)] == ["f-string", "% or + on strings", ".format()"]
    good = ast.parse('cursor.execute("SELECT * FROM t WHERE id = %s", (x,))')
    assert [built_string(c.args[0]) for c in execute_calls(good)] == [None]
