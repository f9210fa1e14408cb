"""The console with the aws backend: the data is in the user's account and the console has no
credentials, so the page says where to read it instead of showing SDK errors."""
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest
from labcli.console import Handler


@pytest.fixture
def console(monkeypatch):
    monkeypatch.setenv("LAB_OBSERVE_BACKEND", "aws")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("LAB_LINKS", "PetSite=http://127.0.0.1:8000/")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_page_points_to_the_aws_consoles_and_the_host_commands(console):
    status, body = get(console + "/")
    assert status == 200
    assert "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#xray:service-map/map" in body
    assert "logs-insights" in body and "#dashboards:" in body and "scripts/lab map" in body
    assert "PetSite" in body  # the lab's own links stay
    assert "class='error'" not in body and "boto3 (pip install" not in body


def test_the_map_picture_says_how_to_draw_it(console):
    status, body = get(console + "/map.svg")
    assert status == 503 and "scripts/lab map --format svg" in body
