"""The GAN lesson (``"mode": "gan"``): its effect holds on our engine (numbers measured in
docs/LESSONS.md), its file format is validated with errors that name the lesson, variant
and field, and its ready-to-open GAN sessions match it."""

from __future__ import annotations

import copy
import functools
import json

import pytest

from playground.errors import PlaygroundError, SpecError
from playground.gan.spec import GanSpec
from playground.lessons import LESSONS, build_sessions, load_lesson, parse_lesson, run_lesson

LESSON = "gan_mode_collapse"


@functools.cache
def results(seed: int | None = None) -> dict:
    return run_lesson(LESSON, seed=seed)


def doc() -> dict:
    return json.loads(load_lesson(LESSON).path.read_text(encoding="utf-8"))


def test_the_lesson_is_a_gan_race_of_its_losses():
    lesson = load_lesson(LESSON)
    assert lesson.is_gan and lesson.mode == "gan" and LESSON in LESSONS
    assert [v.name for v in lesson.variants] == ["minimax", "non_saturating", "least_squares"]
    assert all(isinstance(v.spec, GanSpec) and v.steps == lesson.steps for v in lesson.variants)
    assert [v.spec.training.loss for v in lesson.variants] == ["minimax", "non_saturating", "least_squares"]
    base = lesson.variants[0].spec
    for v in lesson.variants[1:]:  # only the loss differs: the same start, the same draws
        assert v.spec.with_changes("training.loss", "minimax") == base
    assert base.training.d_steps == 5 and base.data.kind == "ring" and base.data.modes == 8
    assert lesson.steps % lesson.every == 0
    with pytest.raises(PlaygroundError, match="GAN race"):
        lesson.experiments()
    assert not load_lesson("learning_rate").is_gan


def test_non_saturating_collapses_where_minimax_keeps_the_modes():
    """The lesson's seed: the minimax generator keeps most of the 8 modes to the end; the
    non-saturating one covers as many early on, then its count falls (mode collapse)."""
    r = results()
    mm, ns, ls = r["minimax"], r["non_saturating"], r["least_squares"]
    assert all(v["status"] == "ok" and v["modes"] == 8 and v["iteration"] == 6000 for v in r.values())
    assert mm["modes_covered"] >= 6 and not mm["collapse"]
    assert ns["modes_covered"] <= 4 and ns["collapse"]
    assert ns["peak_modes"] >= ns["modes_covered"] + 2  # it covered more before it collapsed
    assert ns["history"]["modes_covered"][0] >= 6
    assert mm["sliced_wasserstein"] < ns["sliced_wasserstein"]
    assert ls["modes_covered"] < mm["modes_covered"]
    # the minimax generator is not in the saturated regime: D never rejects its points confidently
    assert min(mm["history"]["d_fake"]) > -3.0 and mm["d_fake"] < 0  # D(G(z)) > 0.047
    assert len(mm["history"]["iteration"]) == 6000 // load_lesson(LESSON).every


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_effect_holds_on_other_seeds(seed):
    r = results(seed)
    mm, ns = r["minimax"], r["non_saturating"]
    assert mm["modes_covered"] >= 6, (seed, mm["history"]["modes_covered"])
    assert ns["modes_covered"] <= 4 and ns["modes_covered"] <= mm["modes_covered"] - 2, seed
    assert ns["peak_modes"] >= ns["modes_covered"] + 2, (seed, ns["history"]["modes_covered"])


def test_run_lesson_seed_and_steps_override():
    r = run_lesson(LESSON, steps=100, seed=7)
    assert set(r) == {"minimax", "non_saturating", "least_squares"}
    assert all(v["iteration"] == 100 and len(v["history"]["iteration"]) == 1 for v in r.values())
    again = run_lesson(LESSON, steps=100, seed=7)
    assert again["minimax"]["sliced_wasserstein"] == r["minimax"]["sliced_wasserstein"]  # deterministic
    other = run_lesson(LESSON, steps=100, seed=8)
    assert other["minimax"]["sliced_wasserstein"] != r["minimax"]["sliced_wasserstein"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(mode="gann"), "mode must be one of experiment, gan, not 'gann'"),
        (lambda d: d.update(steps=0), "'steps' must be a positive whole number"),
        (lambda d: d.update(every=7000), "'every' must be a whole number of iterations from 1 to 6,000"),
        (lambda d: d.update(every=1.5), "'every' must be"),
        (lambda d: d.update(base=[1, 2]), "'base' must be a GAN spec object"),
        (lambda d: d.update(variants=d["variants"][:1]), "a lesson has 2 to 8 variants, not 1"),
        (lambda d: d.update(variants="minimax"), "'variants' must be a list"),
        (lambda d: d["variants"].append(copy.deepcopy(d["variants"][0])), "variant names must be unique"),
        (lambda d: d["variants"].append("x"), "variant 4 must be an object"),
        (lambda d: d["variants"][1].update(steps=10), "variant non_saturating: a GAN lesson's variants race"),
        (lambda d: d["variants"][1].update(changes=["x"]), "'changes' must be an object"),
        (lambda d: d.pop("text"), "missing 'text'"),
    ],
)
def test_bad_gan_lesson_files_say_what_is_wrong(edit, message):
    d = doc()
    edit(d)
    with pytest.raises(PlaygroundError) as e:
        parse_lesson(d)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_gan_settings_name_the_variant_and_the_field():
    d = doc()
    d["variants"][2]["changes"] = {"training.loss": "hinge"}
    with pytest.raises(SpecError) as e:
        parse_lesson(d)
    assert e.value.path == "training.loss" and "variant least_squares" in str(e.value)
    assert "minimax" in str(e.value)  # the choices
    d = doc()
    d["variants"][0]["changes"] = {"generator.optimiser.lr": 0.1}
    with pytest.raises(
        SpecError, match=r"generator.optimiser: unknown key.*\(lesson gan_mode_collapse, variant minimax\)"
    ):
        parse_lesson(d)
    d = doc()
    d["base"]["discriminator"]["optimizer"]["lr"] = -1
    with pytest.raises(SpecError, match=r"discriminator.optimizer.lr: must be > 0 \(lesson"):
        parse_lesson(d)
    d = doc()
    d["variants"][0].pop("changes")
    d["variants"][0]["spec"] = {"training": {"loss": "wgan_gp"}}  # a full spec instead of changes
    assert parse_lesson(d).variants[0].spec == GanSpec().with_changes("training.loss", "wgan_gp")


def test_a_non_object_lesson_file_is_refused():
    with pytest.raises(PlaygroundError, match="a lesson must be a JSON object"):
        parse_lesson([1, 2])


def test_gan_sessions_of_the_lesson(tmp_path):
    """build_sessions writes the GAN lesson's variants as GAN sessions (untrained); the shipped
    ones beside the lesson file are the same."""
    from playground.gan import session

    lesson = load_lesson(LESSON)
    paths = build_sessions(tmp_path, [LESSON])
    assert [p.name for p in paths] == [f"{v.name}{session.SUFFIX}" for v in lesson.variants]
    for v, p in zip(lesson.variants, paths):
        trainer, view = session.load(p)
        assert trainer.spec == v.spec and trainer.iteration == 0
        assert view == {"lesson": LESSON, "variant": v.name, "steps": lesson.steps}
        shipped = lesson.path.parent / LESSON / p.name
        assert shipped.is_file(), "regenerate: python -m playground.lessons --sessions"
        assert session.load(shipped)[0].spec == v.spec
