"""One-click lessons: presets that demonstrate a claim of introductory gradient-descent texts.

A lesson is ``resources/lessons/<id>.json``::

    {"id": "learning_rate", "title": "...", "claim": "...", "text": "what to look at (shown in the app)",
     "steps": 1000, "base": {spec dict},
     "variants": [{"name": "too_small", "title": "lr 0.001", "changes": {"training.optimizer.lr": 0.001}},
                  {"name": "custom", "title": "...", "spec": {full spec dict}, "steps": 500}, ...],
     "views": ["landscape"]}

``views`` (optional) names docks the app opens with the lesson, for its first variant (the
one the text is about): ``"landscape"``, the loss landscape view.

``mode`` (optional, default ``"experiment"``): ``"gan"`` makes the lesson a GAN race, its
``base`` and variants GAN specs (``playground.gan.spec``), its ``steps`` GAN iterations that
every variant races for together, ``every`` how often a fit row (modes covered, distance)
is kept; ``playground.gan.lesson`` parses and runs those, the app opens them in GAN mode.

Each variant is the base spec with dotted-path ``changes`` (or a full ``spec``), trained for
the lesson's ``steps`` (or its own). The texts were written from what our engine measured
(docs/LESSONS.md); tests/test_lessons.py checks every effect still holds.

>>> from playground.lessons import LESSONS, load_lesson, run_lesson
>>> sorted(LESSONS)                                         # doctest: +SKIP
>>> res = run_lesson("learning_rate")                       # doctest: +SKIP
>>> res["too_small"]["final_train_loss"]                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from playground.errors import PlaygroundError
from playground.resources import lessons_dir
from playground.spec import ExperimentSpec

if TYPE_CHECKING:
    from playground.gan.spec import GanSpec
from playground.variants import MAX_VARIANTS, MIN_VARIANTS, apply_overrides

__all__ = ["Lesson", "Variant", "LESSONS", "load_lesson", "run_lesson", "sign_changes", "first_step"]


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    spec: ExperimentSpec | GanSpec  # a GanSpec in a GAN lesson
    steps: int


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    claim: str
    text: str
    steps: int
    variants: tuple[Variant, ...]
    path: Path | None = None
    views: tuple[str, ...] = ()
    mode: str = "experiment"  # "gan": a race of GAN specs (playground.gan.lesson)
    every: int | None = None  # GAN lessons: a fit row every `every` iterations

    @property
    def is_gan(self) -> bool:
        return self.mode == "gan"

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def experiments(self) -> list[tuple[Variant, object]]:
        """Fresh, untrained Experiments of every variant (for the app's race mode)."""
        from playground.experiment import Experiment

        if self.is_gan:
            raise PlaygroundError(f"lesson {self.id!r} is a GAN race: open it in GAN mode")

        return [(v, Experiment(v.spec)) for v in self.variants]


def parse_lesson(doc: dict, path: Path | None = None) -> Lesson:
    """Build and validate a Lesson from its JSON document (errors name the lesson and field)."""
    if not isinstance(doc, dict):
        where = path.name if path is not None else "lesson"
        raise PlaygroundError(f"{where}: a lesson must be a JSON object")
    where = path.name if path is not None else doc.get("id", "lesson")
    for key in ("id", "title", "text", "variants"):
        if key not in doc:
            raise PlaygroundError(f"{where}: missing {key!r}")
    mode = doc.get("mode", "experiment")
    if mode not in MODES:
        raise PlaygroundError(f"{where}: mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not isinstance(doc["variants"], list):
        raise PlaygroundError(f"{where}: 'variants' must be a list")
    steps = doc.get("steps", 1000)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise PlaygroundError(f"{where}: 'steps' must be a positive whole number, not {steps!r}")
    base = doc.get("base", {})
    variants = []
    every = None
    if mode == "gan":
        from playground.gan import lesson as gan_lesson

        every = gan_lesson.parse_every(doc, steps, where)
        variants = [Variant(n, t, s, steps) for n, t, s in gan_lesson.parse_variants(doc, where)]
    for i, v in enumerate(doc["variants"] if mode == "experiment" else []):
        name = v.get("name") or f"variant{i + 1}"
        spec = apply_overrides(
            v["spec"] if "spec" in v else base, v.get("changes", {}), f"lesson {where}, variant {name}"
        )
        variants.append(Variant(name, v.get("title", name), spec, int(v.get("steps", steps))))
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise PlaygroundError(
            f"{where}: a lesson has {MIN_VARIANTS} to {MAX_VARIANTS} variants, not {len(variants)}"
        )
    if len({v.name for v in variants}) != len(variants):
        raise PlaygroundError(f"{where}: variant names must be unique")
    views = doc.get("views", [])
    if not isinstance(views, list) or any(v not in VIEWS for v in views):
        raise PlaygroundError(f"{where}: views must be a list of {', '.join(VIEWS)}, not {views!r}")
    return Lesson(
        doc["id"],
        doc["title"],
        doc.get("claim", ""),
        doc["text"],
        steps,
        tuple(variants),
        path,
        tuple(views),
        mode,
        every,
    )


class _Lessons(Mapping):
    """The shipped lessons keyed by id, read from resources/lessons/*.json on first use."""

    def __init__(self):
        self._cache: dict[str, Lesson] | None = None

    def _all(self) -> dict[str, Lesson]:
        if self._cache is None:
            found: dict[str, Lesson] = {}
            folder = lessons_dir()
            for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                lesson = parse_lesson(json.loads(p.read_text(encoding="utf-8")), p)
                found[lesson.id] = lesson
            order = {k: i for i, k in enumerate(ORDER)}
            self._cache = dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
        return self._cache

    def __getitem__(self, key: str) -> Lesson:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def reload(self) -> None:
        self._cache = None


# the order the app lists them in
ORDER = (
    "learning_rate",
    "batch_size",
    "optimizers",
    "initialization",
    "vanishing_gradients",
    "gradients_through_time",
    "truncated_bptt",
    "non_convex",
    "loss_functions",
    "regularization",
    "second_order",
    "gradient_free",
    "conv_vs_dense",
    "local_minima",
    "gan_mode_collapse",
)
VIEWS = ("landscape",)  # the docks a lesson may open with it ("views")
MODES = ("experiment", "gan")  # a lesson races Experiments, or GAN specs in GAN mode
LESSONS = _Lessons()


def load_lesson(lesson_id: str) -> Lesson:
    try:
        return LESSONS[lesson_id]
    except KeyError:
        raise PlaygroundError(f"no lesson {lesson_id!r}; choose one of: {', '.join(LESSONS)}") from None


# --------------------------------------------------------------------------- measuring


def sign_changes(values) -> int:
    """How often the loss switches between going down and going up (oscillation)."""
    v = np.asarray(values, dtype=np.float64)
    d = np.diff(v[np.isfinite(v)])
    s = np.sign(d[d != 0])
    return int(np.sum(s[1:] != s[:-1]))


def first_step(result: dict, column: str, threshold: float, below: bool = True) -> int | None:
    """First recorded step where ``column`` is <= threshold (or >= with below=False)."""
    h = result["history"]
    for s, v in zip(h["step"], h[column]):
        if v is not None and (v <= threshold if below else v >= threshold):
            return int(s)
    return None


def _plain(a) -> list:
    return [None if not math.isfinite(x) else float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def run_variant(variant: Variant, steps: int | None = None) -> dict:
    """Train one variant headless; plain-data result (sweep summary + history + extras)."""
    from playground.experiment import Experiment
    from playground.sweep.run import summarize_experiment

    exp = Experiment(variant.spec)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        exp.train(steps=steps if steps is not None else variant.steps)
    h = exp.history
    res = summarize_experiment(exp)
    res.pop("curve")
    gw = np.asarray(h["grad_norm_w"], dtype=np.float64)[1:]  # row 0 is before any step
    batch = np.asarray(h["batch_loss"], dtype=np.float64)[1:]
    tail = batch[len(batch) // 2 :]
    tail = tail[np.isfinite(tail)]
    res.update(
        title=variant.title,
        initial_train_loss=float(h["train_loss"][0]),
        sign_changes=sign_changes(h["train_loss"]),
        # noise of the loss curve: spread of the change of the recorded batch loss, 2nd half
        batch_loss_noise=float(np.std(np.diff(tail))) if tail.size > 2 else None,
        grad_norm_w_median=_plain(np.nanmedian(gw, axis=0)) if len(gw) else [],
        history={
            c: _plain(h[c])
            for c in ("step", "wall_time", "batch_loss", "train_loss", "test_loss", "test_metric")
        },
        weights=[tuple(a.tolist() for a in p) for p in exp.params]
        if exp.trainer.layout.n_params < 2000
        else None,
    )
    return res


def run_lesson(lesson_id: str, steps: int | None = None, seed: int | None = None) -> dict[str, dict]:
    """Run every variant of a lesson headless: {variant name: result} (see run_variant; a GAN
    lesson: ``playground.gan.lesson.run``). ``seed`` replaces every variant's seed."""
    lesson = load_lesson(lesson_id)
    if lesson.is_gan:
        from playground.gan import lesson as gan_lesson

        return gan_lesson.run(lesson, steps, seed)
    if seed is not None:
        lesson = Lesson(
            lesson.id,
            lesson.title,
            lesson.claim,
            lesson.text,
            lesson.steps,
            tuple(
                Variant(v.name, v.title, apply_overrides(v.spec, {"seed": int(seed)}), v.steps)
                for v in lesson.variants
            ),
        )
    return {v.name: run_variant(v, steps) for v in lesson.variants}


# --------------------------------------------------------------------------- session files


def build_sessions(folder: Path | None = None, lesson_ids=None) -> list[Path]:
    """Write ``<id>/<variant>.playground`` (untrained, ready to open) for every lesson; a GAN
    lesson's are ``<id>/<variant>.playground-gan`` (GAN mode's sessions). ``lesson_ids``: only
    these lessons."""
    from playground.session import save

    out = []
    root = Path(folder) if folder is not None else lessons_dir()
    for lesson in LESSONS.values() if lesson_ids is None else [load_lesson(k) for k in lesson_ids]:
        if lesson.is_gan:
            from playground.gan import session as gan_session
            from playground.gan.model import GanTrainer

            for v in lesson.variants:
                p = root / lesson.id / f"{v.name}{gan_session.SUFFIX}"
                p.parent.mkdir(parents=True, exist_ok=True)
                view = {"lesson": lesson.id, "variant": v.name, "steps": v.steps}
                out.append(gan_session.save(GanTrainer(v.spec), p, view=view))
            continue
        for v, exp in lesson.experiments():
            p = root / lesson.id / f"{v.name}.playground"
            p.parent.mkdir(parents=True, exist_ok=True)
            out.append(
                save(exp, p, view={"lesson": lesson.id, "variant": v.name, "steps": v.steps}, remember=False)
            )
    return out


if __name__ == "__main__":  # python -m playground.lessons [--sessions]: print each lesson's numbers
    import sys

    if "--sessions" in sys.argv:
        for p in build_sessions():
            print(p)
        sys.exit(0)
    for lid in sys.argv[1:] or list(LESSONS):
        print(f"== {lid}")
        if LESSONS[lid].is_gan:
            for name, r in run_lesson(lid).items():
                modes = " ".join(str(m) for m in r["history"]["modes_covered"])
                print(f"  {name:<16} modes covered {modes} (of {r['modes']})  status {r['status']}")
            continue
        for name, r in run_lesson(lid).items():
            print(
                f"  {name:<14} loss {r['initial_train_loss']:.4g} -> {r['final_train_loss']} "
                f"(best {r['best_train_loss']:.4g})  test {r['metric']} {r['final_test_metric']}  "
                f"sign changes {r['sign_changes']}  noise {r['batch_loss_noise']}  status {r['status']}  "
                f"wall {r['wall_time']:.3f}s  grad/layer {[round(g, 6) for g in r['grad_norm_w_median']]}"
            )
