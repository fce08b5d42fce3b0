"""Loss registry (PyTorch's definitions and 'mean' reductions). Codes drive the kernels;
the target encoding says how class labels become the target matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.engine.codes import BCE, CCE, HINGE, HUBER, KL_DIV, MAE, MSE
from playground.registry import Registry


@dataclass(frozen=True)
class Loss:
    name: str
    code: int
    torch_name: str
    description: str
    classification_only: bool = False


LOSSES: Registry[Loss] = Registry("loss")
for _l in (
    Loss("mse", MSE, "MSELoss", "mean squared error"),
    Loss("mae", MAE, "L1Loss", "mean absolute error"),
    Loss("huber", HUBER, "HuberLoss", "squared near zero, absolute far away (delta = training.huber_delta)"),
    Loss("bce", BCE, "BCEWithLogitsLoss", "binary cross-entropy on sigmoid outputs (fused, stable)", True),
    Loss("cce", CCE, "CrossEntropyLoss", "categorical cross-entropy on softmax outputs (log-sum-exp)", True),
    Loss("hinge", HINGE, "mean(max(0, 1 - y f)) / MultiMarginLoss", "margin loss of SVMs; +-1 targets", True),
    Loss("kl_div", KL_DIV, "KLDivLoss(reduction='batchmean')", "KL divergence of target from softmax", True),
):
    LOSSES.register(_l.name, _l)


def n_outputs(loss: str, output_activation: str, task: str, n_classes: int, n_targets: int) -> int:
    """Number of output units: one for binary problems scored by a single output."""
    if task == "regression":
        return n_targets
    if n_classes == 2 and output_activation != "softmax" and loss in ("bce", "mse", "mae", "huber", "hinge"):
        return 1
    return n_classes


def encode_targets(y: np.ndarray, loss: str, output_activation: str, task: str, n_out: int) -> np.ndarray:
    """Class indices or regression values -> the float target matrix the loss compares with."""
    if task == "regression":
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    y = np.asarray(y, dtype=np.int64)
    if n_out == 1:
        pos = (y == 1).astype(np.float64)[:, None]
        if loss == "hinge" or output_activation == "tanh":
            return 2.0 * pos - 1.0  # +-1 targets, as TensorFlow Playground and SVMs use
        return pos
    onehot = np.zeros((len(y), n_out))
    onehot[np.arange(len(y)), y] = 1.0
    if output_activation == "tanh" and loss != "hinge":
        return 2.0 * onehot - 1.0
    return onehot


def target_codes(loss: str, output_activation: str) -> tuple[float, float]:
    """The target values of class 0 and class 1 for a single output (``encode_targets``):
    -1/+1 for hinge and tanh outputs, 0/1 otherwise."""
    return (-1.0, 1.0) if loss == "hinge" or output_activation == "tanh" else (0.0, 1.0)


def decision_threshold(loss: str, output_activation: str) -> float:
    """Where a single output changes class: halfway between the two target codes, so a point
    counts as the class whose code its output is nearest to (0.5 for 0/1 targets, whether
    the output is a sigmoid probability or linear; 0 for +-1 targets). The one place that
    decides: the metrics kernels, ``Experiment.predict_classes``, history, race and sweeps."""
    lo, hi = target_codes(loss, output_activation)
    return 0.5 * (lo + hi)


def decode_predictions(out: np.ndarray, threshold: float) -> np.ndarray:
    """Network outputs -> predicted class indices: the nearest target code. One output:
    class 1 above ``threshold`` (``decision_threshold``); several: the largest output, the
    nearest one-hot (or +-1) code. Twin of the decision in ``kernels.metrics_kernel``."""
    out = np.asarray(out)
    if out.shape[1] == 1:
        return (out[:, 0] > threshold).astype(np.int64)
    return np.argmax(out, axis=1)
