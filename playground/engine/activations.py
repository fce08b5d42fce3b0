"""Activation registry. Codes are what the numba kernels switch on; the numpy functions
are the reference twins (PyTorch's definitions: elu alpha 1, exact-erf gelu, softplus
beta 1 threshold 20)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.engine.codes import (
    ELU,
    GELU,
    LEAKY_RELU,
    LINEAR,
    RELU,
    SIGMOID,
    SINE,
    SOFTMAX,
    SOFTPLUS,
    TANH,
)
from playground.registry import Registry

_erf = np.vectorize(math.erf, otypes=[float])


@dataclass(frozen=True)
class Activation:
    name: str
    code: int
    fn: Callable[..., np.ndarray]  # numpy twin: fn(z, slope) -> a
    grad: Callable[..., np.ndarray]  # d a / d z given (z, a, slope)
    description: str
    hidden: bool = True  # usable in hidden layers
    output: bool = False  # usable as output activation


ACTIVATIONS: Registry[Activation] = Registry("activation")


def _sigmoid(z, s=0.0):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def _softplus(z, s=0.0):
    return np.where(z > 20.0, z, np.log1p(np.exp(np.minimum(z, 20.0))))


def _gelu(z, s=0.0):
    return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))


def _gelu_grad(z, a, s=0.0):
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0))) + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _softmax(z, s=0.0):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


for _a in (
    Activation(
        "linear",
        LINEAR,
        lambda z, s=0.0: z.copy(),
        lambda z, a, s=0.0: np.ones_like(z),
        "identity: no non-linearity",
        True,
        True,
    ),
    Activation(
        "sigmoid",
        SIGMOID,
        _sigmoid,
        lambda z, a, s=0.0: a * (1.0 - a),
        "1 / (1 + e^-z): squashes to (0, 1); saturates, so gradients vanish in deep nets",
        True,
        True,
    ),
    Activation(
        "tanh",
        TANH,
        lambda z, s=0.0: np.tanh(z),
        lambda z, a, s=0.0: 1.0 - a * a,
        "squashes to (-1, 1), zero-centred",
        True,
        True,
    ),
    Activation(
        "relu",
        RELU,
        lambda z, s=0.0: np.maximum(z, 0.0),
        lambda z, a, s=0.0: (z > 0).astype(z.dtype),
        "max(0, z): cheap, no saturation for z > 0; units can die",
        True,
        False,
    ),
    Activation(
        "leaky_relu",
        LEAKY_RELU,
        lambda z, s=0.01: np.where(z > 0, z, s * z),
        lambda z, a, s=0.01: np.where(z > 0, 1.0, s).astype(z.dtype),
        "relu with a small slope for z < 0 so units never die",
        True,
        False,
    ),
    Activation(
        "elu",
        ELU,
        lambda z, s=0.0: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
        lambda z, a, s=0.0: np.where(z > 0, 1.0, a + 1.0).astype(z.dtype),
        "z for z > 0, e^z - 1 below: smooth relu",
        True,
        False,
    ),
    Activation(
        "gelu", GELU, _gelu, _gelu_grad, "z * Phi(z) (exact erf form): used in transformers", True, False
    ),
    Activation(
        "softplus",
        SOFTPLUS,
        _softplus,
        lambda z, a, s=0.0: np.where(z > 20.0, 1.0, _sigmoid(np.minimum(z, 20.0))).astype(z.dtype),
        "log(1 + e^z): a smooth relu",
        True,
        False,
    ),
    Activation(
        "sine",
        SINE,
        lambda z, s=0.0: np.sin(z),
        lambda z, a, s=0.0: np.cos(z),
        "sin(z): periodic, as in SIREN networks",
        True,
        False,
    ),
    Activation(
        "softmax",
        SOFTMAX,
        _softmax,
        lambda z, a, s=0.0: None,
        "class probabilities that sum to 1 (goes with cross-entropy)",
        False,
        True,
    ),
):
    ACTIVATIONS.register(_a.name, _a)

HIDDEN_ACTIVATIONS = [n for n, a in ACTIVATIONS.items() if a.hidden]
OUTPUT_ACTIVATIONS = [n for n, a in ACTIVATIONS.items() if a.output]

BY_CODE: dict[int, Activation] = {a.code: a for _, a in ACTIVATIONS.items()}
