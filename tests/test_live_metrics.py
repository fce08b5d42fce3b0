"""The losses reported after a train() call: exact by default (API, CLI); in the app, whose
worker trains in short chunks, re-evaluated at most a share of the time (a CNN's evaluation
after every chunk cost 95% of it), and then they say which step they are of."""

import numpy as np

from playground.experiment import Experiment
from playground.spec import ExperimentSpec, default_spec


def test_exact_by_default():
    exp = Experiment(default_spec())
    for _ in range(5):
        m = exp.train(steps=7)
        assert m["step"] == exp.step and m["evaluated_step"] == exp.step
        assert m["train_loss"] == exp.live_evaluate()["train_loss"]


def test_with_a_budget_the_losses_are_of_an_earlier_step_and_say_so():
    exp = Experiment(default_spec())
    exp.live_eval_budget = 1e-9  # evaluating is always "too expensive" once there are values
    first = exp.train(steps=3)
    assert first["evaluated_step"] == 3
    later = exp.train(steps=4)
    assert later["step"] == 7 and later["evaluated_step"] == 3
    assert later["train_loss"] == first["train_loss"]  # the losses of step 3, not of step 7
    assert exp.live_evaluate()["train_loss"] != later["train_loss"]
    exp.live_eval_budget = 1e9  # evaluating is cheap: the losses follow every call
    m = exp.train(steps=2)
    assert m["evaluated_step"] == 9
    assert np.isclose(m["train_loss"], exp.live_evaluate()["train_loss"], rtol=0, atol=0)


def test_history_rows_are_exact_whatever_the_budget():
    d = default_spec().to_dict()
    exp = Experiment(ExperimentSpec.from_dict({**d, "training": {**d["training"], "record_every": 5}}))
    exp.live_eval_budget = 1e-9
    exp.train(steps=3)
    m = exp.train(steps=2)  # ends on a history row: evaluated there, whatever the budget
    assert m["step"] == 5 and m["train_loss"] == exp.evaluate()["train_loss"]


def test_with_an_interval_the_losses_are_evaluated_at_most_that_often(monkeypatch):
    import playground.experiment as E

    clock = [100.0]
    monkeypatch.setattr(E.time, "perf_counter", lambda: clock[0])
    exp = Experiment(default_spec())
    exp.live_eval_budget = 1e9  # cheap: only the interval holds it back
    exp.live_eval_interval = 0.05
    assert exp.train(steps=3)["evaluated_step"] == 3
    clock[0] += 0.02  # a short chunk (waiting for the GUI): the losses of step 3 stay
    assert exp.train(steps=2)["evaluated_step"] == 3
    clock[0] += 0.04  # 0.06 s since the evaluation: evaluated again
    m = exp.train(steps=2)
    assert m["evaluated_step"] == 7 and m["train_loss"] == exp.live_evaluate()["train_loss"]
