"""Runicorn's v0.6 SDK surface beside the v0.5 one: path/alias, the context manager, assets.json
(log_config, log_dataset, log_pretrained, code snapshot), outputs scanning, the logging handler,
.rnignore rules, the enable switch and the config registry. docs/SDK.md "v0.6 API"."""
from __future__ import annotations

import argparse
import json
import logging
import os
import time
import zipfile
from pathlib import Path

import pytest

import runicorn as rn
from runicorn import api

from viewer import Viewer, find_binary

PNG_1x1 = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
           b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8\x8d\x00"
           b"\x00\x00\x00IEND\xaeB`\x82")


def assets_of(run) -> dict:
    return json.loads((run.run_dir / "assets.json").read_text())


def files_under(folder: Path) -> list:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def make_old(path: Path) -> None:
    """Backdates a file's mtime so the min_age_sec rule is met without waiting."""
    past = time.time() - 60
    os.utime(path, (past, past))


# --- path and alias ----------------------------------------------------------------------------

def test_path_derives_project_and_name_and_is_stored_with_the_alias(store, read):
    run = rn.init(path="vision/resnet/exp1", alias="best-lr", storage=store)
    assert (run.path, run.alias) == ("vision/resnet/exp1", "best-lr")
    assert (run.project, run.name) == ("vision", "resnet")
    run.finish()
    detail = read(run)
    assert (detail["path"], detail["alias"]) == ("vision/resnet/exp1", "best-lr")
    assert (detail["project"], detail["name"]) == ("vision", "resnet")
    [listed] = rn.list_runs(storage=store)
    assert (listed["path"], listed["alias"], listed["project"]) == \
        ("vision/resnet/exp1", "best-lr", "vision")


def test_path_is_normalised_as_runicorn_does(store, read):
    run = rn.init(path="\\mnist\\\\cnn\\", storage=store)
    assert run.path == "mnist/cnn"
    run.finish()
    root = rn.init(path="/", storage=store)
    assert (root.path, root.project, root.name) == ("", "default", "default")
    root.finish()
    assert read(root)["path"] == "" and read(root)["alias"] is None
    one = rn.init(path="mnist", storage=store)
    assert (one.project, one.name) == ("mnist", "default")
    one.finish()


@pytest.mark.parametrize("path,message", [
    ("../etc", "Invalid path '../etc': only letters, digits, '_', '-' and '/' are allowed"),
    ("vision/res net", "Invalid path 'vision/res net': only letters, digits, '_', '-' and '/' "
                       "are allowed"),
    ("caf\u00e9", "Invalid path 'caf??': only letters, digits, '_', '-' and '/' are allowed"),
    ("a" * 201, "Invalid path '" + "a" * 64 + "...': longer than 200 characters"),
])
def test_a_bad_path_is_a_value_error_and_writes_nothing(store, path, message):
    with pytest.raises(ValueError) as info:
        rn.init(path=path, storage=store)
    assert str(info.value) == message
    assert isinstance(info.value, rn.InvalidArgumentError)
    assert list((store / "runs").iterdir()) == []
    assert rn.get_active_run() is None


def test_path_with_project_or_name_is_refused(store):
    with pytest.raises(ValueError) as info:
        rn.init(path="a/b", project="vision", storage=store)
    assert str(info.value) == ("runicorn: init() takes either path= (v0.6) or project=/name= "
                               "(v0.5), not both; with path= the project and name are derived "
                               "from it")
    assert not store.exists()


@pytest.mark.skipif(find_binary() is None, reason="the runicorn binary is not built (build the "
                    "`runicorn` target or set RUNICORN_BINARY)")
def test_the_api_run_list_carries_path_and_alias(store, tmp_path):
    run = rn.init(path="vision/resnet/exp1", alias="lr=3e-4", storage=store)
    run.finish()
    rn.list_runs(storage=store)  # indexed before the viewer starts: its first answer has the run
    server = Viewer(find_binary(), store, env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    try:
        with api.connect(server.url, timeout=10, max_retries=0) as client:
            [item] = client.get("/api/runs")
            detail = client.get(f"/api/runs/{run.id}")
    finally:
        server.stop()
    assert (item["id"], item["path"], item["alias"], item["project"], item["name"]) == \
        (run.id, "vision/resnet/exp1", "lr=3e-4", "vision", "resnet")
    assert (detail["path"], detail["alias"]) == ("vision/resnet/exp1", "lr=3e-4")


def test_a_v05_run_carries_no_path_or_alias(store, read):
    run = rn.init(project="vision", name="resnet", storage=store)
    run.finish()
    detail = read(run)
    assert "path" not in detail and "alias" not in detail
    assert run.path is None and run.alias == ""


def test_bad_alias_is_refused(store):
    with pytest.raises(ValueError) as info:
        rn.init(path="a", alias="two\nlines", storage=store)
    assert str(info.value) == "alias contains a control character"


# --- context manager ---------------------------------------------------------------------------

def test_with_block_finishes_and_an_exception_fails_the_run(store, read):
    with rn.init(path="ctx/ok", storage=store) as ok:
        ok.log({"loss": 1.0})
    assert read(ok)["status"] == "finished"
    with pytest.raises(KeyError):
        with rn.init(path="ctx/boom", storage=store) as boom:
            boom.log({"loss": 2.0})
            raise KeyError("boom")
    detail = read(boom)
    assert detail["status"] == "failed"
    assert detail["series"]["loss"] == [(1, 2.0, "")]
    assert rn.get_active_run() is None


# --- text, images, logging handler -------------------------------------------------------------

def test_log_text_and_log_image_with_the_v06_signature(store, read):
    run = rn.init(path="media/run", storage=store)
    run.log_text("epoch 1 done")
    rel = run.log_image("sample", PNG_1x1, step=3, caption="a dot", format="png", quality=90)
    assert rel.startswith("media/sample_s3_") and rel.endswith(".png")
    assert (run.run_dir / rel).read_bytes() == PNG_1x1
    [entry] = [json.loads(line) for line in
               (run.run_dir / "media" / "images.jsonl").read_text().splitlines()]
    assert (entry["key"], entry["path"], entry["step"], entry["caption"]) == \
        ("sample", rel, 3, "a dot")
    run.finish()
    assert read(run)["log"] == "epoch 1 done\n"


def test_logging_handler_writes_records_into_the_run_log(store, read):
    run = rn.init(path="logs/handler", storage=store)
    logger = logging.getLogger("sdk06.test")
    logger.setLevel(logging.DEBUG)
    handler = run.get_logging_handler(fmt="%(levelname)s | %(name)s | %(message)s")
    logger.addHandler(handler)
    try:
        logger.debug("below the handler's INFO level")
        logger.info("loaded %d images", 7)
        logger.warning("lr is high")
    finally:
        logger.removeHandler(handler)
    default = run.get_logging_handler()
    assert default.formatter._fmt == "%(asctime)s | %(levelname)s | %(name)s | %(message)s"
    assert default.formatter.datefmt == "%H:%M:%S"
    run.finish()
    assert read(run)["log"] == ("INFO | sdk06.test | loaded 7 images\n"
                                "WARNING | sdk06.test | lr is high\n")


# --- assets.json -------------------------------------------------------------------------------

def test_log_config_records_args_extra_and_files(store):
    run = rn.init(path="cfg/run", storage=store)
    args = argparse.Namespace(lr=0.1, epochs=3)
    entry = run.log_config(args=args, extra={"note": "x"}, config_files=["conf/a.yaml"])
    assert entry == {"args": {"lr": 0.1, "epochs": 3}, "extra": {"note": "x"},
                     "config_files": ["conf/a.yaml"]}
    run.log_config(args={"lr": 0.2})  # a second call replaces the first, as in Runicorn
    assert assets_of(run) == {"config": {"args": {"lr": 0.2}, "extra": None,
                                         "config_files": []}}
    with pytest.raises(TypeError) as info:
        run.log_config(args=42)
    assert str(info.value) == ("runicorn: log_config() args must be a dict or an "
                               "argparse.Namespace, not int")
    run.finish()


def test_log_dataset_records_a_reference_and_saves_a_local_tree(store, tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_bytes(b"alpha")
    (data / "sub" / "b.txt").write_bytes(b"beta")
    run = rn.init(path="ds/run", storage=store)
    run.log_dataset("remote-set", "s3://bucket/set", context="eval", description="held out")
    saved = run.log_dataset("local-set", data, save=True)
    assert saved["artifact"] == "local-set:v1"
    assert (saved["file_count"], saved["total_size_bytes"]) == (2, 9)
    assert saved["fingerprint_kind"] == "sha256_manifest" and len(saved["fingerprint"]) == 64
    with pytest.raises(ValueError) as info:
        run.log_dataset("big", data, save=True, max_archive_files=1)
    assert str(info.value) == ("runicorn: dataset 'big' is too large to save: 2 files, 9 bytes "
                               "(limits 1 files, 5368709120 bytes); pass force_save=True to "
                               "save it anyway")
    run.finish()
    datasets = assets_of(run)["datasets"]
    assert datasets[0] == {"name": "remote-set", "context": "eval", "uri": "s3://bucket/set",
                           "description": "held out", "saved": False, "fingerprint": None}
    assert datasets[1] == saved and len(datasets) == 2
    loaded = rn.init(path="ds/reader", storage=store).use_artifact("local-set:v1")
    assert loaded.type == "dataset"
    assert loaded.read_file("sub/b.txt") == b"beta"


def test_log_pretrained_save_twice_stores_the_chunks_once(store, tmp_path):
    weights = tmp_path / "bert.bin"
    weights.write_bytes(os.urandom(300_000))
    run = rn.init(path="nlp/bert", storage=store)
    first = run.log_pretrained("bert-base", path_or_uri=weights, save=True,
                               source_type="huggingface")
    blobs_after_first = files_under(store / "blobs")
    second = run.log_pretrained("bert-base", path_or_uri=weights, save=True,
                                source_type="huggingface")
    assert files_under(store / "blobs") == blobs_after_first  # one set of chunks
    assert blobs_after_first
    assert (first["artifact"], second["artifact"]) == ("bert-base:v1", "bert-base:v2")
    assert first["fingerprint"] == second["fingerprint"]
    run.log_pretrained("resnet50", path_or_uri="torchvision://resnet50")
    with pytest.raises(ValueError) as info:
        run.log_pretrained("x", save=True)
    assert str(info.value) == "runicorn: log_pretrained(save=True) needs a local path to save ('x')"
    run.finish()
    pretrained = assets_of(run)["pretrained"]
    assert [p["name"] for p in pretrained] == ["bert-base", "bert-base", "resnet50"]
    assert pretrained[2] == {"name": "resnet50", "source_type": "unknown",
                             "path_or_uri": "torchvision://resnet50", "description": None,
                             "saved": False}
    assert pretrained[0]["path_or_uri"] == str(weights) and pretrained[0]["saved"] is True


# --- outputs -----------------------------------------------------------------------------------

def test_scan_outputs_archives_stable_files_once(store, tmp_path):
    out = tmp_path / "ws" / "out"
    out.mkdir(parents=True)
    ckpt = out / "model.pt"
    ckpt.write_bytes(b"weights-1")
    make_old(ckpt)
    (out / "train.log").write_text("step 1\n")
    (out / "ignored.bin").write_bytes(b"no pattern matches")
    run = rn.init(path="out/run", storage=store, workspace_root=str(tmp_path / "ws"))
    first = run.scan_outputs_once(output_dirs=[out])
    assert (first["run_id"], first["scanned"], first["changed"], first["archived"]) == \
        (run.id, 2, 2, 1)  # the log at once; the checkpoint is not stable yet
    assert first["archived_entries"][0]["key"] == "out/train.log"
    second = run.scan_outputs_once(output_dirs=[out])
    assert (second["changed"], second["archived"]) == (0, 1)
    entry = second["archived_entries"][0]
    assert {k: entry[k] for k in ("key", "name", "kind", "path", "saved", "fingerprint_kind",
                                  "mode")} == \
        {"key": "out/model.pt", "name": "model.pt", "kind": "file", "path": "./out/model.pt",
         "saved": True, "fingerprint_kind": "sha256", "mode": "rolling"}
    assert entry["artifact"].startswith("output-model.pt-") and entry["artifact"].endswith(":v1")
    third = run.scan_outputs_once(output_dirs=[out])
    assert third["archived"] == 0  # unchanged content: no new entry
    ckpt.write_bytes(b"weights-2")
    make_old(ckpt)
    run.scan_outputs_once(output_dirs=[out])
    fifth = run.scan_outputs_once(output_dirs=[out])
    assert [e["artifact"][-3:] for e in fifth["archived_entries"]] == [":v2"]
    run.finish()
    outputs = assets_of(run)["outputs"]
    assert [o["key"] for o in outputs] == ["out/train.log", "out/model.pt"]  # upsert by key
    assert outputs[1]["artifact"].endswith(":v2")
    loaded = rn.init(path="out/reader", storage=store).use_artifact(outputs[1]["artifact"])
    assert loaded.read_file("model.pt") == b"weights-2"


def test_watch_outputs_scans_in_the_background_until_finish(store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ckpt = out / "final.ckpt"
    ckpt.write_bytes(b"done")
    make_old(ckpt)
    run = rn.init(path="out/watch", storage=store, workspace_root=str(tmp_path))
    run.watch_outputs(output_dirs=[out], interval_sec=0.05)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (run.run_dir / "assets.json").exists():
        time.sleep(0.05)
    watcher = run._outputs_watcher
    run.finish()
    assert not watcher._thread.is_alive()
    assert [o["key"] for o in assets_of(run)["outputs"]] == ["out/final.ckpt"]


# --- code snapshot and .rnignore ---------------------------------------------------------------

def make_workspace(root: Path) -> None:
    for rel, text in {"train.py": "print(1)", "lib/model.py": "x = 1", "lib/model.pyc": "",
                      "data/big.csv": "1,2", "logs/a.log": "l", "logs/keep.log": "k",
                      "top.txt": "anchored", "lib/top.txt": "kept", "notes.md": "n",
                      "secret.env": "s", ".git/HEAD": "ref"}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_snapshot_workspace_honours_gitignore_and_rnignore(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws)
    (ws / ".gitignore").write_text("*.env\nnotes.md\n")
    (ws / ".rnignore").write_text("# comments and blank lines are skipped\n\ndata/\n*.log\n"
                                  "!keep.log\n/top.txt\n!notes.md\n.git/\n*.pyc\n")
    out = tmp_path / "snap.zip"
    result = rn.snapshot_workspace(ws, out)
    kept = [".gitignore", ".rnignore", "lib/model.py", "lib/top.txt", "logs/keep.log",
            "notes.md", "train.py"]
    assert sorted(zipfile.ZipFile(out).namelist()) == kept
    assert result == {"workspace_root": str(ws.resolve()), "archive_path": str(out.resolve()),
                      "format": "zip", "file_count": 7,
                      "total_bytes": sum((ws / k).stat().st_size for k in kept)}


def test_snapshot_workspace_writes_a_default_rnignore_and_enforces_limits(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws)
    with pytest.raises(ValueError) as info:
        rn.snapshot_workspace(ws, tmp_path / "snap.zip", max_files=2)
    assert str(info.value) == ("code snapshot too large: 10 files, 85 bytes (limits 2 files, "
                               "524288000 bytes); exclude paths in .rnignore or pass "
                               "force_snapshot=True")
    assert (ws / ".rnignore").read_text() == \
        ".git/\n.venv/\n__pycache__/\n*.pyc\n.idea/\nnode_modules/\n"
    assert not (tmp_path / "snap.zip").exists()
    forced = rn.snapshot_workspace(ws, tmp_path / "snap.zip", max_files=2, force_snapshot=True)
    assert forced["file_count"] == 10  # .rnignore itself is part of the snapshot


def test_init_snapshot_code_stores_the_zip_and_the_code_asset(tmp_path, store, monkeypatch):
    ws = tmp_path / "ws"
    make_workspace(ws)
    monkeypatch.chdir(ws)  # the store below the workspace must not end up in its own snapshot
    run = rn.init(path="code/run", storage=ws / ".runicorn", snapshot_code=True,
                  workspace_root=str(ws))
    names = zipfile.ZipFile(run.run_dir / "code_snapshot.zip").namelist()
    assert not any(n.startswith(".runicorn") for n in names)
    assert "train.py" in names and "lib/model.pyc" not in names
    snapshot = assets_of(run)["code"]["snapshot"]
    assert (snapshot["saved"], snapshot["format"], snapshot["workspace_root"]) == \
        (True, "zip", str(ws.resolve()))
    assert snapshot["archive_path"] == str(run.run_dir / "code_snapshot.zip")
    run.finish()
    with pytest.raises(ValueError) as info:
        rn.init(path="code/run", storage=store, snapshot_format="tar")
    assert str(info.value) == "runicorn: snapshot_format must be 'zip', got 'tar'"


# --- enable switch -----------------------------------------------------------------------------

def test_disabled_sdk_accepts_every_v06_call_and_writes_nothing(store, monkeypatch):
    monkeypatch.setenv("RUNICORN_ON", "off")
    assert rn.is_enabled() is False
    run = rn.init(path="vision/resnet", alias="x", storage=store, snapshot_code=True)
    assert isinstance(run, rn.NoOpRun) and (run.path, run.alias) == ("vision/resnet", "x")
    run.log_config(args={"a": 1})
    run.log_dataset("d", "/nowhere", save=True)
    run.log_pretrained("p", save=True)
    assert run.scan_outputs_once(output_dirs=["."]) == {"scanned": 0, "archived": 0, "changed": 0}
    logging.getLogger("sdk06.off").addHandler(run.get_logging_handler())
    with run:
        run.log({"loss": 1})
    assert not store.exists()
    rn.set_enabled(True)
    assert rn.is_enabled() is True
    with rn.enabled(False):
        assert rn.is_enabled() is False
    rn.reset_enabled()
    assert rn.is_enabled() is False  # back to RUNICORN_ON=off


# --- config registry and rnconfig --------------------------------------------------------------

@pytest.fixture
def config_home(tmp_path, monkeypatch):
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home / "runicorn"


def test_get_config_uses_the_longest_registry_file_prefix(config_home):
    registry = config_home / "registry"
    (registry / "datasets").mkdir(parents=True)
    (registry / "datasets" / "imagenet.toml").write_text('root = "/data/imagenet"\n'
                                                         '[splits]\ntrain = "train/"\n')
    (registry / "datasets.toml").write_text('imagenet = "shadowed by the longer prefix"\n')
    (registry / "token.toml").write_text('value = "abc"\n')
    assert rn.get_config("datasets/imagenet/root") == "/data/imagenet"
    assert rn.get_config("datasets/imagenet/splits/train") == "train/"
    assert rn.get_config("token") == "abc"
    with pytest.raises(KeyError) as info:
        rn.get_config("datasets/imagenet/missing")
    text = info.value.args[0]
    for part in ("Registry key not found: 'datasets/imagenet/missing'",
                 f"Registry root: {registry}", "Searched: ", "Create: "):
        assert part in text
    with pytest.raises(ValueError) as empty:
        rn.get_config("")
    assert str(empty.value) == ("runicorn: get_config() key must be a non-empty str such as "
                                "'datasets/imagenet/root'")
    with pytest.raises(ValueError):
        rn.get_config("../secrets")


def test_get_effective_rnconfig_merges_project_over_user(config_home, tmp_path):
    config_home.mkdir(parents=True)
    (config_home / "rnconfig.toml").write_text('[train]\nlr = 0.1\nepochs = 3\n[user]\nx = 1\n')
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "rnconfig.toml").write_text('[train]\nepochs = 10\n')
    assert rn.get_effective_rnconfig(ws) == {"train": {"lr": 0.1, "epochs": 10},
                                             "user": {"x": 1}}


def test_version_is_exported():
    assert isinstance(rn.__version__, str) and rn.__version__
