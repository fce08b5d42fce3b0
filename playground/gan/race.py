"""A GAN race: variants of one GAN spec trained from the same start, their fit side by side.

Variants differ by dotted overrides (``training.loss=minimax``, ``generator.optimizer.lr=
0.0005``). They start from the same initial weights whenever their networks have the same
shapes (the weights are drawn from the seed alone) and see the same random draws (the
counter-based RNG is keyed on the seed and step numbers), so a difference in the outcome
is the setting's. ``race`` trains them round-robin in chunks and records the fit of each
at every ``every`` iterations: what the CLI prints (``playground gan SPEC --compare``) and
what a race view draws. A row also holds ``d_fake``, the discriminator's mean logit on
generated points over the last (up to) 100 recorded iterations: how confidently it rejects
them (sigmoid(d_fake) ~ D(G(z)); a Wasserstein critic's raw score).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from playground.errors import SpecError
from playground.gan.kernels import REC_D_FAKE
from playground.gan.model import GanTrainer
from playground.gan.spec import GanSpec

D_FAKE_ROWS = 100  # recorded iterations the row's d_fake averages over


@dataclass
class RaceEntry:
    label: str
    spec: GanSpec
    trainer: GanTrainer
    rows: list[dict] = field(default_factory=list)  # {"iteration", "modes_covered", ...}
    status: str = "ok"


def parse_compare(text: str) -> tuple[str, list]:
    """``path=v1,v2,...`` -> (path, values); numbers become numbers, the rest stay text."""
    if "=" not in text:
        raise SpecError("--compare", f"write dotted.path=value1,value2 (got {text!r})")
    path, _, values = text.partition("=")
    out = []
    for v in values.split(","):
        v = v.strip()
        if not v:
            continue
        try:
            out.append(int(v))
        except ValueError:
            try:
                out.append(float(v))
            except ValueError:
                out.append(v)
    if len(out) < 2:
        raise SpecError("--compare", f"give at least two values for {path.strip()!r}")
    return path.strip(), out


def variants(spec: GanSpec, path: str, values) -> list[tuple[str, GanSpec]]:
    """(label, spec) for each value of ``path`` (validated: SpecError names the field)."""
    return [(f"{path.split('.')[-1]}={v}", spec.with_changes(path, v)) for v in values]


def race(
    entries: list[tuple[str, GanSpec]],
    iterations: int,
    every: int = 1000,
    chunk: int = 500,
    on_rows=None,
) -> list[RaceEntry]:
    """Train every variant ``iterations`` iterations, round-robin in chunks; the fit of each
    every ``every`` iterations and at the end. A variant that diverges stops; the others go
    on. ``on_rows(entries)`` is called after each round of fit rows (a view draws them; it
    may raise to stop the race)."""
    race_entries = [RaceEntry(label, s, GanTrainer(s)) for label, s in entries]
    done = 0
    while done < iterations:
        n = min(chunk, iterations - done, every - done % every)
        for e in race_entries:
            if e.status != "ok":
                continue
            rep = e.trainer.run(n)
            if not rep.ok:
                e.status = "diverged"
                e.rows.append(_row(e.trainer))
        done += n
        if done % every == 0 or done == iterations:
            for e in race_entries:
                if e.status == "ok":
                    e.rows.append(_row(e.trainer))
            if on_rows is not None:
                on_rows(race_entries)
    return race_entries


def _row(tr: GanTrainer) -> dict:
    fit = tr.fit()
    last = tr.records[-1] if len(tr.records) else None
    return {
        "iteration": tr.iteration,
        "modes_covered": fit["modes_covered"],
        "modes": fit["modes"],
        "sliced_wasserstein": fit["sliced_wasserstein"],
        "collapse": fit["collapse"],
        "d_loss": float(last[0]) if last is not None else None,
        "g_loss": float(last[1]) if last is not None else None,
        "d_fake": float(np.mean(tr.records[-D_FAKE_ROWS:, REC_D_FAKE])) if last is not None else None,
    }
