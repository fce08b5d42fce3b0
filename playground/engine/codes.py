"""Every integer the numba kernels switch on, and the layout of the rows they write.

One module owns them: the registries (``activations.py``, ``losses.py``), the blocks, the
trainer and the experiment import the numbers from here, so a kernel and its caller cannot
disagree. Plain Python ints: numba freezes module-level ints into the compiled code.
"""

from __future__ import annotations

# activations (activations.ACTIVATIONS holds their names and numpy twins)
LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, GELU, SOFTPLUS, SINE, SOFTMAX = range(10)
# losses (losses.LOSSES)
MSE, MAE, HUBER, BCE, CCE, HINGE, KL_DIV = range(7)
# optimizers of the flat parameter vector (L-BFGS runs in Python: lbfgs.py)
OPT_SGD, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM, OPT_ADAMW = range(5)
# slots of the ``hp`` vector of hyper-parameters every step kernel takes
HP_MOMENTUM, HP_DAMPENING, HP_NESTEROV, HP_WD, HP_BETA1, HP_BETA2, HP_EPS = range(7)
HP_ALPHA, HP_CENTERED, HP_LR_DECAY, HP_AMSGRAD, HP_CLIP, HP_REG_KIND, HP_REG_RATE, HP_HUBER = range(7, 15)
N_HP = 15
# regularisation kinds (hp[HP_REG_KIND])
REG_NONE, REG_L1, REG_L2 = range(3)
# what a training call ended with
OK, DIVERGED_LOSS, DIVERGED_GRAD, DIVERGED_PARAMS = range(4)
# history rows written inside the recording kernel (``Record`` below names the columns)
REC_STEP, REC_TRAIN_LOSS, REC_TRAIN_SCORE, REC_TEST_LOSS, REC_TEST_SCORE = range(5)
REC_N_SCALARS = 5
# layer blocks (blocks/registry.py): the kind column of a network's plan
BLOCK_DENSE, BLOCK_CONV2D, BLOCK_MAXPOOL2D, BLOCK_AVGPOOL2D, BLOCK_FLATTEN = range(5)
BLOCK_RNN, BLOCK_LSTM, BLOCK_GRU = range(5, 8)


class Record:
    """Columns of a history row written inside the recording kernel.

    ``step, train loss, train score, test loss, test score``, then per parametric layer
    ``|dW|^2`` (n_layers), ``|db|^2`` (n_layers) and ``|W|^2`` (n_layers)."""

    STEP, TRAIN_LOSS, TRAIN_SCORE, TEST_LOSS, TEST_SCORE = range(5)
    N_SCALARS = REC_N_SCALARS  # kernels use the module-level names (numba reads no classes)

    @staticmethod
    def width(n_layers: int) -> int:
        return Record.N_SCALARS + 3 * n_layers

    @staticmethod
    def grad_w_sq(row, n_layers: int):
        return row[Record.N_SCALARS : Record.N_SCALARS + n_layers]

    @staticmethod
    def grad_b_sq(row, n_layers: int):
        return row[Record.N_SCALARS + n_layers : Record.N_SCALARS + 2 * n_layers]

    @staticmethod
    def weight_sq(row, n_layers: int):
        return row[Record.N_SCALARS + 2 * n_layers : Record.N_SCALARS + 3 * n_layers]
