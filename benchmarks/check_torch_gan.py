"""Check the GAN kernels' gradients (one D step, one G step) against PyTorch's autograd.

A script, not a test: the product and its suite never need torch. Two steps, because torch
lives in its own venv without numba:

    .venv/bin/python benchmarks/check_torch_gan.py dump /tmp/torch_gan.npz
    ~/torch-venv/bin/python benchmarks/check_torch_gan.py check /tmp/torch_gan.npz

``dump`` trains each case (every loss; relu, tanh, leaky relu, gelu, elu; the gradient
penalty's double backpropagation on curved and piecewise-linear activations) a few
iterations in float64, then runs one D step and one G step in the numba kernels and stores
the parameters before each step, that step's inputs (real batch, noise, penalty mixing
weights: the counter-based RNG's draws) and the kernels' gradients, losses and (for a
fresh optimizer) updated parameters. ``check`` rebuilds both networks as nn.Sequential,
computes the same losses with torch.nn.functional / torch.autograd.grad(create_graph=True)
and prints the largest differences; they must be below 1e-10.
"""

from __future__ import annotations

import json
import sys

import numpy as np

# (loss, hidden activation, G output activation, optimizer, noise dim, warm iterations)
CASES = [
    ("non_saturating", "relu", "linear", "adam", 2, 5),
    ("minimax", "tanh", "tanh", "adam", 3, 5),
    ("least_squares", "leaky_relu", "linear", "rmsprop", 2, 5),
    ("wgan_gp", "tanh", "linear", "adam", 2, 5),
    ("wgan_gp", "relu", "linear", "adam", 4, 5),
    ("wgan_gp", "gelu", "linear", "momentum", 2, 0),
    ("wgan_gp", "elu", "tanh", "sgd", 2, 0),
    ("wgan_clip", "relu", "linear", "rmsprop", 2, 3),
    ("wgan_gp", "leaky_relu", "linear", "adam", 8, 5),  # the default settings' kind
]


def _spec(loss, act, g_out, opt, dim):
    from playground.gan.spec import GanSpec

    hidden = [{"units": 16, "activation": act}, {"units": 12, "activation": act}]
    net = {"hidden": hidden, "optimizer": {"name": opt, "lr": 0.003}, "batch_size": 64}
    return GanSpec.from_dict(
        {
            "seed": 11,
            "noise": {"dim": dim},
            "generator": {**net, "output_activation": g_out},
            "discriminator": {**net, "batch_size": 48},
            "training": {"loss": loss, "dtype": "float64", "gp_weight": 10.0},
        }
    )


def dump(path: str) -> None:
    from playground.gan import kernels as K
    from playground.gan import reference as R
    from playground.gan.model import GanTrainer

    out, meta = {}, []
    for i, (loss, act, g_out, opt, dim, warm) in enumerate(CASES):
        spec = _spec(loss, act, g_out, opt, dim)
        tr = GanTrainer(spec)
        tr.run(warm)
        key, step, bd = tr.keys[0], int(tr.counters[K.C_D]), spec.discriminator.batch_size
        p = f"c{i}_"
        out[p + "theta_g"] = tr.theta_g.copy()
        out[p + "theta_d"] = tr.theta_d.copy()
        out[p + "xr"] = R.real_np(key, step, tr.real.base, tr.real.jitter, bd)
        out[p + "zd"] = R.noise_np(key, step, dim, tr.noise_code, bd)
        out[p + "eps"] = R.dropout_uniform_np(key, step, R.R_EPS, bd, 1)
        dout = np.zeros(4)
        K.d_step(tr._net("generator"), tr._net("discriminator"), tr.gbufs, tr.dbufs, tr.gp_bufs, tr._real,
                 tr._cfg(), tr.keys, tr.counters, dout)  # fmt: skip
        out[p + "grad_d"] = tr._dgrad.copy()
        out[p + "theta_d_after"] = tr.theta_d.copy()
        out[p + "zg"] = R.noise_np(
            tr.keys[1], int(tr.counters[K.C_G]), dim, tr.noise_code, spec.generator.batch_size
        )
        gout = np.zeros(2)
        K.g_step(tr._net("generator"), tr._net("discriminator"), tr.gbufs, tr.dbufs, tr._cfg(), tr.keys,
                 tr.counters, gout)  # fmt: skip
        out[p + "grad_g"] = tr._ggrad.copy()
        out[p + "theta_g_after"] = tr.theta_g.copy()
        meta.append(
            {
                "loss": loss, "act": act, "g_out": g_out, "opt": opt, "dim": dim, "warm": warm,
                "d_loss": float(dout[0]), "g_loss": float(gout[0]), "gp": 10.0,
                "g_sizes": [int(v) for v in tr.gplan.units], "d_sizes": [int(v) for v in tr.dplan.units],
                "lr": 0.003, "opt_resolved": spec.discriminator.optimizer.resolved(),
            }
        )  # fmt: skip
    out["meta"] = np.array(json.dumps(meta))
    np.savez(path, **out)
    print(f"wrote {len(CASES)} cases to {path}")


def check(path: str) -> int:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_default_dtype(torch.float64)
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.01), "gelu": nn.GELU,
            "elu": nn.ELU, "linear": nn.Identity}  # fmt: skip

    def build(sizes, act, out_act, flat):
        mods, off = [], 0
        for li, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            lin = nn.Linear(fi, fo)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(flat[off : off + fi * fo].reshape(fi, fo).T.copy()))
                lin.bias.copy_(torch.from_numpy(flat[off + fi * fo : off + fi * fo + fo].copy()))
            off += fi * fo + fo
            mods += [lin, acts[act if li < len(sizes) - 2 else out_act]()]
        return nn.Sequential(*mods)

    def flat_grad(net):
        return np.concatenate(
            [
                np.r_[m.weight.grad.numpy().T.ravel(), m.bias.grad.numpy()]
                for m in net
                if isinstance(m, nn.Linear)
            ]
        )

    def flat_params(net):
        return np.concatenate(
            [
                np.r_[m.weight.detach().numpy().T.ravel(), m.bias.detach().numpy()]
                for m in net
                if isinstance(m, nn.Linear)
            ]
        )

    def optimizer(m, params):
        r = m["opt_resolved"]
        if m["opt"] == "adam":
            return torch.optim.Adam(params, lr=m["lr"], betas=tuple(r["betas"]), eps=r["eps"])
        if m["opt"] == "rmsprop":
            return torch.optim.RMSprop(params, lr=m["lr"], alpha=r["alpha"], eps=r["eps"])
        return torch.optim.SGD(params, lr=m["lr"], momentum=r["momentum"])

    worst = 0.0
    for i, m in enumerate(meta):
        p = f"c{i}_"
        t = lambda k, p=p: torch.from_numpy(data[p + k])  # noqa: E731
        G = build(m["g_sizes"], m["act"], m["g_out"], data[p + "theta_g"])
        D = build(m["d_sizes"], m["act"], "linear", data[p + "theta_d"])
        xr, xf = t("xr"), G(t("zd")).detach()
        sr, sf = D(xr), D(xf)
        loss = m["loss"]
        if loss in ("wgan_gp", "wgan_clip"):
            ld = sf.mean() - sr.mean()
        elif loss == "least_squares":
            ld = F.mse_loss(sr, torch.ones_like(sr)) + F.mse_loss(sf, torch.zeros_like(sf))
        else:
            ld = F.binary_cross_entropy_with_logits(
                sr, torch.ones_like(sr)
            ) + F.binary_cross_entropy_with_logits(sf, torch.zeros_like(sf))
        if loss == "wgan_gp":
            e = t("eps")
            xh = (e * xr + (1 - e) * xf).requires_grad_(True)
            (g,) = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
            ld = ld + m["gp"] * ((g.norm(2, dim=1) - 1) ** 2).mean()
        ld.backward()
        dg = np.abs(flat_grad(D) - data[p + "grad_d"]).max()
        dl = abs(float(ld.detach()) - m["d_loss"])
        du = float("nan")
        if m["warm"] == 0:  # a fresh optimizer: torch.optim's first update too
            opt = optimizer(m, D.parameters())
            opt.step()
            du = np.abs(flat_params(D) - data[p + "theta_d_after"]).max()
        # G step through the updated D
        D2 = build(m["d_sizes"], m["act"], "linear", data[p + "theta_d_after"])
        s = D2(G(t("zg")))
        if loss in ("wgan_gp", "wgan_clip"):
            lg = -s.mean()
        elif loss == "least_squares":
            lg = F.mse_loss(s, torch.ones_like(s))
        elif loss == "minimax":
            lg = -F.binary_cross_entropy_with_logits(s, torch.zeros_like(s))
        else:
            lg = F.binary_cross_entropy_with_logits(s, torch.ones_like(s))
        G.zero_grad()
        lg.backward()
        gg = np.abs(flat_grad(G) - data[p + "grad_g"]).max()
        gl = abs(float(lg.detach()) - m["g_loss"])
        worst = max(worst, dg, gg, dl, gl, 0.0 if np.isnan(du) else du)
        print(
            f"{loss:<15} {m['act']:<10} {m['opt']:<8} D grad {dg:.2e}  D loss {dl:.2e}  "
            f"D update {du:.2e}  G grad {gg:.2e}  G loss {gl:.2e}"
        )
    print(f"largest difference {worst:.3e} ({'OK' if worst < 1e-10 else 'FAIL'}; torch {torch.__version__})")
    return 0 if worst < 1e-10 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "dump":
        sys.path.insert(0, ".")
        dump(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
