"""L-BFGS on a flat float64 parameter vector: a line-by-line port of
``torch.optim.LBFGS(line_search_fn="strong_wolfe")`` (torch 2.x, ``torch/optim/lbfgs.py``).

One ``lbfgs_step`` call is one torch ``optimizer.step(closure)``: up to ``max_iter``
inner L-BFGS iterations, each with a strong-Wolfe line search, and at most ``max_eval``
function evaluations in total (torch's default ``max_iter * 5 // 4``). The playground maps
ONE training step to ONE ``lbfgs_step`` call, so with the playground default
``max_iter=1`` one step is one L-BFGS iteration (direction + line search).

WARNING, kept from torch on purpose (faithfulness): with ``max_iter=1`` and
``max_eval=None`` the evaluation budget is ``1 * 5 // 4 == 1``, so the line search gets
``max_ls=0``: it evaluates its first trial point only and keeps it if the loss went down,
else returns ``t = 0``. After a ``t = 0`` the next call sees the same point, gradient and
memory, computes the same direction and trial step, and is stuck there for good (torch
does exactly this; e.g. Rosenbrock from (-1.5, 2) never moves). So the playground should
pass ``max_eval`` explicitly, e.g. ``max_eval=25`` (1 + torch's default ``max_ls``), which
gives one real strong-Wolfe line search per step.

Bit-exactness: torch's ``y.add_(x, alpha=a)`` is a fused multiply-add on CPUs with FMA,
``torch.dot`` (MKL) rounds each product, and ``number / tensor`` is computed as
``reciprocal(tensor) * number``; this port reproduces all three, so trajectories are
bit-identical to torch 2.13's x86 wheels for tiny problems (P <= 4 checked) and agree to
rounding level otherwise (sum and dot orders of longer vectors differ).

Like torch, the state carries ``d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad,
prev_loss, n_iter, func_evals`` from one call to the next; ``n_iter`` counts inner
iterations over all calls (``n_iter == 1`` is what resets the direction to ``-grad``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

# The line search of torch.optim.LBFGS always uses its own defaults for these: step()
# does not pass the optimizer's tolerance_change to _strong_wolfe.
_C1 = 1e-4
_C2 = 0.9
_LS_TOLERANCE_CHANGE = 1e-9
# torch's curvature threshold for accepting an (s, y) pair into the memory.
_YS_MIN = 1e-10

_SCALARS = ("t", "H_diag", "prev_loss")
_VECTORS = ("d", "prev_flat_grad")
_INTS = ("n_iter", "func_evals", "last_n_iter", "last_func_evals")


@dataclass
class LBFGSState:
    """Everything torch keeps in ``optimizer.state`` for LBFGS, as numpy arrays and scalars.

    Arrays are never modified in place (each update builds new ones), so a state object
    can be kept as a snapshot. ``None`` means "not set yet", as in torch.
    ``last_n_iter``/``last_func_evals`` are extra: what the latest ``lbfgs_step`` did.
    """

    old_dirs: np.ndarray  # (k, P) curvature pairs y (gradient differences), oldest first
    old_stps: np.ndarray  # (k, P) curvature pairs s (steps), oldest first
    ro: np.ndarray  # (k,) 1 / (y . s)
    d: np.ndarray | None = None
    t: float | None = None
    H_diag: float | None = None
    prev_flat_grad: np.ndarray | None = None
    prev_loss: float | None = None
    n_iter: int = 0
    func_evals: int = 0
    last_n_iter: int = 0
    last_func_evals: int = 0

    @classmethod
    def empty(cls, P: int) -> LBFGSState:
        """The state of a fresh torch optimizer for ``P`` parameters."""
        return cls(old_dirs=np.zeros((0, P)), old_stps=np.zeros((0, P)), ro=np.zeros(0))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every field as an ndarray (for np.savez); ``None`` becomes a (0,)-shaped array."""
        out: dict[str, np.ndarray] = {
            "old_dirs": np.array(self.old_dirs, dtype=np.float64),
            "old_stps": np.array(self.old_stps, dtype=np.float64),
            "ro": np.array(self.ro, dtype=np.float64),
        }
        for name in _VECTORS:
            value = getattr(self, name)
            out[name] = np.zeros(0) if value is None else np.array(value, dtype=np.float64)
        for name in _SCALARS:
            value = getattr(self, name)
            out[name] = np.zeros(0) if value is None else np.array(float(value), dtype=np.float64)
        for name in _INTS:
            out[name] = np.array(getattr(self, name), dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LBFGSState:
        """Inverse of ``to_arrays`` (bit-exact: float64 values are stored as they are)."""
        old_dirs = np.array(arrays["old_dirs"], dtype=np.float64)
        if old_dirs.ndim != 2:
            raise ValueError(f"old_dirs must be 2-D, got shape {old_dirs.shape}")
        kwargs: dict = {
            "old_dirs": old_dirs,
            "old_stps": np.array(arrays["old_stps"], dtype=np.float64).reshape(old_dirs.shape),
            "ro": np.array(arrays["ro"], dtype=np.float64).reshape(old_dirs.shape[0]),
        }
        for name in _VECTORS:
            value = np.asarray(arrays[name], dtype=np.float64)
            kwargs[name] = None if value.size == 0 else value.copy()
        for name in _SCALARS:
            value = np.asarray(arrays[name], dtype=np.float64)
            kwargs[name] = None if value.size == 0 else float(value)
        for name in _INTS:
            kwargs[name] = int(arrays[name]) if name in arrays else 0
        return cls(**kwargs)


def default_max_eval(max_iter: int) -> int:
    """torch's default evaluation budget per step() call (``max_iter * 5 // 4``)."""
    return max_iter * 5 // 4


_STEP_KEYS = ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size")


def lbfgs_kwargs(params: Mapping[str, object]) -> dict[str, object]:
    """The ``lbfgs_step`` keyword arguments found in an optimizer's resolved params."""
    return {k: params[k] for k in _STEP_KEYS if k in params}


# --------------------------------------------------------------------------- fused a*x + y
# Not engine/jit.py's JIT options on purpose: fastmath "reassoc"/"contract" would let LLVM
# reorder the dot product and fuse its products, and that operation order is what makes
# this port bit-identical to torch.
_NJIT = {"cache": True, "nogil": True}


@intrinsic
def _fma(typingctx, a, b, c):
    """llvm.fma: a * b + c with one rounding (hardware FMA, or libm's exact fallback)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        dbl = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl], ir.FunctionType(dbl, [dbl, dbl, dbl]))
        return builder.call(fn, args)

    return sig, codegen


@njit(**_NJIT)
def _axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y + alpha * x`` fused, as torch's ``y.add(x, alpha=alpha)`` computes it on CPUs with FMA."""
    out = np.empty_like(y)
    for i in range(y.size):
        out[i] = _fma(alpha, x[i], y[i])
    return out


@njit(**_NJIT)
def _dot_kernel(x: np.ndarray, y: np.ndarray) -> float:
    """Dot product as MKL's ddot (torch.dot in torch's x86 wheels) does it for P <= 8.

    Every product is rounded (no FMA) and summed into two running sums, even and odd
    indices, added at the end: bit-identical to torch for small P, where numpy's dot
    (which fuses) drifts by an ulp. For larger P the order is MKL's secret; any order is
    as accurate.
    """
    s0 = 0.0
    s1 = 0.0
    n2 = x.size - x.size % 2
    for i in range(0, n2, 2):
        s0 += x[i] * y[i]
        s1 += x[i + 1] * y[i + 1]
    if n2 < x.size:
        s0 += x[n2] * y[n2]
    return s0 + s1


def _dot(x: np.ndarray, y: np.ndarray) -> np.float64:
    """Dot product as a numpy scalar (torch's is a 0-d tensor, see _rdiv)."""
    return np.float64(_dot_kernel(x, y))


def _rdiv(num, den):
    """``num / den`` as torch evaluates it.

    Python numbers stand for Python numbers in torch's code and np.float64 for 0-d
    tensors (mixed arithmetic promotes to np.float64 as it promotes to a tensor).
    torch computes number / tensor as ``reciprocal(den) * num``, which can differ
    from a true division by an ulp; a zero divisor gives inf/nan, not an exception.
    """
    if isinstance(den, np.float64) and not isinstance(num, np.float64):
        return np.reciprocal(den) * num
    return np.float64(num) / den


# --------------------------------------------------------------------------- line search


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through two points with slopes, clamped to ``bounds`` (torch's)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - _rdiv(3 * (f1 - f2), x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(
    obj_func, x, t, d, f, g, gtd, c1=_C1, c2=_C2, tolerance_change=_LS_TOLERANCE_CHANGE, max_ls=25
):
    """torch's strong-Wolfe line search (bracketing, then zoom); returns (f, g, t, evals)."""
    d_norm = np.abs(d).max()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = _dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate by cubic interpolation, at least 1% further, at most 10x
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:  # budget exhausted while bracketing: keep the better of 0 and t
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom phase: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # a trial point too close to an end (twice in a row, or outside) moves 10% inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than the lowest point
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # old high becomes new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


# --------------------------------------------------------------------------- the step


def _evaluate(fun: Objective, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss (a Python float, as torch's float(closure())) and a private copy of the gradient."""
    loss, grad = fun(x)
    return float(loss), np.array(grad, dtype=np.float64).reshape(-1)


def _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag) -> np.ndarray:
    """The L-BFGS direction -H g by the two-loop recursion, in torch's operation order."""
    num_old = old_dirs.shape[0]
    al = np.empty(num_old)
    q = -flat_grad
    for i in range(num_old - 1, -1, -1):
        al[i] = _dot(old_stps[i], q) * ro[i]
        q = _axpy(-al[i], old_dirs[i], q)
    r = q * H_diag
    for i in range(num_old):
        be_i = _dot(old_dirs[i], r) * ro[i]
        r = _axpy(al[i] - be_i, old_stps[i], r)
    return r


def _check_args(theta: np.ndarray, max_iter: int, max_eval: int, history_size: int) -> None:
    if theta.dtype != np.float64 or theta.ndim != 1:
        raise ValueError("theta must be a 1-D float64 array (it is updated in place)")
    if max_iter < 1 or max_eval < 1 or history_size < 1:
        raise ValueError("max_iter, max_eval and history_size must be >= 1")


def lbfgs_step(
    theta: np.ndarray,
    fun: Objective,
    state: LBFGSState,
    lr: float = 1.0,
    max_iter: int = 20,
    max_eval: int | None = None,
    tolerance_grad: float = 1e-7,
    tolerance_change: float = 1e-9,
    history_size: int = 100,
) -> tuple[float, LBFGSState]:
    """One torch ``LBFGS.step(closure)``: updates ``theta`` in place, returns (loss at entry, new state).

    ``fun(x) -> (loss, grad)``; it is called with ``theta`` itself first, then with fresh
    trial vectors. The input ``state`` is not modified.
    """
    if max_eval is None:
        max_eval = default_max_eval(max_iter)
    _check_args(theta, max_iter, max_eval, history_size)
    # torch computes with tensors: IEEE inf/nan, no exceptions and no warnings
    with np.errstate(all="ignore"):
        return _step(
            theta, fun, state, float(lr), max_iter, max_eval, tolerance_grad, tolerance_change, history_size
        )


def _step(theta, fun, state, lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size):
    """The body of torch's LBFGS.step, same names, same order of operations."""
    total_iter = state.n_iter
    func_evals = state.func_evals + 1
    orig_loss, flat_grad = _evaluate(fun, theta)
    loss = orig_loss
    current_evals = 1

    if np.abs(flat_grad).max() <= tolerance_grad:
        return float(orig_loss), replace(state, func_evals=func_evals, last_n_iter=0, last_func_evals=1)

    d, t, H_diag = state.d, state.t, state.H_diag
    old_dirs, old_stps, ro = state.old_dirs, state.old_stps, state.ro
    prev_flat_grad, prev_loss = state.prev_flat_grad, state.prev_loss

    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        total_iter += 1

        # ---- direction
        if total_iter == 1:
            d = -flat_grad
            P = flat_grad.size
            old_dirs, old_stps, ro = np.zeros((0, P)), np.zeros((0, P)), np.zeros(0)
            H_diag = 1
        else:
            y = flat_grad - prev_flat_grad
            s = d * t
            ys = _dot(y, s)
            if ys > _YS_MIN:
                keep = 1 if old_dirs.shape[0] == history_size else 0  # drop the oldest pair
                old_dirs = np.concatenate([old_dirs[keep:], y[None, :]])
                old_stps = np.concatenate([old_stps[keep:], s[None, :]])
                ro = np.concatenate([ro[keep:], [1.0 / ys]])
                H_diag = ys / _dot(y, y)
            d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag)

        prev_flat_grad = flat_grad
        prev_loss = loss

        # ---- step length: the very first iteration is scaled down by the gradient's L1 norm
        if total_iter == 1:
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
        else:
            t = lr

        gtd = _dot(flat_grad, d)
        if gtd > -tolerance_change:
            break

        x_init = theta.copy()

        def obj_func(x, step, direction):
            return _evaluate(fun, _axpy(float(step), direction, x))

        loss, flat_grad, t, ls_func_evals = _strong_wolfe(
            obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
        )
        theta[:] = _axpy(float(t), d, theta)
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad

        current_evals += ls_func_evals
        func_evals += ls_func_evals

        # ---- stopping conditions
        if n_iter == max_iter or current_evals >= max_eval or opt_cond:
            break
        if np.abs(d * t).max() <= tolerance_change:
            break
        if abs(loss - prev_loss) < tolerance_change:
            break

    new_state = LBFGSState(
        old_dirs=old_dirs,
        old_stps=old_stps,
        ro=ro,
        d=d,
        t=None if t is None else float(t),
        H_diag=None if H_diag is None else float(H_diag),
        prev_flat_grad=prev_flat_grad,
        prev_loss=None if prev_loss is None else float(prev_loss),
        n_iter=total_iter,
        func_evals=func_evals,
        last_n_iter=n_iter,
        last_func_evals=current_evals,
    )
    return float(orig_loss), new_state
