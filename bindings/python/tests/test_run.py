"""init(), run identity, summary, text, primary metric, finish and the active-run functions."""
from __future__ import annotations

import gc
import math
import re

import pytest

import runicorn as rn

RUN_ID = re.compile(r"^[0-9]{8}_[0-9]{6}_[a-f0-9]{6}$")


def test_init_defaults_and_identity(store, read):
    run = rn.init(storage=store)
    assert RUN_ID.match(run.id)
    assert (run.project, run.name) == ("default", "default")
    assert run.run_dir == store / "runs" / run.id
    assert run.run_dir.is_dir()
    assert rn.get_active_run() is run
    run.finish()
    detail = read(run)
    assert detail["status"] == "finished" and detail["project"] == "default"


def test_init_stores_project_name_config_and_tags(store, read):
    config = {"lr": 1e-3, "layers": [64, 128], "opt": {"name": "adam", "betas": (0.9, 0.99)},
              "flag": True, "none": None}
    run = rn.init(project="vision", name="resnet", storage=store, config=config,
                  tags=["a", "b"])
    run.finish()
    detail = read(run)
    assert (detail["project"], detail["name"]) == ("vision", "resnet")
    assert detail["config"] == {"lr": 1e-3, "layers": [64, 128],
                                "opt": {"name": "adam", "betas": [0.9, 0.99]}, "flag": True,
                                "none": None}
    assert detail["tags"] == ["a", "b"]


def test_a_single_tag_string_is_one_tag(store, read):
    run = rn.init(storage=store, tags="baseline")
    run.finish()
    assert read(run)["tags"] == ["baseline"]


def test_storage_defaults_to_runicorn_dir(tmp_path, monkeypatch, read):
    root = tmp_path / "from-env"
    monkeypatch.setenv("RUNICORN_DIR", str(root))
    run = rn.init()
    assert run.run_dir.parent.parent == root
    run.finish()
    assert read(run, storage=root)["status"] == "finished"


def test_explicit_run_id_and_its_errors(store):
    run = rn.init(storage=store, run_id="20250101_120000_abcdef")
    assert run.id == "20250101_120000_abcdef"
    with pytest.raises(rn.AlreadyExistsError):
        rn.init(storage=store, run_id="20250101_120000_abcdef")
    with pytest.raises(ValueError):
        rn.init(storage=store, run_id="../../etc")
    run.finish()


def test_unserialisable_config_is_a_type_error_naming_the_key(store):
    with pytest.raises(TypeError, match="opt.fn"):
        rn.init(storage=store, config={"opt": {"fn": object()}})
    with pytest.raises(TypeError, match="config must be a dict"):
        rn.init(storage=store, config=[1, 2])


def test_summary_merges_and_later_keys_win(store, read):
    run = rn.init(storage=store)
    run.summary({"best": 0.5, "epochs": 3})
    run.summary({"best": 0.9}, note="done")
    rn.summary(final=True)
    run.finish()
    assert read(run)["summary"] == {"best": 0.9, "epochs": 3, "note": "done", "final": True}


def test_summary_nan_becomes_null_and_keeps_the_other_values(store, read):
    run = rn.init(storage=store)
    run.summary({"bad": float("nan"), "inf": math.inf, "good": 1.5})
    run.finish()
    assert read(run)["summary"] == {"bad": None, "inf": None, "good": 1.5}


def test_summary_rejects_non_dicts(store):
    run = rn.init(storage=store)
    with pytest.raises(TypeError):
        run.summary([1, 2])


def test_log_text_lines_are_read_back(store, read):
    run = rn.init(storage=store)
    run.log_text("epoch 1")
    rn.log_text("epoch 2\n")
    run.finish()
    assert read(run)["log"] == "epoch 1\nepoch 2\n"


def test_primary_metric_ranks_the_run(store, read):
    run = rn.init(storage=store)
    run.set_primary_metric("acc", "max")
    for i, acc in enumerate([0.5, 0.9, 0.7], start=1):
        run.log({"acc": acc}, step=i)
    run.finish()
    detail = read(run)
    assert (detail["best_metric_name"], detail["best_metric_mode"]) == ("acc", "max")
    assert detail["best_metric_value"] == 0.9 and detail["best_metric_step"] == 2


def test_primary_metric_mode_must_be_max_or_min(store):
    run = rn.init(storage=store)
    with pytest.raises(ValueError, match="max or min"):
        run.set_primary_metric("loss", "lowest")
    rn.set_primary_metric("loss", "min")


def test_finish_records_the_status_once(store, read):
    run = rn.init(storage=store)
    run.finish("failed")
    run.finish()  # second call does nothing
    assert run.is_finished
    assert read(run)["status"] == "failed"
    assert rn.get_active_run() is None


def test_finish_rejects_unknown_statuses(store):
    run = rn.init(storage=store)
    with pytest.raises(ValueError):
        run.finish("done")
    with pytest.raises(ValueError):
        run.finish("running")
    assert not run.is_finished


def test_context_manager_finishes_or_fails(store, read):
    with rn.init(storage=store) as ok_run:
        ok_run.log({"a": 1.0})
    with pytest.raises(ZeroDivisionError):
        with rn.init(storage=store) as bad_run:
            1 / 0
    assert read(ok_run)["status"] == "finished"
    assert read(bad_run)["status"] == "failed"


def test_a_run_dropped_without_finish_is_interrupted(store, read):
    run = rn.init(storage=store)
    run.log({"a": 1.0})
    run_id = run.id
    from runicorn import _active
    _active._active = None
    del run
    gc.collect()
    detail = read(run_id)
    assert detail["status"] == "interrupted"
    assert detail["series"]["a"] == [(1, 1.0, "")]


@pytest.mark.parametrize("call", [
    lambda: rn.log({"a": 1.0}),
    lambda: rn.log_text("x"),
    lambda: rn.summary({"a": 1}),
    lambda: rn.set_primary_metric("a"),
    lambda: rn.log_image("k", b"\x89PNG"),
    lambda: rn.finish(),
    lambda: rn.log_artifact(None),
    lambda: rn.use_artifact("m:latest"),
])
def test_module_functions_before_init_raise_a_clear_error(call):
    assert rn.get_active_run() is None
    with pytest.raises(RuntimeError, match=r"call runicorn.init\(\) first"):
        call()


def test_a_new_init_replaces_the_active_run(store):
    first = rn.init(storage=store)
    second = rn.init(storage=store)
    assert rn.get_active_run() is second
    first.finish()
    assert rn.get_active_run() is second
    second.finish()
    assert rn.get_active_run() is None


def test_flush_makes_points_readable_while_running(store, read):
    run = rn.init(storage=store)
    run.log({"a": 1.0})
    run.flush()
    detail = read(run)
    assert detail["status"] == "running" and detail["series"]["a"] == [(1, 1.0, "")]
    run.finish()
