"""Run.log: Runicorn's step and stage rules, accepted value types, and errors."""
from __future__ import annotations

import math
import warnings
from collections import OrderedDict, UserDict

import numpy as np
import pytest

import runicorn as rn


def series(read, run, name):
    return read(run)["series"][name]


def test_first_automatic_step_is_one_and_counts_up(store, read):
    run = rn.init(storage=store)
    run.log({"loss": 1.0})
    run.log({"loss": 2.0})
    run.log(loss=3.0)
    run.finish()
    assert series(read, run, "loss") == [(1, 1.0, ""), (2, 2.0, ""), (3, 3.0, "")]


def test_explicit_step_sets_the_counter_and_later_automatic_steps_continue(store, read):
    run = rn.init(storage=store)
    run.log({"loss": 0.5}, step=10)
    run.log({"loss": 0.4})
    run.log({"loss": 0.3}, step=3)
    run.log({"loss": 0.2})
    run.finish()
    assert series(read, run, "loss") == [(3, 0.3, ""), (4, 0.2, ""), (10, 0.5, ""), (11, 0.4, "")]


def test_step_keys_inside_the_data_are_dropped(store, read):
    run = rn.init(storage=store)
    run.log({"loss": 1.0, "step": 100, "global_step": 200})
    run.finish()
    detail = read(run)
    assert set(detail["series"]) == {"loss"}
    assert detail["series"]["loss"] == [(1, 1.0, "")]


def test_data_and_keywords_merge_with_keywords_winning(store, read):
    run = rn.init(storage=store)
    run.log({"loss": 1.0, "acc": 0.5}, acc=0.75, lr=0.01, step=1)
    run.finish()
    detail = read(run)
    assert detail["series"]["loss"] == [(1, 1.0, "")]
    assert detail["series"]["acc"] == [(1, 0.75, "")]
    assert detail["series"]["lr"] == [(1, 0.01, "")]
    assert detail["metrics"]["acc"]["count"] == 1


def test_stage_from_data_and_the_stage_argument_wins(store, read):
    run = rn.init(storage=store)
    run.log({"loss": 1.0, "stage": "train"}, step=1)
    run.log({"loss": 2.0, "stage": "train"}, step=2, stage="eval")
    run.log({"loss": 3.0}, step=3, stage="test")
    run.log({"loss": 4.0}, step=4)
    run.finish()
    assert series(read, run, "loss") == [(1, 1.0, "train"), (2, 2.0, "eval"), (3, 3.0, "test"),
                                         (4, 4.0, "")]


def test_data_may_be_passed_by_keyword_or_as_any_mapping(store, read):
    run = rn.init(storage=store)
    run.log(data={"a": 1.0}, step=1)
    run.log(UserDict({"a": 2.0}), step=2)
    run.log(OrderedDict(a=3.0), step=3)
    run.log(None, a=4.0, step=4)
    run.finish()
    assert [v for _, v, _ in series(read, run, "a")] == [1.0, 2.0, 3.0, 4.0]


class FakeTensor:
    """Behaves like a 0-d torch tensor: .item() and .ndim, nothing imported."""

    def __init__(self, value, ndim=0):
        self.value = value
        self.ndim = ndim

    def item(self):
        return self.value


class Real:
    def __float__(self):
        return 2.5


def test_every_accepted_value_type_is_stored_exactly(store, read):
    run = rn.init(storage=store)
    values = {
        "f": 0.1, "i": 7, "big": 2 ** 53, "t": True, "false": False,
        "np_f32": np.float32(0.25), "np_f64": np.float64(1 / 3), "np_i64": np.int64(-9),
        "np_u8": np.uint8(200), "np_bool": np.bool_(True), "zero_d": np.array(0.125),
        "tensor": FakeTensor(1.5), "real": Real(),
    }
    run.log(values, step=5)
    run.finish()
    got = {name: points[0][1] for name, points in read(run)["series"].items()}
    assert got == {
        "f": 0.1, "i": 7.0, "big": float(2 ** 53), "t": 1.0, "false": 0.0, "np_f32": 0.25,
        "np_f64": 1 / 3, "np_i64": -9.0, "np_u8": 200.0, "np_bool": 1.0, "zero_d": 0.125,
        "tensor": 1.5, "real": 2.5,
    }


def test_nan_and_infinities_are_stored_as_given(store, read):
    run = rn.init(storage=store)
    run.log({"a": float("nan"), "b": float("inf"), "c": -math.inf, "d": 1.0}, step=1)
    run.finish()
    s = read(run)["series"]
    assert math.isnan(s["a"][0][1])
    assert s["b"][0][1] == math.inf and s["c"][0][1] == -math.inf and s["d"][0][1] == 1.0


@pytest.mark.parametrize("bad", ["0.5", None, [1.0], {"x": 1}, b"1", np.array([1.0, 2.0]),
                                 np.array([1.0]), FakeTensor(1.0, ndim=1), FakeTensor("s"),
                                 object()])
def test_unsupported_value_raises_type_error_naming_the_key(store, read, bad):
    run = rn.init(storage=store)
    with pytest.raises(TypeError, match="'weird'"):
        run.log({"ok": 1.0, "weird": bad}, step=1)
    run.log({"ok": 2.0}, step=2)
    run.finish()
    # One bad value rejects the whole call: nothing of it was stored.
    assert series(read, run, "ok") == [(2, 2.0, "")]


def test_non_string_metric_name_is_a_type_error(store):
    run = rn.init(storage=store)
    with pytest.raises(TypeError, match="metric names must be str"):
        run.log({1: 1.0})


def test_invalid_metric_name_is_a_value_error(store):
    run = rn.init(storage=store)
    with pytest.raises(ValueError):
        run.log({"": 1.0})
    with pytest.raises(rn.InvalidArgumentError):
        run.log({"a\x01b": 1.0})


def test_step_accepts_integers_numpy_integers_and_truncates_floats(store, read):
    run = rn.init(storage=store)
    run.log({"a": 1.0}, step=np.int64(4))
    run.log({"a": 2.0}, step=7.9)
    with pytest.raises(TypeError, match="step must be an integer"):
        run.log({"a": 3.0}, step="8")
    with pytest.raises(ValueError):
        run.log({"a": 3.0}, step=float("nan"))
    run.finish()
    assert [s for s, _, _ in series(read, run, "a")] == [4, 7]


def test_call_shape_errors(store):
    run = rn.init(storage=store)
    with pytest.raises(TypeError, match="at most 1 positional"):
        run.log({"a": 1.0}, {"b": 2.0})
    with pytest.raises(TypeError, match="multiple values for argument 'data'"):
        run.log({"a": 1.0}, data={"b": 2.0})
    with pytest.raises(TypeError, match="must be a dict"):
        run.log([("a", 1.0)])


def test_log_after_finish_is_ignored_with_a_warning(store, read):
    run = rn.init(storage=store)
    run.log({"a": 1.0})
    run.finish()
    with pytest.warns(RuntimeWarning, match="already finished"):
        run.log({"a": 2.0})
    assert series(read, run, "a") == [(1, 1.0, "")]


def test_module_level_log_acts_on_the_active_run(store, read):
    run = rn.init(storage=store)
    rn.log({"a": 1.0}, step=2, stage="train")
    rn.log(b=2.0)
    rn.finish()
    s = read(run)["series"]
    assert s["a"] == [(2, 1.0, "train")] and s["b"] == [(3, 2.0, "")]


def test_empty_log_still_advances_the_step(store, read):
    run = rn.init(storage=store)
    run.log()
    run.log({"a": 1.0})
    run.finish()
    assert series(read, run, "a") == [(2, 1.0, "")]


def test_many_threads_log_without_losing_points(store, read):
    import threading

    run = rn.init(storage=store)

    def worker(k):
        for i in range(500):
            run.log({f"m{k}": float(i)})

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    detail = read(run)
    steps = sorted(s for k in range(4) for s, _, _ in detail["series"][f"m{k}"])
    assert steps == list(range(1, 2001))
