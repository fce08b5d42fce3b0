"""GAN lessons: a lesson whose variants are GAN specs, raced from the same start.

A lesson file with ``"mode": "gan"`` (``playground.lessons`` reads the file and calls
:func:`parse_variants`) has a GAN spec as its ``base`` and variants of dotted-path
``changes`` to it (or a full GAN ``spec``)::

    {"id": "gan_mode_collapse", "mode": "gan", "title": "...", "claim": "...", "text": "...",
     "steps": 3000, "every": 500, "base": {GAN spec dict},
     "variants": [{"name": "minimax", "title": "...", "changes": {"training.loss": "minimax"}}, ...]}

``steps`` are GAN iterations (``training.d_steps`` discriminator steps and one generator
step each); every variant races for the lesson's ``steps`` (a variant has no ``steps`` of
its own: the race trains them together, round-robin, as ``playground.gan.race`` does), and
a fit row (modes covered, distance, collapse) is kept every ``every`` iterations.
:func:`run` trains them headless and returns plain data, one result per variant.
"""

from __future__ import annotations

from collections.abc import Mapping

from playground.errors import PlaygroundError
from playground.gan.race import race
from playground.gan.spec import GanSpec
from playground.variants import apply_overrides

DEFAULT_ROWS = 10  # fit rows per race when the lesson gives no "every"


def variant_spec(base: Mapping | GanSpec, changes: Mapping, where: str) -> GanSpec:
    """``base`` with each dotted path of ``changes`` set, validated; errors name ``where``
    (the lesson and variant) and the field."""
    if not isinstance(changes, Mapping):
        raise PlaygroundError(f"{where}: 'changes' must be an object of dotted.path: value")
    return apply_overrides(base, changes, where, spec_type=GanSpec)


def parse_every(doc: Mapping, steps: int, where: str) -> int:
    every = doc.get("every", max(1, steps // DEFAULT_ROWS))
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= steps:
        raise PlaygroundError(f"{where}: 'every' must be a whole number of iterations from 1 to {steps:,}")
    return every


def parse_variants(doc: Mapping, where: str) -> list[tuple[str, str, GanSpec]]:
    """(name, title, GanSpec) of every variant of a GAN lesson document."""
    base = doc.get("base", {})
    if not isinstance(base, Mapping):
        raise PlaygroundError(f"{where}: 'base' must be a GAN spec object")
    out = []
    for i, v in enumerate(doc["variants"]):
        if not isinstance(v, Mapping):
            raise PlaygroundError(f"{where}: variant {i + 1} must be an object")
        name = v.get("name") or f"variant{i + 1}"
        at = f"lesson {where}, variant {name}"
        if "steps" in v:
            raise PlaygroundError(
                f"{at}: a GAN lesson's variants race together for the lesson's steps (remove 'steps')"
            )
        spec = variant_spec(v["spec"] if "spec" in v else base, v.get("changes", {}), at)
        out.append((name, v.get("title", name), spec))
    return out


def run(lesson, steps: int | None = None, seed: int | None = None, on_rows=None) -> dict[str, dict]:
    """Race every variant of a GAN lesson headless: {variant name: result}.

    ``seed`` replaces every variant's seed (the lesson's effect measured on other seeds).
    A result holds the last fit row (``modes``, ``modes_covered``, ``sliced_wasserstein``,
    ``collapse``, ``iteration``, ``d_fake``: D's mean logit on generated points),
    ``peak_modes`` (the most modes covered at any row), ``status`` ("ok" or "diverged") and
    ``history`` (every row's values, by column)."""
    n = steps if steps is not None else lesson.steps
    every = min(lesson.every or n, n)
    pairs = [
        (v.name, v.spec if seed is None else v.spec.with_changes("seed", int(seed))) for v in lesson.variants
    ]
    entries = race(pairs, n, every, on_rows=on_rows)
    titles = {v.name: v.title for v in lesson.variants}
    out = {}
    for e in entries:
        last = e.rows[-1]
        cols = ("iteration", "modes_covered", "sliced_wasserstein", "collapse", "d_loss", "g_loss", "d_fake")
        out[e.label] = {
            "title": titles[e.label],
            "status": e.status,
            "iteration": last["iteration"],
            "modes": last["modes"],
            "modes_covered": last["modes_covered"],
            "sliced_wasserstein": last["sliced_wasserstein"],
            "collapse": last["collapse"],
            "d_fake": last["d_fake"],
            "peak_modes": max(r["modes_covered"] for r in e.rows),
            "history": {c: [r[c] for r in e.rows] for c in cols},
        }
    return out
