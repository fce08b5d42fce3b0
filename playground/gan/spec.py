"""The GAN spec: one frozen dataclass tree, stored as JSON, validated with field paths.

A GAN experiment is two dense networks trained against each other on 2-D points: the
generator maps noise (``noise.dim`` values, normal or uniform) to a point, the discriminator
(the critic, for Wasserstein losses) maps a point to one logit. Each network has its own
layers, initialiser, optimizer (``playground.spec.OptimizerSpec``: torch.optim's names and
defaults) and batch size; ``training.d_steps`` discriminator steps run per generator step.

Conversion and the error messages are the experiment spec's own (``playground.spec``): an
unknown key, a wrong type or an impossible value raises ``SpecError`` naming the dotted path
(``generator.optimizer.lr: must be > 0``, ``data.points[3][1]: must be a number``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from playground.errors import SpecError
from playground.spec import (
    ACTIVATIONS,
    INITIALIZERS,
    MAX_BATCH,
    MAX_SPEC_FILE_BYTES,
    OptimizerSpec,
    _build,
    _choice,
    _count,
    _positive,
    _to_plain,
    _validate_optimizer,
    parse_json,
    set_path,
    short_path,
)

GAN_SCHEMA_VERSION = 1
FORMAT = "neural-playground-gan"

# Where the real points come from. The first six are drawn fresh every batch (a point of a
# base set plus gaussian jitter); "points" are painted by the user, "csv" read from a file.
DISTRIBUTIONS = ("ring", "grid", "moons", "spiral", "line", "gaussian")
DATA_KINDS = DISTRIBUTIONS + ("points", "csv")
NOISE_DISTRIBUTIONS = ("normal", "uniform")
# minimax: the original game (G minimises log(1 - D(G(z))); saturates early on);
# non_saturating: G maximises log D(G(z)) instead; least_squares: LSGAN with MSE targets 1/0;
# wgan_gp: Wasserstein critic + gradient penalty; wgan_clip: the critic's weights clipped.
LOSSES = ("minimax", "non_saturating", "least_squares", "wgan_gp", "wgan_clip")
WASSERSTEIN = ("wgan_gp", "wgan_clip")
G_OUTPUT_ACTIVATIONS = ("linear", "tanh")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")  # no L-BFGS
MAX_UNITS = 4096
MAX_LAYERS = 32
MAX_NOISE_DIM = 256
MAX_POINTS = 1_000_000
MAX_MODES = 10_000
MAX_D_STEPS = 1000


@dataclass(frozen=True)
class GanLayerSpec:
    units: int = 16
    activation: str = "leaky_relu"
    negative_slope: float = 0.01  # leaky_relu


@dataclass(frozen=True)
class GanNetSpec:
    """One of the two networks: hidden layers, initialiser, optimizer and batch size."""

    hidden: tuple[GanLayerSpec, ...] = (GanLayerSpec(), GanLayerSpec())
    init: str = "torch_default"
    bias_init: float | str = "torch_default"
    optimizer: OptimizerSpec = OptimizerSpec("adam", 1e-3, {"betas": (0.5, 0.9)})
    batch_size: int = 128
    output_activation: str = "linear"  # the generator may squash with tanh; D's is a logit


@dataclass(frozen=True)
class NoiseSpec:
    dim: int = 8
    distribution: str = "normal"  # normal: N(0, 1); uniform: U(-1, 1)


@dataclass(frozen=True)
class GanDataSpec:
    """``ring``: ``modes`` gaussians on a circle of ``radius``; ``grid``: a ``modes`` =
    m*m square grid of spacing ``radius``; ``gaussian``: one at the origin of std
    ``radius``... see ``playground.gan.data`` for every kind. ``std`` is the jitter added to
    every drawn point (the width of a mode), ``points`` the painted points, ``path`` /
    ``x_column`` / ``y_column`` the CSV (None: the first two numeric columns)."""

    kind: str = "ring"
    modes: int = 8
    radius: float = 2.0
    std: float = 0.02
    points: tuple[tuple[float, ...], ...] = ()
    path: str | None = None
    x_column: str | None = None
    y_column: str | None = None
    delimiter: str | None = None


@dataclass(frozen=True)
class GanTrainingSpec:
    loss: str = "wgan_gp"
    d_steps: int = 5  # discriminator (critic) steps per generator step
    gp_weight: float = 10.0  # wgan_gp: lambda of the gradient penalty
    clip_value: float = 0.01  # wgan_clip: the critic's parameters are clamped to +-clip_value
    dtype: str = "float32"


@dataclass(frozen=True)
class GanSpec:
    schema_version: int = GAN_SCHEMA_VERSION
    seed: int = 0
    name: str = ""
    data: GanDataSpec = GanDataSpec()
    noise: NoiseSpec = NoiseSpec()
    generator: GanNetSpec = GanNetSpec()
    discriminator: GanNetSpec = GanNetSpec()
    training: GanTrainingSpec = GanTrainingSpec()
    extra: dict = field(default_factory=dict)  # free-form notes (a lesson's label); never read

    @classmethod
    def from_dict(cls, d: Any) -> GanSpec:
        if not isinstance(d, dict):
            raise SpecError("", "the GAN spec must be a JSON object")
        version = d.get("schema_version", GAN_SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SpecError("schema_version", "must be a positive integer")
        if version > GAN_SCHEMA_VERSION:
            raise SpecError(
                "schema_version",
                f"{version if version < 10**6 else 'this version'} is newer than this version of "
                f"Neural Playground understands ({GAN_SCHEMA_VERSION}); please update the app",
            )
        spec = _canonical(_build(cls, d, ""))
        validate(spec)
        return spec

    @classmethod
    def from_json(cls, text: str, base_dir: str | Path | None = None) -> GanSpec:
        spec = cls.from_dict(parse_json(text))
        return spec.beside(base_dir) if base_dir is not None else spec

    @classmethod
    def from_file(cls, path: str | Path) -> GanSpec:
        p = Path(path)
        try:
            if not p.is_file():
                raise SpecError("", f"{short_path(p)} is not a spec file (not a regular file)")
            if p.stat().st_size > MAX_SPEC_FILE_BYTES:
                raise SpecError("", f"{short_path(p)} is too large for a spec file")
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise SpecError("", f"cannot read spec file {short_path(p)}: {e}") from None
        try:
            return cls.from_json(text, base_dir=p.parent)
        except SpecError as e:
            raise SpecError(e.path, f"{e.message} (in {short_path(p)})") from None

    def beside(self, folder: str | Path) -> GanSpec:
        """A relative CSV path made absolute when the file exists in ``folder``."""
        d = self.data
        if d.kind != "csv" or not d.path or Path(d.path).is_absolute():
            return self
        candidate = Path(folder) / d.path
        if candidate.is_file():
            return replace(self, data=replace(d, path=str(candidate.resolve())))
        return self

    def to_dict(self) -> dict:
        return _to_plain(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def with_changes(self, path: str, value: Any) -> GanSpec:
        """A copy with the dotted field ``path`` set to ``value`` (validated)."""
        d = self.to_dict()
        set_path(d, path, value)
        return GanSpec.from_dict(d)


def _canonical(spec: GanSpec) -> GanSpec:
    """Adam's ``betas`` as a tuple, as the defaults hold them (JSON gives a list), so a
    spec read back from its JSON is equal to the one written."""
    nets = {}
    for which in ("generator", "discriminator"):
        net = getattr(spec, which)
        betas = net.optimizer.params.get("betas")
        if isinstance(betas, list):
            params = {**net.optimizer.params, "betas": tuple(betas)}
            nets[which] = replace(net, optimizer=replace(net.optimizer, params=params))
    return replace(spec, **nets) if nets else spec


# --------------------------------------------------------------------------- validation


def validate(spec: GanSpec) -> None:
    """Values that types alone do not catch; raises SpecError naming the field."""
    if not 0 <= spec.seed < 2**63:
        raise SpecError("seed", "must be between 0 and 2**63 - 1")
    _validate_data(spec.data)
    _count("noise.dim", spec.noise.dim, MAX_NOISE_DIM)
    _choice("noise.distribution", spec.noise.distribution, NOISE_DISTRIBUTIONS)
    _validate_net("generator", spec.generator, G_OUTPUT_ACTIVATIONS)
    _validate_net("discriminator", spec.discriminator, ("linear",))
    t = spec.training
    _choice("training.loss", t.loss, LOSSES)
    _count("training.d_steps", t.d_steps, MAX_D_STEPS)
    _positive("training.gp_weight", t.gp_weight, strict=False)
    _positive("training.clip_value", t.clip_value)
    _choice("training.dtype", t.dtype, ("float32", "float64"))


def _validate_net(base: str, n: GanNetSpec, outputs) -> None:
    _count(f"{base}.hidden", len(n.hidden), MAX_LAYERS, minimum=0)
    for i, layer in enumerate(n.hidden):
        p = f"{base}.hidden[{i}]"
        _count(f"{p}.units", layer.units, MAX_UNITS)
        _choice(f"{p}.activation", layer.activation, ACTIVATIONS)
        _positive(f"{p}.negative_slope", layer.negative_slope, strict=False)
    _choice(f"{base}.init", n.init, INITIALIZERS)
    if isinstance(n.bias_init, str) and n.bias_init != "torch_default":
        raise SpecError(f"{base}.bias_init", "must be a number or 'torch_default'")
    _choice(f"{base}.optimizer.name", n.optimizer.name, OPTIMIZERS)
    try:
        _validate_optimizer(n.optimizer)
    except SpecError as e:  # the experiment spec's rules, under this network's path
        raise SpecError(e.path.replace("training.optimizer", f"{base}.optimizer", 1), e.message) from None
    _count(f"{base}.batch_size", n.batch_size, min(MAX_BATCH, 1 << 20))
    _choice(f"{base}.output_activation", n.output_activation, outputs)


def _validate_data(d: GanDataSpec) -> None:
    _choice("data.kind", d.kind, DATA_KINDS)
    _positive("data.std", d.std, strict=False)
    _positive("data.radius", d.radius)
    if d.kind in ("ring", "grid"):
        _count("data.modes", d.modes, MAX_MODES)
    if d.kind == "grid":
        side = round(d.modes**0.5)
        if side * side != d.modes:
            raise SpecError(
                "data.modes", f"a grid needs a square number of modes (4, 9, 16, ...), not {d.modes}"
            )
    if d.kind == "points":
        if not d.points:
            raise SpecError("data.points", "paint at least one point")
        if len(d.points) > MAX_POINTS:
            raise SpecError("data.points", f"at most {MAX_POINTS:,} points")
        for i, p in enumerate(d.points):
            if len(p) != 2:
                raise SpecError(f"data.points[{i}]", f"must be a pair [x, y], not {len(p)} numbers")
    elif d.points:
        raise SpecError("data.points", f"only for data.kind 'points' (this is {d.kind!r})")
    if d.kind == "csv" and not d.path:
        raise SpecError("data.path", "a CSV needs a file path")


def default_gan_spec() -> GanSpec:
    """The settings the app and the CLI start from: WGAN-GP (lambda 10, 5 critic steps per
    generator step, Adam lr 1e-3 betas (0.5, 0.9) for both) on 16-16 leaky-ReLU networks
    with 8 noise values, batch 128, float32, on W6's ring of 8. They covered 8 of 8 modes
    after 20,000 iterations for seeds 0-9 (>= 7 after 10,000), where W6's own settings
    (non-saturating, k = 1, ReLU, 2 noise values) covered >= 6 for 7 of 10 (docs/GAN.md)."""
    return GanSpec()
