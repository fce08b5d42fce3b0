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


def test_eval_costs_say_what_the_next_call_evaluates_and_when(monkeypatch):
    """The app's worker sizes its chunks in time with these: a history row costs the whole
    splits (the live sample's cost scaled by rows), the live losses run again once the budget
    allows (never, before the first evaluation, is reported as zeros)."""
    import playground.experiment as E

    clock = [100.0]
    monkeypatch.setattr(E.time, "perf_counter", lambda: clock[0])
    d = default_spec().to_dict()
    exp = Experiment(
        ExperimentSpec.from_dict({**d, "data": {**d["data"], "n_samples": 600}}), eval_sample_rows=100
    )
    assert exp.is_sampled and exp.eval_costs() == (0.0, 0.0, 0.0)
    exp.live_eval_budget = 0.1
    evaluate = exp.live_evaluate

    def timed():  # a live evaluation that takes 5 ms of the fake clock
        clock[0] += 0.005
        return evaluate()

    monkeypatch.setattr(exp, "live_evaluate", timed)
    exp.train(steps=3)
    row, live, due = exp.eval_costs()
    n_all = len(exp.dataset.X_train) + len(exp.dataset.X_test)
    assert np.isclose(live, 0.005) and np.isclose(row, 0.005 * n_all / 200)  # 100 rows of each split
    assert np.isclose(due, clock[0] + 0.005 / 0.1)  # the budget: 10 % of the time
    assert np.isclose(exp.live_eval_seconds, 0.005)
    exp.live_eval_budget = None  # exact (API, CLI): at the end of every call
    assert exp.eval_costs()[2] == 0.0


def test_a_chunk_plan_counts_the_history_rows_it_reaches():
    """Steps that fit a chunk's time when rows are evaluated on the way: a row that does not
    fit is left to the next chunk (the snapshot leaves on time), unless it is the next step."""
    from playground.app.pacing import plan_steps

    assert plan_steps(0.03, 1000.0, 50, 100, 0.02, 10_000) == 30  # no row reached
    assert plan_steps(0.03, 1000.0, 5, 100, 0.02, 10_000) == 10  # 5 steps, the row, 5 more
    assert plan_steps(0.03, 1000.0, 5, 100, 0.03, 10_000) == 4  # the row does not fit: stop before
    assert plan_steps(0.03, 1000.0, 1, 100, 0.05, 10_000) == 1  # the row is next: it is taken
    assert plan_steps(0.01, 1e6, 10, 10, 0.0, 5_000) == 5_000  # capped; free rows change nothing
    assert (
        plan_steps(0.01, 1e6, 10, 10, 1e-4, 100_000) == 10 * 90 + 9
    )  # 90 rows fit (1.1e-4 s each), then 9 steps
    assert plan_steps(0.0, 1000.0, 50, 100, 0.0, 100) == 1  # at least one
