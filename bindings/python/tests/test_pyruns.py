"""runicorn.record / runicorn.track: pyruns-style helpers on the active run."""
from __future__ import annotations

import math

import numpy as np
import pytest

import runicorn as rn


def test_without_an_active_run_both_warn_and_store_nothing(store):
    # Issue 17 ("no silent no-ops"): this used to be silent; now each call says what it dropped.
    assert rn.get_active_run() is None
    with pytest.warns(rn.pyruns.PyrunsWarning) as caught:
        rn.record(loss=0.3)
        rn.track(loss=0.8)
        rn.track("acc", 0.9)
    assert [str(w.message) for w in caught] == [
        "runicorn.record(): no active run and not inside a task; ['loss'] dropped "
        "(call runicorn.init() first)",
        "runicorn.track(): no active run and not inside a task; ['loss'] dropped "
        "(call runicorn.init() first)",
        "runicorn.track(): no active run and not inside a task; ['acc'] dropped "
        "(call runicorn.init() first)"]
    assert not store.exists()


def test_record_merges_into_the_summary(store, read):
    run = rn.init(storage=store)
    rn.record({"acc": 91.2}, loss=0.31)
    rn.record(loss=0.25)
    rn.record()
    run.finish()
    assert read(run)["summary"] == {"acc": 91.2, "loss": 0.25}


def test_record_nan_keeps_the_other_values(store, read):
    run = rn.init(storage=store)
    rn.record(loss=float("nan"), acc=0.9)
    run.finish()
    assert read(run)["summary"] == {"loss": None, "acc": 0.9}


def test_track_appends_to_series(store, read):
    run = rn.init(storage=store)
    rn.track(loss=0.8)
    rn.track(loss=0.6)
    rn.track("acc", 0.91)
    rn.track("acc", np.float32(0.5), loss=0.4)
    run.finish()
    s = read(run)["series"]
    assert s["loss"] == [(1, 0.8, ""), (2, 0.6, ""), (4, 0.4, "")]
    assert s["acc"] == [(3, 0.91, ""), (4, 0.5, "")]


def test_track_nan_and_non_numbers_never_drop_the_other_values(store, read):
    run = rn.init(storage=store)
    with pytest.warns(RuntimeWarning, match="'name'"):
        rn.track(loss=float("nan"), acc=0.5, name="resnet")
    run.finish()
    s = read(run)["series"]
    assert math.isnan(s["loss"][0][1]) and s["acc"] == [(1, 0.5, "")] and "name" not in s


def test_after_finish_they_store_nothing_again(store, read):
    run = rn.init(storage=store)
    run.finish()
    with pytest.warns(rn.pyruns.PyrunsWarning, match="no active run"):
        rn.record(a=1)
    with pytest.warns(rn.pyruns.PyrunsWarning, match="no active run"):
        rn.track(a=1.0)
    assert read(run)["summary"] == {} and read(run)["series"] == {}


# =============================================================================================
# `import pyruns`: Pyruns' script API (read/load/ConfigNode/record/track/get_task_dir/
# get_run_index/artifact_dir) on runicorn's task runner (issue 17).

import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
from pathlib import Path  # noqa: E402

import pyruns  # noqa: E402
from pyruns import _config  # noqa: E402
from runicorn import _task  # noqa: E402

from conftest import python_env  # noqa: E402
from viewer import find_binary  # noqa: E402

TASK_ENV = ("RUNICORN_TASK", "RUNICORN_TASK_RUN", "__PYRUNS_CONFIG__", "PYRUNS_RUN_INDEX",
            "__PYRUNS_ROOT__")


@pytest.fixture(autouse=True)
def no_task_and_no_config(monkeypatch):
    for name in TASK_ENV:
        monkeypatch.delenv(name, raising=False)
    _config.reset()
    yield
    _config.reset()
    _task.APPENDER.close()


@pytest.fixture
def task(tmp_path, monkeypatch, store):
    """A task folder as the runner lays it out, this process being its run 2."""
    task_dir = tmp_path / "_pyruns_" / "train" / "tasks" / "demo_1-of-2"
    task_dir.mkdir(parents=True)
    (task_dir / "config.yaml").write_text("lr: 0.5\nepochs: 3\n")
    (task_dir / "task_info.json").write_text(json.dumps({"name": "demo_1-of-2", "run_index": 2}))
    monkeypatch.setenv("RUNICORN_TASK", str(task_dir))
    monkeypatch.setenv("RUNICORN_TASK_RUN", "2")
    monkeypatch.setenv("__PYRUNS_CONFIG__", str(task_dir / "config.yaml"))
    monkeypatch.setenv("RUNICORN_DIR", str(store))
    return task_dir


def sidecar(task_dir: Path) -> list:
    """task_metrics.jsonl without the times."""
    lines = (task_dir / "task_metrics.jsonl").read_text().splitlines()
    out = []
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry.pop("time"), float)
        out.append(entry)
    return out


# --- ConfigNode ---------------------------------------------------------------------------------

def test_config_node_has_attribute_and_item_access_all_the_way_down():
    cfg = pyruns.ConfigNode({"model": {"depth": 18, "blocks": [{"w": 64}, 3]}, "lr": 0.1,
                             "data-dir": "/d", "_private": 1})
    assert cfg.model.depth == 18 and cfg["model"]["depth"] == 18
    assert isinstance(cfg.model.blocks[0], pyruns.ConfigNode) and cfg.model.blocks[0].w == 64
    assert cfg["data-dir"] == "/d" and getattr(cfg, "data-dir") == "/d"
    assert cfg.get("missing", 7) == 7 and "lr" in cfg and len(cfg) == 4
    assert list(cfg) == ["model", "lr", "data-dir", "_private"]
    # to_dict keeps every key (Pyruns drops `_` keys) and is an independent plain copy.
    plain = cfg.to_dict()
    assert plain == {"model": {"depth": 18, "blocks": [{"w": 64}, 3]}, "lr": 0.1,
                     "data-dir": "/d", "_private": 1}
    plain["model"]["depth"] = 50
    assert cfg.model.depth == 18
    assert repr(cfg) == ("ConfigNode(model=ConfigNode(depth=18, blocks=[ConfigNode(w=64), 3]), "
                         "lr=0.1, _private=1, **{'data-dir': '/d'})")


def test_config_node_missing_keys_and_edits():
    cfg = pyruns.ConfigNode(lr=0.1)
    with pytest.raises(AttributeError, match="config has no key 'epochs'"):
        cfg.epochs
    with pytest.raises(KeyError):
        cfg["epochs"]
    cfg.epochs = 3
    cfg["opt"] = {"name": "sgd"}
    assert cfg.opt.name == "sgd" and cfg == {"lr": 0.1, "epochs": 3, "opt": {"name": "sgd"}}
    del cfg.epochs
    assert cfg.to_dict() == {"lr": 0.1, "opt": {"name": "sgd"}}
    twin = copy.deepcopy(cfg)
    twin.opt.name = "adam"
    assert cfg.opt.name == "sgd" and twin != cfg
    with pytest.raises(TypeError, match="keys must be strings"):
        pyruns.ConfigNode({1: "a"})


def test_a_key_named_like_a_method_wins_on_attributes_as_in_pyruns():
    cfg = pyruns.ConfigNode({"items": [1, 2], "get": "x"})
    assert cfg.items == [1, 2] and cfg.get == "x"
    assert list(pyruns.ConfigNode.items(cfg)) == [("items", [1, 2]), ("get", "x")]
    assert pyruns.ConfigNode.to_dict(cfg) == {"items": [1, 2], "get": "x"}


# --- read / load ---------------------------------------------------------------------------

def test_read_types_yaml_like_pyruns(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 5e-3\nrange: 30:40:1\ntime: 10:30\nflag: yes\noff_flag: off\n"
                    "n: 1_000\nhexa: 0x10\nnothing: ~\nname: resnet\nf: 1.5\nq: '7'\n"
                    "inf: .inf\n")
    cfg = pyruns.read(path)
    assert cfg.to_dict() == {"lr": 0.005, "range": "30:40:1", "time": "10:30", "flag": True,
                             "off_flag": False, "n": 1000, "hexa": 16, "nothing": None,
                             "name": "resnet", "f": 1.5, "q": "7", "inf": float("inf")}
    assert pyruns.load() is cfg


def test_read_json_and_refuses_other_formats(tmp_path):
    (tmp_path / "c.json").write_text('{"a": {"b": [1, 2]}}')
    assert pyruns.read(tmp_path / "c.json").a.b == [1, 2]
    (tmp_path / "c.toml").write_text("a = 1\n")
    with pytest.raises(RuntimeError, match=r"^Failed to parse config: Unsupported format$"):
        pyruns.read(tmp_path / "c.toml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(RuntimeError, match=r"^Failed to parse config: "):
        pyruns.read(tmp_path / "bad.yaml")


def test_read_defaults_to_the_workspace_template_of_the_script(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "train.py")])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Config not found: .*_pyruns_/train/config_default"
                                                r"\.yaml; create it with `runicorn tasks init"):
        pyruns.read()
    with pytest.raises(RuntimeError, match=r"^Config not loaded\. Call read\(\) first\. "):
        pyruns.load()
    template = tmp_path / "_pyruns_" / "train" / "config_default.yaml"
    template.parent.mkdir(parents=True)
    template.write_text("lr: 0.1\n")
    assert pyruns.load().lr == 0.1
    # $__PYRUNS_ROOT__ moves the _pyruns_ folder.
    _config.reset()
    other = tmp_path / "elsewhere" / "train" / "config_default.yaml"
    other.parent.mkdir(parents=True)
    other.write_text("lr: 0.2\n")
    monkeypatch.setenv("__PYRUNS_ROOT__", str(tmp_path / "elsewhere"))
    assert pyruns.load().lr == 0.2


def test_inside_a_task_read_uses_the_task_config_and_says_the_argument_is_ignored(task, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("lr: 9\n")
    with pytest.warns(pyruns.PyrunsWarning, match=r"file_path '.*other\.yaml' is ignored"):
        cfg = pyruns.read(other)
    assert cfg.to_dict() == {"lr": 0.5, "epochs": 3}


# --- record / track / task context ---------------------------------------------------------

def test_outside_a_task_pyruns_warns_instead_of_dropping_silently():
    with pytest.warns(pyruns.PyrunsWarning) as caught:
        pyruns.record(acc=0.9)
        pyruns.track("loss", 0.5)
    assert [str(w.message) for w in caught] == [
        "pyruns.record(): no active run and not inside a task; ['acc'] dropped "
        "(call runicorn.init() first)",
        "pyruns.track(): no active run and not inside a task; ['loss'] dropped "
        "(call runicorn.init() first)"]
    # The warning points at the caller's line, not into the package.
    assert caught[0].filename == __file__
    assert pyruns.get_task_dir() is None and pyruns.get_run_index() is None


def test_record_refuses_a_non_dict_even_outside_a_task():
    with pytest.raises(TypeError, match=r"^pyruns\.record\(\) expects a dict, got str$"):
        pyruns.record("x")
    with pytest.raises(TypeError, match="got int"):
        pyruns.record(42)


def test_under_runicorn_on_0_outside_a_task_nothing_warns(monkeypatch, recwarn):
    monkeypatch.setenv("RUNICORN_ON", "0")
    rn.reset_enabled()
    pyruns.record(a=1)
    pyruns.track(a=1.0)
    assert [w for w in recwarn if issubclass(w.category, pyruns.PyrunsWarning)] == []


def test_in_a_task_values_go_to_the_sidecar_and_to_a_run_linked_to_the_task(task, store, read):
    cfg = pyruns.load()
    pyruns.track(loss=1.5, epoch=0)
    pyruns.track("loss", 1.0)
    pyruns.record({"final": 0.5}, lr=cfg.lr)
    pyruns.record(final=0.25)
    with pytest.warns(pyruns.PyrunsWarning, match=r"'acc' is not a number \(NoneType\); skipped"):
        pyruns.track("acc", None)
    with pytest.warns(pyruns.PyrunsWarning, match=r"'model' cannot be stored \(object is not JSON"):
        pyruns.record(model=object(), ok=True)
    pyruns.track(loss=float("nan"))
    run = rn.get_active_run()
    assert run is not None
    lines = sidecar(task)
    assert lines == [
        {"run": 2, "kind": "runicorn_run",
         "values": {"run_id": run.id, "project": "train", "name": "demo_1-of-2",
                    "storage": str(run.storage_root)}},
        {"run": 2, "kind": "track", "values": {"loss": 1.5, "epoch": 0}},
        {"run": 2, "kind": "track", "values": {"loss": 1.0}},
        {"run": 2, "kind": "record", "values": {"final": 0.5, "lr": 0.5}},
        {"run": 2, "kind": "record", "values": {"final": 0.25}},
        {"run": 2, "kind": "record", "values": {"ok": True}},
        {"run": 2, "kind": "track", "values": {"loss": None}},
    ]
    run.finish()
    row = read(run)
    assert (row["project"], row["name"]) == ("train", "demo_1-of-2")
    assert row["summary"] == {"final": 0.25, "lr": 0.5, "ok": True}
    assert row["config"] == {"lr": 0.5, "epochs": 3}
    assert row["series"]["loss"][:2] == [(1, 1.5, ""), (2, 1.0, "")]
    assert math.isnan(row["series"]["loss"][2][1])
    assert row["series"]["epoch"] == [(1, 0.0, "")]


def test_in_a_task_an_active_run_is_used_and_linked_once(task, store, read):
    run = rn.init(project="mine", storage=store)
    pyruns.record(a=1)
    rn.record(b=2)
    assert sidecar(task) == [
        {"run": 2, "kind": "runicorn_run",
         "values": {"run_id": run.id, "project": "mine", "name": "default",
                    "storage": str(run.storage_root)}},
        {"run": 2, "kind": "record", "values": {"a": 1}},
        {"run": 2, "kind": "record", "values": {"b": 2}},
    ]
    run.finish()
    assert read(run)["summary"] == {"a": 1, "b": 2}


def test_in_a_task_under_runicorn_on_0_only_the_task_file_is_written(task, store, monkeypatch):
    monkeypatch.setenv("RUNICORN_ON", "0")
    rn.reset_enabled()
    pyruns.track(loss=0.5)
    assert rn.get_active_run() is None and not store.exists()
    assert sidecar(task) == [{"run": 2, "kind": "track", "values": {"loss": 0.5}}]


def test_a_failing_task_file_warns_once_per_error_kind(task, store, monkeypatch):
    monkeypatch.setenv("RUNICORN_ON", "0")
    rn.reset_enabled()
    monkeypatch.setenv("RUNICORN_TASK", str(task / "gone"))
    monkeypatch.setattr(rn.pyruns, "_reported_failures", set())
    with pytest.warns(pyruns.PyrunsWarning) as caught:
        pyruns.record(a=1)
        pyruns.record(a=2)
    assert len(caught) == 1
    assert str(caught[0].message).startswith(
        f"pyruns.record(): could not append to {task / 'gone' / 'task_metrics.jsonl'} "
        "(FileNotFoundError: ")


def test_a_run_that_cannot_start_is_said_once_and_the_task_file_still_gets_the_values(
        task, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("RUNICORN_DIR", str(blocker))
    monkeypatch.setattr(rn.pyruns, "_start_failed", False)
    with pytest.warns(pyruns.PyrunsWarning) as caught:
        pyruns.track(loss=0.5)
        pyruns.track(loss=0.25)
    assert len(caught) == 1
    assert str(caught[0].message).startswith(
        "pyruns.track(): could not start a runicorn run for task 'demo_1-of-2' (")
    assert str(caught[0].message).endswith("); the values go to task_info.json only")
    assert rn.get_active_run() is None
    assert sidecar(task) == [{"run": 2, "kind": "track", "values": {"loss": 0.5}},
                             {"run": 2, "kind": "track", "values": {"loss": 0.25}}]


def test_a_run_started_for_a_task_ends_failed_after_an_uncaught_exception(task, store):
    script = "import pyruns\npyruns.track(loss=1.0)\nraise SystemError('boom')\n"
    out = subprocess.run([sys.executable, "-c", script], env=python_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1 and "SystemError: boom" in out.stderr
    [run] = rn.list_runs(storage=store)
    assert (run["project"], run["name"], run["status"]) == ("train", "demo_1-of-2", "failed")
    script = "import pyruns\npyruns.track(loss=1.0)\n"
    out = subprocess.run([sys.executable, "-c", script], env=python_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    statuses = sorted(r["status"] for r in rn.list_runs(storage=store))
    assert statuses == ["failed", "finished"]


def test_run_index_and_task_dir_follow_the_runner_env(task, monkeypatch):
    assert pyruns.get_task_dir() == str(task)
    assert pyruns.get_run_index() == 2
    monkeypatch.delenv("RUNICORN_TASK_RUN")
    monkeypatch.setenv("PYRUNS_RUN_INDEX", "3")
    assert pyruns.get_run_index() == 3
    # Invalid indices are ignored: the task's run count (2 in task_info.json) is used.
    for bad in ("", "abc", "0", "-1"):
        monkeypatch.setenv("PYRUNS_RUN_INDEX", bad)
        assert pyruns.get_run_index() == 2
    (task / "task_info.json").write_text("{broken")
    assert pyruns.get_run_index() == 1
    # A task Pyruns itself launched: only __PYRUNS_CONFIG__ tells the folder.
    monkeypatch.delenv("RUNICORN_TASK")
    assert pyruns.get_task_dir() == str(task)


def test_artifact_dir_is_per_run_and_stays_in_the_task(task, tmp_path, monkeypatch):
    assert pyruns.artifact_dir() == str(task / "artifacts" / "run2")
    assert (task / "artifacts" / "run2").is_dir()
    monkeypatch.setenv("RUNICORN_TASK_RUN", "3")
    outside = tmp_path / "outside"
    outside.mkdir()
    (task / "artifacts" / "run3").symlink_to(outside)
    with pytest.raises(RuntimeError, match=r"run3 is a symlink; refusing to write outside"):
        pyruns.artifact_dir()
    for name in TASK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert pyruns.get_artifact_dir() == str(tmp_path / "artifacts" / "run1")


# --- a real sweep through `runicorn tasks` -------------------------------------------------

TRAIN = textwrap.dedent("""
    import os
    import pyruns
    cfg = pyruns.load()
    for epoch in range(cfg.epochs):
        pyruns.track(loss=cfg.lr * (cfg.epochs - epoch), epoch=epoch)
    pyruns.record({"final_loss": cfg.lr}, lr=cfg["lr"])
    pyruns.track("acc", None)
    print("run", pyruns.get_run_index(), "artifacts",
          os.path.relpath(pyruns.artifact_dir(), pyruns.get_task_dir()), flush=True)
""")


@pytest.fixture
def tasks_cli(tmp_path):
    """cli(*args) runs `runicorn tasks --tasks-root <tmp>/proj ...` and returns its stdout."""
    binary = find_binary()
    if binary is None:
        pytest.skip("no runicorn binary (build the `runicorn` target or set RUNICORN_BINARY)")
    project = tmp_path / "proj"
    project.mkdir()
    # The runner starts `python3`: the interpreter running these tests, with its packages.
    env = python_env(RUNICORN_DIR=str(tmp_path / "store"),
                     PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    def cli(*args):
        out = subprocess.run([binary, "tasks", "--tasks-root", str(project), *args], env=env,
                             cwd=project, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out.stdout

    return cli


def test_a_sweep_run_by_the_task_runner_fills_task_info_and_runicorn_runs(tmp_path, tasks_cli):
    cli, project, store = tasks_cli, tmp_path / "proj", tmp_path / "store"
    (project / "train.py").write_text(TRAIN)
    (project / "base.yaml").write_text("lr: 0.5\nepochs: 3\n")
    (tmp_path / "sweep.yaml").write_text("lr: 0.5 | 0.25\nepochs: 3\n")
    cli("init", str(project / "train.py"), "--config", str(project / "base.yaml"))
    assert cli("add", str(tmp_path / "sweep.yaml"), "--name", "demo", "--no-timestamp").split() \
        == ["demo_1-of-2", "demo_2-of-2"]
    cli("run", "-j", "2")

    tasks_dir = project / "_pyruns_" / "train" / "tasks"
    for name, lr in (("demo_1-of-2", 0.5), ("demo_2-of-2", 0.25)):
        info = json.loads((tasks_dir / name / "task_info.json").read_text())
        log = (tasks_dir / name / "run_logs" / "run1.log").read_text()
        assert info["status"] == "completed", log
        assert info["exit_codes"] == [0] and info["run_index"] == 1
        assert info["records"] == [{"final_loss": lr, "lr": lr}]
        assert info["tracks"] == [{"loss": [3 * lr, 2 * lr, lr], "epoch": [0, 1, 2]}]
        assert info["runicorn_metrics_offset"] == \
            (tasks_dir / name / "task_metrics.jsonl").stat().st_size
        assert "run 1 artifacts artifacts/run1\n" in log
        assert "PyrunsWarning: pyruns.track(): 'acc' is not a number (NoneType); skipped" in log

        [link] = info["runicorn_runs"]["1"]
        assert (link["project"], link["name"], link["storage"]) == ("train", name, str(store))
        run = rn.read_run(link["run_id"], storage=store)
        assert (run["project"], run["name"], run["status"]) == ("train", name, "finished")
        assert run["tags"] == ["pyruns"]
        assert run["config"] == {"lr": lr, "epochs": 3}
        assert run["summary"] == {"final_loss": lr, "lr": lr}
        assert run["series"]["loss"] == [(1, 3 * lr, ""), (2, 2 * lr, ""), (3, lr, "")]
        assert run["series"]["epoch"] == [(1, 0.0, ""), (2, 1.0, ""), (3, 2.0, "")]


def test_a_shell_task_running_python_keeps_its_records(tmp_path, tasks_cli):
    # Pyruns drops __PYRUNS_CONFIG__ for shell tasks, so `pyr exec -- python x.py` loses every
    # record silently; our runner tells every task kind its folder.
    (tmp_path / "proj" / "x.py").write_text(
        "import pyruns\npyruns.record(acc=0.75)\npyruns.track(loss=0.5)\n"
        "print(pyruns.get_run_index(), pyruns.get_task_dir() is not None)\n")
    [name] = tasks_cli("add", "--cmd", "python3 x.py", "--name", "sh", "--no-timestamp").split()
    tasks_cli("run", name)
    task_dir = tmp_path / "proj" / "_pyruns_" / "_shell_" / "tasks" / name
    info = json.loads((task_dir / "task_info.json").read_text())
    log = (task_dir / "run_logs" / "run1.log").read_text()
    assert info["status"] == "completed", log
    assert "1 True\n" in log
    assert info["records"] == [{"acc": 0.75}] and info["tracks"] == [{"loss": [0.5]}]
    [link] = info["runicorn_runs"]["1"]
    run = rn.read_run(link["run_id"], storage=tmp_path / "store")
    assert (run["project"], run["name"], run["summary"]) == ("_shell_", name, {"acc": 0.75})
