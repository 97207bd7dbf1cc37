"""The training service API end to end with the reference trainer and generator
(examples/llm_service, docs/API-v1.md): a real `runicorn viewer --llm-service`, real training
with Debian's python3-torch on a tiny instruction dataset, on the CPU.

login -> upload -> process -> train (2 epochs, LoRA r=4) -> status shows progress, train_loss
decreases -> the model is listed with its training config and metrics -> generation -> cancel of
a second job (its run ends interrupted, no model).

Skipped, saying so, when torch is missing, unless RUNICORN_REQUIRE_TORCH is set (then it fails).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

import runicorn as rn

from viewer import REPO, Viewer, find_binary

requests = pytest.importorskip("requests")

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

if not HAVE_TORCH and not os.environ.get("RUNICORN_REQUIRE_TORCH"):
    pytest.skip("python3-torch is not installed (apt-get install python3-torch, see scripts/setup-deps.sh); "
                "set RUNICORN_REQUIRE_TORCH=1 to make this a failure", allow_module_level=True)

BINARY = find_binary()
SERVICE_CONFIG = REPO / "examples" / "llm_service" / "service.json"
USERS = ["ada", "bob", "cy", "dan", "eve", "fay", "gus", "hal"]


def arithmetic_rows(n: int) -> list:
    rng = random.Random(5)
    rows = []
    for _ in range(n):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        rows.append({"instruction": f"what is {a} plus {b}?", "response": f"{a} plus {b} is {a + b}."})
    return rows


class Client:
    """The API as one user sees it; training-class reads rotate over several users, since each
    may make only 10 training requests an hour (the seed's limit) and a status poll is one."""

    def __init__(self, url: str, tokens: list):
        self.url = url + "/api/v1"
        self.tokens = tokens
        self.polls = 0

    def headers(self, i: int = 0) -> dict:
        return {"Authorization": f"Bearer {self.tokens[i]}"}

    def post(self, path: str, body: dict, user: int = 0):
        return requests.post(self.url + path, json=body, headers=self.headers(user), timeout=120)

    def get(self, path: str, user: int = 0):
        return requests.get(self.url + path, headers=self.headers(user), timeout=60)

    def status(self, task_id: str) -> dict:
        # Users 1.. share the polls, 8 each; user 0 keeps its budget for starting jobs.
        user = 1 + (self.polls // 8) % (len(self.tokens) - 1)
        self.polls += 1
        r = self.get(f"/train/status/{task_id}", user)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def service(tmp_path):
    if BINARY is None:
        pytest.skip("no runicorn binary: build the `runicorn` target or set RUNICORN_BINARY")
    store = tmp_path / "store"
    for name in USERS:
        subprocess.run([BINARY, "users", "add", name, "--password-stdin", "--storage", str(store)],
                       input=f"password-{name}\n", text=True, check=True, capture_output=True)
    # The trainer and generator import runicorn from wherever this test does.
    pythonpath = str(Path(rn.__file__).resolve().parents[1])
    viewer = Viewer(BINARY, store, "--llm-service", str(SERVICE_CONFIG), env={"PYTHONPATH": pythonpath})
    try:
        tokens = []
        for name in USERS:
            r = requests.post(viewer.url + "/api/v1/login", json={"username": name, "password": f"password-{name}"},
                              timeout=30)
            assert r.status_code == 200, r.text
            tokens.append(r.json()["token"])
        yield viewer, Client(viewer.url, tokens)
    finally:
        viewer.stop()


def wait_for(predicate, timeout: float, interval: float):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(interval)


def metric_series(viewer: Viewer, run_id: str, metric: str) -> list:
    r = requests.get(f"{viewer.url}/api/runs/{run_id}/metrics_step", params={"metrics": metric}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    col = body["columns"].index(metric)
    values = [row[metric] if isinstance(row, dict) else row[col] for row in body["rows"]]
    return [v for v in values if v is not None]


def test_train_generate_cancel_with_the_reference_trainer(service):
    viewer, api = service
    # Upload and process a small instruction dataset.
    data = json.dumps(arithmetic_rows(96))
    r = requests.post(api.url + "/datasets/upload", headers=api.headers(),
                      files={"file": ("arith.json", data, "application/json")}, data={"name": "arith"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["samples_count"] == 96
    r = api.post("/datasets/process", {"dataset_id": "arith:v1", "output_name": "arith_processed",
                                       "train_ratio": 0.75, "val_ratio": 0.125, "test_ratio": 0.125,
                                       "template": "### Q: {instruction}\n### A: {response}"})
    assert r.status_code == 200, r.text
    assert r.json()["splits"] == {"train": 72, "validation": 12, "test": 12}

    # Train: 2 epochs with LoRA r=4.
    r = api.post("/train", {"dataset_path": "arith_processed:v1",
                            "config": {"learning_rate": 3e-3, "batch_size": 8, "num_epochs": 2,
                                       "output_dir": "./models/arith-lora"},
                            "lora_config": {"r": 4, "lora_alpha": 8}, "seed": 1})
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["status"] == "started"
    task_id = started["task_id"]

    seen = []
    def finished():
        # Status polls while the budget lasts (the training limit), then the model list.
        if api.polls < 40:
            st = api.status(task_id)
            seen.append(st)
            return st if st["status"] not in ("queued", "running") else None
        models = api.get("/models").json()["models"]
        return api.status(task_id) if models else None
    done = wait_for(finished, timeout=180, interval=0.5)
    assert done["status"] == "completed", done
    assert done["progress"] == 100
    assert done["model_path"] == "arith-lora:v1"
    assert set(done["metrics"]) >= {"train_loss", "learning_rate", "epoch", "val_loss", "perplexity"}
    assert done["metrics"]["epoch"] == 2
    # Progress was reported while it ran, never going back.
    running = [s["progress"] for s in seen if s["status"] == "running"]
    assert running, "the job was never seen running"
    assert running == sorted(running) and all(0 <= p < 100 for p in running)
    assert any(s["metrics"].get("train_loss") is not None for s in seen if s["status"] == "running")
    # train_loss decreased over the run (its whole series, from the viewer's runs API).
    losses = metric_series(viewer, done["run_id"], "train_loss")
    assert len(losses) >= 10
    assert losses[-1] < losses[0] * 0.8, losses

    # The model: listed, with its training config and the run's final metrics.
    models = api.get("/models").json()
    assert [m["id"] for m in models["models"]] == ["arith-lora:v1"]
    detail = api.get("/models/arith-lora:v1").json()
    assert detail["training_config"] == {"learning_rate": 3e-3, "batch_size": 8, "num_epochs": 2,
                                         "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.05}
    assert detail["metrics"]["train_loss"] == pytest.approx(losses[-1])
    assert detail["dataset"] == "arith_processed:v1"
    assert detail["task_id"] == task_id

    # Generation: temperature > 0 samples different texts; a fixed seed at temperature 0 repeats.
    prompt = "### Q: what is 2 plus 3?\n### A:"
    r = api.post("/generate", {"prompt": prompt, "max_length": 40, "temperature": 1.0, "top_k": 0,
                               "top_p": 1.0, "num_return_sequences": 3})
    assert r.status_code == 200, r.text
    sampled = r.json()["generated_texts"]
    assert len(sampled) == 3 and all(len(t) > 0 for t in sampled)
    assert len(set(sampled)) > 1, sampled
    assert r.json()["model_path"] == "arith-lora:v1"  # the latest trained model by default
    r = api.post("/generate", {"prompt": prompt, "max_length": 30, "temperature": 0, "num_return_sequences": 2,
                               "seed": 7})
    assert r.status_code == 200, r.text
    greedy = r.json()["generated_texts"]
    assert len(greedy) == 2 and greedy[0] == greedy[1]
    r = api.post("/generate/batch", {"prompts": [prompt, "### Q: what is 9 plus 9?\n### A:"], "max_length": 30,
                                     "temperature": 0, "seed": 7, "model_path": "arith-lora:v1"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["prompt"] for x in results] == [prompt, "### Q: what is 9 plus 9?\n### A:"]
    assert results[0]["generated_texts"] == [greedy[0]]
    assert api.get("/models/arith-lora:v1").json()["usage_count"] == 3

    # A second job, canceled while it trains: its run ends interrupted and no model appears.
    r = api.post("/train", {"dataset_path": "arith_processed:v1",
                            "config": {"learning_rate": 1e-3, "num_epochs": 5000, "output_dir": "./models/long"}})
    assert r.status_code == 200, r.text
    second = r.json()["task_id"]
    live = wait_for(lambda: (lambda st: st if st["metrics"].get("train_loss") is not None else None)(api.status(second)),
                    timeout=120, interval=2.0)
    assert live["status"] == "running" and 0 <= live["progress"] < 100
    r = api.post(f"/train/cancel/{second}", {})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled"
    assert api.status(second)["status"] == "canceled"
    run = wait_for(lambda: (lambda x: x if x.get("status") != "running" else None)(
        requests.get(f"{viewer.url}/api/runs/{live['run_id']}", timeout=30).json()), timeout=30, interval=0.2)
    assert run["status"] == "interrupted", run
    assert [m["id"] for m in api.get("/models").json()["models"]] == ["arith-lora:v1"]


def run_trainer(tmp_path: Path, name: str, dataset_dir: Path, cfg: dict, lora=None, base_dir=None) -> Path:
    out = tmp_path / name
    job = {"task_id": name, "run_id": None, "project": "llm_service", "run_name": name, "dataset": "arith:v1",
           "base_model": "base:v1" if base_dir else None, "config": cfg, "lora_config": lora, "seed": 3,
           "dataset_dir": str(dataset_dir), "output_dir": str(out), "runicorn_dir": str(tmp_path / "store"),
           "base_model_dir": str(base_dir) if base_dir else None}
    (tmp_path / f"{name}.json").write_text(json.dumps(job))
    env = dict(os.environ, PYTHONPATH=str(Path(rn.__file__).resolve().parents[1]))
    subprocess.run(["/usr/bin/python3", "train.py", str(tmp_path / f"{name}.json")], check=True,
                   cwd=SERVICE_CONFIG.parent, env=env, capture_output=True, text=True, timeout=300)
    return out


def test_reference_trainer_lora_on_a_base_model_trains_only_the_adapters_and_int8_loads(tmp_path):
    import sys
    sys.path.insert(0, str(SERVICE_CONFIG.parent))
    import charlm
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.json").write_text(json.dumps(arithmetic_rows(32)))
    cfg = {"learning_rate": 3e-3, "batch_size": 8, "num_epochs": 1, "quantization": None}
    base_dir = run_trainer(tmp_path, "base", data, cfg)
    tuned_dir = run_trainer(tmp_path, "tuned", data, dict(cfg, quantization="int8"),
                            lora={"r": 2, "lora_alpha": 4, "lora_dropout": 0.0}, base_dir=base_dir)
    base, _, _ = charlm.load(str(base_dir))
    tuned_state = torch.load(str(tuned_dir / "model.pt"))
    meta = json.loads((tuned_dir / "model.json").read_text())
    assert meta["lora"] == {"r": 2, "lora_alpha": 4, "lora_dropout": 0.0}
    assert meta["quantization"] == "int8" and meta["base_model"] == "base:v1"
    # Adapters were trained (B starts at zero) ...
    lora_b = [v for k, v in tuned_state.items() if k.endswith("lora_B")]
    assert len(lora_b) == 8 and all(float(v.abs().sum()) > 0 for v in lora_b)
    # ... and the frozen base kept its (not quantized) weights exactly.
    b = base.state_dict()
    for k in ("tok.weight", "pos.weight", "ln.weight", "blocks.0.ln1.weight"):
        assert torch.equal(tuned_state[k], b[k]), k
    model, vocab, _ = charlm.load(str(tuned_dir))  # the int8 model rebuilds and loads
    assert model(torch.tensor([vocab.encode("what is")])).shape[-1] == len(vocab.chars)
