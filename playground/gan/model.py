"""GanTrainer: the checked wrapper around the GAN kernels, and the Python API of GAN mode.

It owns both networks' flat parameter vectors, both optimizer states, the step counters
and the buffers; ``run(n)`` trains n iterations (``training.d_steps`` discriminator steps,
then one generator step) in one kernel call, ``d_step()`` / ``g_step()`` take one step of
one network and say what moved. What the views draw are plain functions of the current
state: ``samples``, ``discriminator_grid``, ``generator_arrows``, ``noise_grid`` and
``fit`` (``metrics.py``). No Qt, no globals: several trainers can live side by side.

``backend="numpy"`` runs the twin (``reference.py``) on the same state: the same draws and
updates to ~1e-15, for tests and for the seconds before the kernels are compiled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from playground.engine import codes as C
from playground.engine.activations import ACTIVATIONS
from playground.engine.blocks import Layer, Plan
from playground.engine.blocks.registry import P_ACT
from playground.engine.rng import derive_key
from playground.engine.trainer import OPT_CODES, STATUS_TEXT
from playground.gan import kernels as K
from playground.gan import reference as R
from playground.gan.data import RealData, build_real_data, sample_real_np
from playground.gan.spec import LOSSES, NOISE_DISTRIBUTIONS, GanNetSpec, GanSpec

D_TAG = 0x47414E44  # "GAND"
G_TAG = 0x47414E47  # "GANG"
EVAL_SAMPLES = 2000
EVAL_SEED = 2  # the fixed noise the views and the fit measure use (BENCHMARKS.md W6: seed + 2)
CHUNK = 512
MAX_RECORD_ROWS = 50_000


def hp_vector(net: GanNetSpec) -> np.ndarray:
    """The kernels' hyper-parameter vector of one network's optimizer (torch.optim's)."""
    r = net.optimizer.resolved()
    hp = np.zeros(C.N_HP)
    hp[C.HP_MOMENTUM] = r.get("momentum", 0.0)
    hp[C.HP_DAMPENING] = r.get("dampening", 0.0)
    hp[C.HP_NESTEROV] = float(r.get("nesterov", False))
    hp[C.HP_WD] = r.get("weight_decay", 0.0)
    hp[C.HP_BETA1], hp[C.HP_BETA2] = r.get("betas", (0.9, 0.999))
    hp[C.HP_EPS] = r.get("eps", 1e-8)
    hp[C.HP_ALPHA] = r.get("alpha", 0.99)
    hp[C.HP_CENTERED] = float(r.get("centered", False))
    hp[C.HP_LR_DECAY] = r.get("lr_decay", 0.0)
    hp[C.HP_AMSGRAD] = float(r.get("amsgrad", False))
    return hp


def net_plan(net: GanNetSpec, n_in: int, n_out: int) -> Plan:
    layers, fin = [], n_in
    for h in net.hidden:
        layers.append(Layer("dense", fin, h.units, ACTIVATIONS[h.activation].code, h.negative_slope))
        fin = h.units
    layers.append(Layer("dense", fin, n_out, ACTIVATIONS[net.output_activation].code))
    return Plan(layers)


@dataclass
class NetView:
    """[(W, b)] views of a flat vector with each layer's activation code (the twin's input)."""

    params: list
    codes: list
    slopes: list


@dataclass
class RunReport:
    iterations: int
    status: int
    records: np.ndarray  # (iterations, kernels.REC_WIDTH)

    @property
    def ok(self) -> bool:
        return self.status == C.OK

    @property
    def message(self) -> str:
        return STATUS_TEXT.get(self.status, "")


@dataclass
class StepResult:
    """What one step of one network moved (``GanTrainer.d_step`` / ``g_step``)."""

    net: str  # "discriminator" | "generator"
    status: int
    loss: float
    param_change: float  # |theta after - theta before|
    points_before: np.ndarray | None = None  # generator: the evaluation samples before / after
    points_after: np.ndarray | None = None
    grid_change: float | None = None  # discriminator: max |change| of its output on the view grid
    extra: dict = field(default_factory=dict)


class GanTrainer:
    def __init__(self, spec: GanSpec, backend: str = "numba", real: RealData | None = None):
        if backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', not {backend!r}")
        self.spec = spec
        self.backend = backend
        self.dtype = np.dtype(spec.training.dtype)
        self.real = real if real is not None else build_real_data(spec.data)
        self.noise_dim = spec.noise.dim
        self.noise_code = NOISE_DISTRIBUTIONS.index(spec.noise.distribution)
        self.loss_code = LOSSES.index(spec.training.loss)
        self.gplan = net_plan(spec.generator, self.noise_dim, 2)
        self.dplan = net_plan(spec.discriminator, 2, 1)
        rng = np.random.default_rng(spec.seed)
        g, d = spec.generator, spec.discriminator
        self.theta_g = self.gplan.initial_theta(g.init, g.bias_init, rng, self.dtype)
        self.theta_d = self.dplan.initial_theta(d.init, d.bias_init, rng, self.dtype)
        self.state_g = self._fresh_state(g, self.gplan.n_params)
        self.state_d = self._fresh_state(d, self.dplan.n_params)
        self.counters = np.zeros(4, dtype=np.int64)
        self.keys = (np.uint64(derive_key(spec.seed, D_TAG)), np.uint64(derive_key(spec.seed, G_TAG)))
        self.records = np.zeros((0, K.REC_WIDTH))
        self.record_stride = 1
        self._pending = 0  # iterations since the last kept record row (stride > 1)
        self._alloc()

    def _fresh_state(self, net: GanNetSpec, n: int) -> np.ndarray:
        state = np.zeros((3, n), dtype=self.dtype)
        if net.optimizer.name == "adagrad":
            state[0] = net.optimizer.resolved()["initial_accumulator_value"]
        return state

    # -- layout ---------------------------------------------------------------------------
    def _alloc(self) -> None:
        bd, bg = self.spec.discriminator.batch_size, self.spec.generator.batch_size
        dt = self.dtype
        g_rows = max(bd, bg, CHUNK)
        d_rows = max(2 * bd, bg, CHUNK)
        self._gstarts = np.r_[0, np.cumsum(self.gplan.units)].astype(np.int64)
        self._dstarts = np.r_[0, np.cumsum(self.dplan.units)].astype(np.int64)
        gw, dw = self.gplan.width(), self.dplan.width()
        gmax, dmax = self.gplan.max_units(), self.dplan.max_units()
        self.gbufs = tuple(np.zeros(g_rows * gw, dt) for _ in range(3)) + (np.zeros(g_rows * gmax, dt),)
        self.dbufs = tuple(np.zeros(d_rows * dw, dt) for _ in range(3)) + (np.zeros(d_rows * dmax, dt),)
        self.gp_bufs = tuple(np.zeros(bd * dw, dt) for _ in range(6)) + (np.zeros(bd, dt),)
        self._ggrad = np.zeros(self.gplan.n_params, dt)
        self._dgrad = np.zeros(self.dplan.n_params, dt)
        self._gspare = (np.zeros_like(self.theta_g), np.zeros_like(self.state_g))
        self._dspare = (np.zeros_like(self.theta_d), np.zeros_like(self.state_d))
        self._real = (np.ascontiguousarray(self.real.base, dtype=dt), float(self.real.jitter))
        self._hp = (hp_vector(self.spec.generator), hp_vector(self.spec.discriminator))

    def _net(self, which: str) -> tuple:
        if which == "generator":
            p, th, gr, sp, st, hp = (
                self.gplan,
                self.theta_g,
                self._ggrad,
                self._gspare,
                self.state_g,
                self._hp[0],
            )
            starts = self._gstarts
        else:
            p, th, gr, sp, st, hp = (
                self.dplan,
                self.theta_d,
                self._dgrad,
                self._dspare,
                self.state_d,
                self._hp[1],
            )
            starts = self._dstarts
        return (p.ints, p.floats[:, 0].copy(), starts, th, gr, sp[0], st, sp[1], hp)

    def _cfg(self) -> tuple:
        s = self.spec
        return (
            self.loss_code,
            self.noise_dim,
            self.noise_code,
            s.discriminator.batch_size,
            s.generator.batch_size,
            OPT_CODES[s.discriminator.optimizer.name],
            OPT_CODES[s.generator.optimizer.name],
            float(s.discriminator.optimizer.lr),
            float(s.generator.optimizer.lr),
            float(s.training.gp_weight),
            float(s.training.clip_value),
        )

    def opt_args(self, which: str) -> tuple[int, float, np.ndarray]:
        net = self.spec.generator if which == "generator" else self.spec.discriminator
        return (
            OPT_CODES[net.optimizer.name],
            float(net.optimizer.lr),
            self._hp[0 if which == "generator" else 1],
        )

    def net_views(self, which: str, theta: np.ndarray | None = None) -> NetView:
        plan = self.gplan if which == "generator" else self.dplan
        th = (self.theta_g if which == "generator" else self.theta_d) if theta is None else theta
        params = []
        for arrays in plan.arrays:
            (_, wshape, woff), (_, bshape, boff) = arrays
            params.append(
                (th[woff : woff + wshape[0] * wshape[1]].reshape(wshape), th[boff : boff + bshape[0]])
            )
        return NetView(params, [int(c) for c in plan.ints[:, P_ACT]], list(plan.floats[:, 0]))

    # -- counters -------------------------------------------------------------------------
    @property
    def d_steps(self) -> int:
        return int(self.counters[K.C_D])

    @property
    def g_steps(self) -> int:
        return int(self.counters[K.C_G])

    @property
    def iteration(self) -> int:
        """Generator steps taken: one per iteration."""
        return self.g_steps

    # -- training -------------------------------------------------------------------------
    def run(self, n_iters: int) -> RunReport:
        """n iterations (d_steps D steps + one G step each); stops at a divergence keeping the
        last finite parameters and optimizer states."""
        n_iters = int(n_iters)
        rec = np.zeros((max(n_iters, 0), K.REC_WIDTH))
        if n_iters <= 0:
            return RunReport(0, C.OK, rec)
        if self.backend == "numpy":
            status, done = R.train_iterations(self, n_iters, rec)
        else:
            status, done = K.train_iterations(
                self._net("generator"),
                self._net("discriminator"),
                self.gbufs,
                self.dbufs,
                self.gp_bufs,
                self._real,
                self._cfg(),
                self.keys,
                self.counters,
                rec,
                n_iters,
                self.spec.training.d_steps,
            )
        rec = rec[:done]
        self._keep_records(rec)
        return RunReport(int(done), int(status), rec)

    def _keep_records(self, rec: np.ndarray) -> None:
        """Append iteration rows, keeping one in ``record_stride`` (doubled when full) so
        memory stays bounded and the rows kept do not depend on chunking."""
        if len(rec) == 0:
            return
        first = self.iteration - len(rec)
        idx = np.arange(first, self.iteration)
        keep = rec[idx % self.record_stride == 0]
        self.records = np.concatenate([self.records, keep]) if len(self.records) else keep.copy()
        while len(self.records) > MAX_RECORD_ROWS:
            self.records = self.records[::2].copy()
            self.record_stride *= 2

    def record_iterations(self) -> np.ndarray:
        """The iteration (1-based count) each kept record row belongs to."""
        return np.arange(len(self.records)) * self.record_stride + 1

    def d_step(self) -> StepResult:
        """One discriminator step; what moved: its parameters and its output on the view grid."""
        before = self.theta_d.copy()
        grid0 = self.discriminator_grid(40)[2]
        out = np.zeros(4)
        status = self._one("d", out)
        grid1 = self.discriminator_grid(40)[2]
        change = float(np.linalg.norm(self.theta_d.astype(np.float64) - before))
        return StepResult(
            "discriminator",
            status,
            float(out[0]),
            change,
            grid_change=float(np.abs(grid1 - grid0).max()),
            extra={"mean_real": float(out[1]), "mean_fake": float(out[2]), "penalty": float(out[3])},
        )

    def g_step(self) -> StepResult:
        """One generator step; what moved: its parameters and the evaluation samples."""
        before = self.theta_g.copy()
        p0 = self.samples()
        out = np.zeros(2)
        status = self._one("g", out)
        change = float(np.linalg.norm(self.theta_g.astype(np.float64) - before))
        return StepResult(
            "generator", status, float(out[0]), change, points_before=p0, points_after=self.samples()
        )

    def _one(self, which: str, out: np.ndarray) -> int:
        if self.backend == "numpy":
            return R.d_step(self, out) if which == "d" else R.g_step(self, out)
        g, d = self._net("generator"), self._net("discriminator")
        if which == "d":
            return int(
                K.d_step(
                    g,
                    d,
                    self.gbufs,
                    self.dbufs,
                    self.gp_bufs,
                    self._real,
                    self._cfg(),
                    self.keys,
                    self.counters,
                    out,
                )
            )
        return int(K.g_step(g, d, self.gbufs, self.dbufs, self._cfg(), self.keys, self.counters, out))

    # -- what the views draw --------------------------------------------------------------
    def eval_noise(self, n: int = EVAL_SAMPLES) -> np.ndarray:
        rng = np.random.default_rng(EVAL_SEED)
        if self.noise_code == K.NOISE_UNIFORM:
            return rng.uniform(-1.0, 1.0, (n, self.noise_dim))
        return rng.standard_normal((n, self.noise_dim))

    def generate(self, noise: np.ndarray) -> np.ndarray:
        """G(noise) for rows of noise (n, noise dim)."""
        return self._predict("generator", np.asarray(noise, dtype=np.float64), 2)

    def samples(self, n: int = EVAL_SAMPLES) -> np.ndarray:
        """n generated points from the fixed evaluation noise (the same points every call)."""
        return self.generate(self.eval_noise(n))

    def real_samples(self, n: int = EVAL_SAMPLES, seed: int = EVAL_SEED) -> np.ndarray:
        return sample_real_np(self.real, n, seed)

    def discriminate(self, points: np.ndarray) -> np.ndarray:
        """D's logit (the critic's score) at points (n, 2)."""
        return self._predict("discriminator", np.asarray(points, dtype=np.float64), 1)[:, 0]

    def _predict(self, which: str, X: np.ndarray, n_out: int) -> np.ndarray:
        if self.backend == "numpy":
            net = self.net_views(which)
            return np.asarray(R.forward(net, X)[1][-1], dtype=np.float64)
        plan = self.gplan if which == "generator" else self.dplan
        theta = self.theta_g if which == "generator" else self.theta_d
        starts = self._gstarts if which == "generator" else self._dstarts
        out = np.zeros((len(X), n_out), dtype=self.dtype)
        w = plan.width() * CHUNK
        z, a = np.zeros(w, self.dtype), np.zeros(w, self.dtype)
        K.predict(plan.ints, plan.floats[:, 0].copy(), theta, starts, X.astype(self.dtype), out, z, a, CHUNK)
        return out.astype(np.float64)

    def view_extent(self, margin: float = 0.25) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): a square around the real data with a margin."""
        pts = self.real.base
        j = 3 * self.real.jitter
        lo, hi = pts.min(0) - j, pts.max(0) + j
        c, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.5) * (1 + margin)
        return float(c[0] - half), float(c[0] + half), float(c[1] - half), float(c[1] + half)

    def discriminator_grid(self, n: int = 100, extent=None):
        """(xs, ys, values (n, n)) of D over the plane: the probability "real" (sigmoid of
        the logit), or the critic's raw score for Wasserstein losses. values[i, j] is at
        (xs[j], ys[i])."""
        x0, x1, y0, y1 = extent or self.view_extent()
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        xx, yy = np.meshgrid(xs, ys)
        s = self.discriminate(np.c_[xx.ravel(), yy.ravel()]).reshape(n, n)
        if self.spec.training.loss not in ("wgan_gp", "wgan_clip"):
            s = R.sigmoid(s)
        return xs, ys, s

    def generator_arrows(self, points: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(points, directions): where the generator's loss pushes each generated point
        (-d loss / d x of one sample, through the current D)."""
        pts = self.samples(300) if points is None else np.asarray(points, dtype=np.float64)
        if self.backend == "numpy":
            D = self.net_views("discriminator")
            zs, hs = R.forward(D, pts)
            _, ds = R.g_loss(self.loss_code, hs[-1][:, 0])
            _, dx = R.backward(D, zs, hs, (ds * len(pts))[:, None])
            return pts, -dx
        p = self.dplan
        w = p.width() * CHUNK
        out = np.zeros((len(pts), 2), self.dtype)
        bufs = [np.zeros(w, self.dtype) for _ in range(3)]
        dx = np.zeros(2 * CHUNK, self.dtype)
        K.g_loss_input_grad(
            p.ints, p.floats[:, 0].copy(), self.theta_d, self._dstarts, self.loss_code,
            pts.astype(self.dtype), out, bufs[0], bufs[1], bufs[2], dx, self._dgrad.copy(), CHUNK,
        )  # fmt: skip
        return pts, -out.astype(np.float64)

    def noise_grid(self, n: int = 21, span: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(noise (n, n, dim), mapped (n, n, 2)): a grid over the first two noise values (the
        others 0), through G: the warped grid lines show how G folds the noise space."""
        if span is None:
            span = 1.0 if self.noise_code == K.NOISE_UNIFORM else 2.5
        v = np.linspace(-span, span, n)
        noise = np.zeros((n, n, self.noise_dim))
        noise[:, :, 0] = v[None, :]
        if self.noise_dim > 1:
            noise[:, :, 1] = v[:, None]
        mapped = self.generate(noise.reshape(-1, self.noise_dim)).reshape(n, n, 2)
        return noise, mapped

    def fit(self, n: int = EVAL_SAMPLES) -> dict:
        """The fit measures of ``metrics.fit_report`` for the current generator."""
        from playground.gan.metrics import fit_report

        return fit_report(self.real, self.samples(n), self.real_samples(n))

    # -- settings -------------------------------------------------------------------------
    def update_spec(self, spec: GanSpec) -> None:
        """Apply training settings live (loss, learning rates, batch sizes, d_steps...). A
        network's optimizer state is reset when its optimizer changes (as building a new
        torch optimizer would); a change of architecture, noise, data or dtype needs a new
        trainer."""
        old = self.spec
        fixed = ("noise", "data", "seed")
        for f in fixed:
            if getattr(old, f) != getattr(spec, f):
                raise ValueError(f"changing {f} needs a new trainer")
        for which in ("generator", "discriminator"):
            o, n = getattr(old, which), getattr(spec, which)
            if (o.hidden, o.output_activation, o.init, o.bias_init) != (
                n.hidden,
                n.output_activation,
                n.init,
                n.bias_init,
            ):
                raise ValueError(f"changing the {which}'s layers needs a new trainer")
        if old.training.dtype != spec.training.dtype:
            raise ValueError("changing the precision needs a new trainer")
        self.spec = spec
        self.loss_code = LOSSES.index(spec.training.loss)
        if old.generator.optimizer.name != spec.generator.optimizer.name:
            self.state_g[...] = self._fresh_state(spec.generator, self.gplan.n_params)
            self.counters[K.C_TG] = 0
        if old.discriminator.optimizer.name != spec.discriminator.optimizer.name:
            self.state_d[...] = self._fresh_state(spec.discriminator, self.dplan.n_params)
            self.counters[K.C_TD] = 0
        self._alloc()

    def with_spec(self, **changes) -> GanSpec:
        return replace(self.spec, **changes)
