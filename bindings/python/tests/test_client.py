"""runicorn.api against a real `runicorn viewer` on a loopback port: every method, and every
exception type (404, 400/422, 401, 5xx from a real failing route and from a stub, a stopped
server)."""
from __future__ import annotations

import csv
import http.server
import io
import json
import math
import socket
import threading

import pytest

import runicorn as rn
import runicorn.api as api
from runicorn.api import utils
from viewer import Viewer, find_binary, wait_until

BINARY = find_binary()
needs_viewer = pytest.mark.skipif(
    BINARY is None, reason="the runicorn binary is not built (configure with "
    "-DRUNTRACK_BUILD_APPS=ON and build the `runicorn` target, or set RUNICORN_BINARY)")


def populate(storage, tmp):
    """Three runs and two artifact versions, written with the SDK before the viewer starts."""
    ids = {}
    with rn.init(project="vision", name="resnet", storage=storage, config={"lr": 0.1},
                 tags=["base"]) as run:
        run.set_primary_metric("acc", "max")
        for step in range(1, 11):
            run.log({"loss": 1.0 / step, "acc": step / 10}, step=step,
                    stage="train" if step <= 5 else "eval")
        run.summary({"best_acc": 1.0})
        model = tmp / "model.bin"
        model.write_bytes(b"weights" * 1000)
        art = rn.Artifact("resnet-model", type="model", metadata={"acc": 1.0})
        art.add_file(model)
        run.log_artifact(art)
        ids["resnet"] = run.id
    with rn.init(project="vision", name="vit", storage=storage) as run:
        run.log({"loss": 0.5}, step=1)
        ids["vit"] = run.id
        consumer_art = run.use_artifact("resnet-model:latest")
        assert consumer_art.version == 1
    run = rn.init(project="nlp", name="bert", storage=storage)
    run.log({"loss": 2.0}, step=1)
    run.finish("failed")
    ids["bert"] = run.id
    return ids


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    if BINARY is None:
        pytest.skip("runicorn binary not built")
    tmp = tmp_path_factory.mktemp("viewer")
    storage = tmp / "store"
    ids = populate(storage, tmp)
    not_a_dir = tmp / "config-home"
    not_a_dir.write_text("a file where the config directory should be")
    server = Viewer(BINARY, storage, env={"XDG_CONFIG_HOME": str(not_a_dir), "HOME": str(tmp)})
    server.ids = ids
    server.tmp = tmp
    client = api.connect(server.url, max_retries=0)
    wait_until(lambda: len(client.list_experiments()) == 3)
    yield server
    server.stop()


@pytest.fixture
def client(viewer):
    with api.connect(viewer.url, timeout=10, max_retries=0) as c:
        yield c


@needs_viewer
def test_health_check(client, viewer):
    health = client.health_check()
    assert health["status"] == "ok" and health["storage"] == str(viewer.storage)


@needs_viewer
def test_list_experiments_filters_and_pages(client, viewer):
    ids = viewer.ids
    everything = client.list_experiments()
    assert {e["id"] for e in everything} == set(ids.values())
    assert [e["id"] for e in everything] == [ids["bert"], ids["vit"], ids["resnet"]]  # newest first
    assert {e["id"] for e in client.list_experiments(project="vision")} == {ids["resnet"], ids["vit"]}
    assert [e["id"] for e in client.list_experiments(name="bert")] == [ids["bert"]]
    assert [e["id"] for e in client.list_experiments(status="failed")] == [ids["bert"]]
    assert [e["id"] for e in client.list_experiments(limit=2)] == [ids["bert"], ids["vit"]]
    assert [e["id"] for e in client.list_experiments(limit=2, offset=2)] == [ids["resnet"]]
    assert [e["id"] for e in client.list_experiments(limit=1, offset=1)] == [ids["vit"]]
    assert [e["id"] for e in client.list_experiments(limit=2, offset=1)] == [ids["vit"], ids["resnet"]]
    assert client.list_experiments(offset=3) == []
    assert client.list_experiments(limit=0) == []


@needs_viewer
def test_get_experiment_and_get_run(client, viewer):
    run = client.get_experiment(viewer.ids["resnet"])
    assert (run["id"], run["project"], run["name"], run["status"]) == (
        viewer.ids["resnet"], "vision", "resnet", "finished")
    assert client.get_run(viewer.ids["bert"])["status"] == "failed"


@needs_viewer
def test_list_projects_counts_experiments(client):
    assert client.list_projects() == [{"name": "nlp", "experiment_count": 1},
                                      {"name": "vision", "experiment_count": 2}]


@needs_viewer
def test_get_metrics_returns_points_per_metric(client, viewer):
    data = client.get_metrics(viewer.ids["resnet"])
    assert set(data["metrics"]) == {"loss", "acc"}
    loss = data["metrics"]["loss"]
    assert [p["step"] for p in loss] == list(range(1, 11))
    assert [p["value"] for p in loss] == [1.0 / s for s in range(1, 11)]
    assert all(isinstance(p["timestamp"], (int, float)) and p["timestamp"] >= 0 for p in loss)
    only = client.get_metrics(viewer.ids["resnet"], metric_names=["acc", "nope"])
    assert set(only["metrics"]) == {"acc"} and only["missing_metrics"] == ["nope"]
    few = client.get_metrics(viewer.ids["resnet"], metric_names=["loss"], limit=4)
    assert 1 <= len(few["metrics"]["loss"]) <= 4


@needs_viewer
def test_get_config_and_update_config(client, viewer, tmp_path):
    config = client.get_config()
    assert config["storage"] == str(viewer.storage) and config["user_root"] == str(viewer.storage)
    with pytest.raises(api.BadRequestError):
        client.update_config({"user_root": "relative/path"})
    with pytest.raises(api.BadRequestError, match="only 'user_root'"):
        client.update_config({"theme": "dark"})


@needs_viewer
def test_a_failing_route_is_a_server_error_after_the_retries(viewer, tmp_path):
    # The viewer's config directory is a regular file here, so saving the config fails with 500.
    client = api.connect(viewer.url, max_retries=2, backoff_factor=0.01)
    sent = client._t.attempts
    with pytest.raises(api.ServerError) as info:
        client.update_config({"user_root": str(tmp_path / "new-root")})
    assert info.value.status_code == 500 and "config file" in info.value.detail
    assert client._t.attempts - sent == 3  # first try + 2 retries


@needs_viewer
def test_export_experiment_json_and_csv(client, viewer):
    run_id = viewer.ids["resnet"]
    exported = json.loads(client.export_experiment(run_id, format="json"))
    assert exported["run"]["id"] == run_id
    assert len(exported["metrics"]["rows"]) == 10
    rows = list(csv.DictReader(io.StringIO(client.export_experiment(run_id, format="csv").decode())))
    assert len(rows) == 10 and float(rows[0]["loss"]) == 1.0
    with pytest.raises(api.BadRequestError):
        client.export_experiment(run_id, format="xml")


@needs_viewer
def test_artifact_methods(client, viewer, tmp_path):
    listed = client.list_artifacts()
    assert [(a["name"], a["type"], a["latest_version"]) for a in listed] == [("resnet-model", "model", 1)]
    assert client.artifacts.list_artifacts(type="dataset") == []
    versions = client.list_versions("resnet-model")
    assert [v["version"] for v in versions] == [1]
    detail = client.get_artifact("resnet-model", 1)
    assert detail["metadata"] == {"acc": 1.0} and detail["created_by_run"] == viewer.ids["resnet"]
    lineage = client.get_lineage("resnet-model", 1)
    edges = {(e["source"], e["target"], e["edge_type"]) for e in lineage["edges"]}
    assert ("run:" + viewer.ids["resnet"], "resnet-model:v1", "produces") in edges
    assert ("resnet-model:v1", "run:" + viewer.ids["vit"], "uses") in edges
    target = client.download_artifact("resnet-model", 1, tmp_path / "dl")
    assert (target / "model.bin").read_bytes() == b"weights" * 1000
    assert client.artifacts.get_stats()["total_versions"] == 1


@needs_viewer
def test_not_found_errors(client):
    with pytest.raises(api.NotFoundError) as info:
        client.get_run("20200101_000000_abcdef")
    assert info.value.status_code == 404
    with pytest.raises(api.NotFoundError):
        client.get_metrics("20200101_000000_abcdef")
    with pytest.raises(api.NotFoundError):
        client.get_artifact("no-such-model", 1)
    with pytest.raises(api.NotFoundError):
        client.get("/api/no/such/route")


@needs_viewer
def test_bad_request_errors(client):
    # A malformed id names no run: 404 "Run not found", as Runicorn answers (never a file access).
    with pytest.raises(api.NotFoundError) as info:
        client.get_run("not-a-run-id")
    assert info.value.status_code == 404 and info.value.detail == "Run not found"
    with pytest.raises(api.BadRequestError) as info:
        client.list_experiments(status="sleeping")
    assert info.value.status_code == 422
    assert isinstance(info.value, api.RunicornAPIError)


@needs_viewer
def test_token_protected_viewer(tmp_path):
    server = Viewer(BINARY, tmp_path / "store", "--token", "s3cret")
    try:
        with pytest.raises(api.AuthenticationError) as info:
            api.connect(server.url, verify=False).list_experiments()
        assert info.value.status_code == 401
        with pytest.raises(api.AuthenticationError):
            api.connect(server.url, token="wrong").list_projects()
        client = api.connect(server.url, token="s3cret")
        assert client.list_experiments() == []
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stopped_server_is_a_connection_error():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(api.ConnectionError) as info:
        api.connect(url, max_retries=1, backoff_factor=0.01)
    assert isinstance(info.value, api.RunicornAPIError) and info.value.status_code is None
    client = api.RunicornClient(url, max_retries=0, verify=False)
    with pytest.raises(api.ConnectionError, match="runicorn viewer"):
        client.list_experiments()


@needs_viewer
def test_server_stopped_midway_is_a_connection_error(tmp_path):
    server = Viewer(BINARY, tmp_path / "store")
    client = api.connect(server.url, max_retries=1, backoff_factor=0.01)
    server.stop()
    with pytest.raises(api.ConnectionError):
        client.health_check()


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 `fail` times, then 200 with a health body."""
    fail = 0
    seen = 0

    def do_GET(self):
        type(self).seen += 1
        status, body = (503, {"detail": "busy"}) if type(self).seen <= type(self).fail else \
            (200, {"status": "ok"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("fail,retries,ok", [(2, 3, True), (3, 3, True), (4, 3, False),
                                             (1, 0, False)])
def test_5xx_answers_are_retried_with_backoff(fail, retries, ok):
    handler = type("Flaky", (_Flaky,), {"fail": fail, "seen": 0})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = api.RunicornClient(f"http://127.0.0.1:{httpd.server_port}", max_retries=retries,
                                    backoff_factor=0.001, verify=False)
        if ok:
            assert client.health_check() == {"status": "ok"}
            assert handler.seen == fail + 1
        else:
            with pytest.raises(api.ServerError) as info:
                client.health_check()
            assert info.value.status_code == 503 and info.value.detail == "busy"
            assert handler.seen == retries + 1
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_pandas_helpers_need_pandas_or_work():
    metrics = {"metrics": {"loss": [{"step": 1, "value": 0.5, "timestamp": 0.0},
                                    {"step": 2, "value": 0.25, "timestamp": 1.0}],
                           "acc": [{"step": 2, "value": 0.9, "timestamp": 1.0}]}}
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas"):
            utils.metrics_to_dataframe(metrics)
        with pytest.raises(ImportError, match="needs pandas"):
            utils.experiments_to_dataframe([])
        return
    df = utils.metrics_to_dataframe(metrics)
    assert list(df.columns) == ["step", "acc", "loss"] and list(df["step"]) == [1, 2]
    assert math.isnan(df["acc"][0]) and df["loss"][1] == 0.25
