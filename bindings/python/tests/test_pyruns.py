"""runicorn.record / runicorn.track: pyruns-style helpers on the active run."""
from __future__ import annotations

import math

import numpy as np
import pytest

import runicorn as rn


def test_without_an_active_run_both_are_silent_no_ops(store):
    assert rn.get_active_run() is None
    rn.record(loss=0.3)
    rn.track(loss=0.8)
    rn.track("acc", 0.9)
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


def test_after_finish_they_are_no_ops_again(store, read):
    run = rn.init(storage=store)
    run.finish()
    rn.record(a=1)
    rn.track(a=1.0)
    assert read(run)["summary"] == {} and read(run)["series"] == {}
