"""The exercise block of a session file (playground/exercise.py): round trip and clear errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from playground import session
from playground.errors import SessionError
from playground.exercise import Exercise, exercise_of, load_exercise, save_exercise, with_exercise
from playground.experiment import Experiment
from playground.spec import default_spec


def small_experiment():
    spec = default_spec()
    return Experiment(replace(spec, data=replace(spec.data, n_samples=60)))


def test_exercise_round_trips_through_the_session_writer(tmp_path):
    exp = small_experiment()
    exp.train(steps=5)
    ex = Exercise(
        "Only the learning rate", "Find a rate that **converges**.", ["data.dataset"], ["training.seed"]
    )
    path = save_exercise(exp, tmp_path / "ex.playground", ex, view={"theme": "dark"})
    exp2, ex2 = load_exercise(path)
    assert ex2 == ex
    assert exp2.provenance.view_state["theme"] == "dark"
    assert exp2.spec == exp.spec and exp2.step == exp.step
    for a, b in zip(exp.params, exp2.params):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    # an ordinary session has no exercise
    session.save(exp, tmp_path / "plain.playground", view={"theme": "dark"})
    assert load_exercise(tmp_path / "plain.playground")[1] is None


def test_with_exercise_replaces_or_removes_the_block():
    ex = Exercise("t", "", ["training.optimizer.lr"])
    v = with_exercise({"theme": "light", "exercise": {"title": "old"}}, ex)
    assert v["theme"] == "light" and exercise_of(v) == ex
    assert "exercise" not in with_exercise(v, None)
    assert Exercise("t", "", ["a", "a", "b"]).to_dict()["locked"] == ["a", "a", "b"]
    assert Exercise.from_dict({"locked": ["a", "a", "b"]}).locked == ("a", "b")


@pytest.mark.parametrize(
    "block, message",
    [
        ([], "exercise: must be an object"),
        ({"locked": "training.lr"}, "exercise.locked: must be a list"),
        ({"locked": ["ok.id", 3]}, "exercise.locked[1]: 3 is not a control id"),
        ({"hidden": ["Bad Id"]}, "exercise.hidden[0]: 'Bad Id' is not a control id"),
        ({"title": 5}, "exercise.title: must be text"),
        ({"version": 99}, "exercise.version: is 99"),
        ({"colour": "red"}, "exercise.colour: unknown field"),
    ],
)
def test_bad_blocks_name_the_field(block, message):
    with pytest.raises(SessionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        exercise_of({"exercise": block})


def test_a_broken_block_names_the_file(tmp_path):
    exp = small_experiment()
    session.save(exp, tmp_path / "bad.playground", view={"exercise": {"locked": [1]}})
    with pytest.raises(SessionError, match=r"bad.playground: exercise.locked\[0\]"):
        load_exercise(tmp_path / "bad.playground")
