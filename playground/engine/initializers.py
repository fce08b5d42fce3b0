"""Weight initializers: a registry of ``fn(fan_in, fan_out, rng, shape=None)`` -> float64 arrays
of shape (fan_in, fan_out) (or ``shape``: a convolution's weight).

W is stored (fan_in, fan_out) as in ``engine/layout.py``. Every random initializer draws
exactly ``fan_in * fan_out`` numbers from ``rng`` in C order (row by row); ``zeros`` draws
none. ``init_params`` fixes the draw order for a whole network: for each layer in order,
W first, then b (b draws only when ``bias_init == "torch_default"``), so a seed gives the
same network on every machine and numpy version that keeps Generator streams stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from playground.registry import Registry

InitFn = Callable[..., np.ndarray]  # fn(fan_in, fan_out, rng, shape=None)


@dataclass(frozen=True)
class Initializer:
    name: str
    description: str  # one line, for the GUI tooltip
    fn: InitFn


INITIALIZERS: Registry[Initializer] = Registry("initializer")


def _uniform(bound: float, fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    """U(-bound, bound) of shape (fan_in, fan_out), or of ``shape`` (a convolution's weight)."""
    return rng.uniform(-bound, bound, size=shape or (fan_in, fan_out))


def _normal(std: float, fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    """N(0, std^2) of shape (fan_in, fan_out), or of ``shape``."""
    return rng.normal(0.0, std, size=shape or (fan_in, fan_out))


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return _uniform(math.sqrt(6.0 / (fan_in + fan_out)), fan_in, fan_out, rng, shape)


def glorot_normal(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return _normal(math.sqrt(2.0 / (fan_in + fan_out)), fan_in, fan_out, rng, shape)


def he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return _uniform(math.sqrt(6.0 / fan_in), fan_in, fan_out, rng, shape)


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return _normal(math.sqrt(2.0 / fan_in), fan_in, fan_out, rng, shape)


def lecun_normal(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return _normal(math.sqrt(1.0 / fan_in), fan_in, fan_out, rng, shape)


def uniform(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return _uniform(0.5, fan_in, fan_out, rng, shape)


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    return np.zeros(shape or (fan_in, fan_out))


def torch_default(fan_in: int, fan_out: int, rng: np.random.Generator, shape=None) -> np.ndarray:
    # nn.Linear: kaiming_uniform_(a=sqrt(5)) -> bound sqrt(6 / ((1 + 5) fan_in)) = 1 / sqrt(fan_in)
    return _uniform(1.0 / math.sqrt(fan_in), fan_in, fan_out, rng, shape)


for _i in (
    Initializer(
        "glorot_uniform",
        "Glorot/Xavier uniform: U(±sqrt(6 / (fan_in + fan_out))); suits tanh and sigmoid",
        glorot_uniform,
    ),
    Initializer(
        "glorot_normal",
        "Glorot/Xavier normal: N(0, std = sqrt(2 / (fan_in + fan_out))); suits tanh and sigmoid",
        glorot_normal,
    ),
    Initializer(
        "he_uniform",
        "He/Kaiming uniform: U(±sqrt(6 / fan_in)); made for ReLU layers",
        he_uniform,
    ),
    Initializer(
        "he_normal",
        "He/Kaiming normal: N(0, std = sqrt(2 / fan_in)); made for ReLU layers",
        he_normal,
    ),
    Initializer(
        "lecun_normal",
        "LeCun normal: N(0, std = sqrt(1 / fan_in)); keeps unit variance through linear layers",
        lecun_normal,
    ),
    Initializer(
        "uniform",
        "U(-0.5, 0.5) whatever the layer size, as TensorFlow Playground does",
        uniform,
    ),
    Initializer(
        "zeros",
        "all zeros: every unit of a layer stays identical (shows why symmetry must be broken)",
        zeros,
    ),
    Initializer(
        "torch_default",
        "PyTorch nn.Linear's default: U(±1 / sqrt(fan_in))",
        torch_default,
    ),
):
    INITIALIZERS.register(_i.name, _i)


def init_weight(init: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """One weight matrix (fan_in, fan_out) from the named initializer."""
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"layer sizes must be >= 1, got fan_in={fan_in}, fan_out={fan_out}")
    return np.ascontiguousarray(INITIALIZERS[init].fn(fan_in, fan_out, rng), dtype=np.float64)


def init_weight_shaped(init: str, shape: tuple[int, ...], fan_in: int, fan_out: int, rng) -> np.ndarray:
    """A weight array of ``shape`` whose distribution follows the fans (a convolution's
    (out, in, kh, kw) weight: fan_in = in*kh*kw, fan_out = out*kh*kw, as PyTorch computes)."""
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"layer sizes must be >= 1, got fan_in={fan_in}, fan_out={fan_out}")
    return np.ascontiguousarray(INITIALIZERS[init].fn(fan_in, fan_out, rng, shape=shape), dtype=np.float64)


def init_bias(bias_init: float | str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """One bias vector (fan_out,): a constant, or "torch_default" U(±1 / sqrt(fan_in))."""
    if isinstance(bias_init, str):
        if bias_init != "torch_default":
            raise ValueError(f"bias_init must be a number or 'torch_default', got {bias_init!r}")
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=fan_out)
    return np.full(fan_out, float(bias_init))


def init_params(
    layer_sizes: Sequence[int], init: str, bias_init: float | str, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W, b)] for a dense net with ``layer_sizes = [n_in, hidden..., n_out]``.

    Draw order: layer by layer, W (C order) then b; constant biases draw nothing.
    """
    if len(layer_sizes) < 2:
        raise ValueError("layer_sizes needs at least the input and the output size")
    params = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        W = init_weight(init, int(fan_in), int(fan_out), rng)
        b = init_bias(bias_init, int(fan_in), int(fan_out), rng)
        params.append((W, b))
    return params
