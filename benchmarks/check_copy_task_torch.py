"""Does the copy task separate an LSTM from a plain RNN? (PyTorch, for our own check only.)

The data come from playground's own generator (``data.kind 'sequence', name 'copy'``); the
networks are torch.nn.LSTM / RNN(tanh) of the same size -> last step -> Linear -> softmax
cross-entropy, Adam. Prints test accuracy every few hundred steps.
Run: .venv/bin/python benchmarks/check_copy_task_torch.py LAG --save  (writes the data), then
     ~/torch-venv/bin/python benchmarks/check_copy_task_torch.py LAG STEPS
"""

import sys
import time

import numpy as np

lag = int(sys.argv[1]) if len(sys.argv) > 1 else 20
npz = f"/tmp/copy_lag{lag}.npz"
if sys.argv[2:3] == ["--save"]:
    sys.path.insert(0, ".")
    from playground.data.build import build_dataset
    from playground.spec import DataSpec

    d = DataSpec(kind="sequence", name="copy", length=lag + 2, lag=lag, n_samples=2000, train_fraction=0.8)
    ds = build_dataset(d, 0)
    np.savez(npz, X=ds.X_train, y=ds.y_train, Xt=ds.X_test, yt=ds.y_test, k=ds.n_classes)
    sys.exit(0)

import torch  # noqa: E402

steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
torch.set_num_threads(1)
z = np.load(npz)
X, y = torch.tensor(z["X"], dtype=torch.float32), torch.tensor(z["y"])
Xt, yt = torch.tensor(z["Xt"], dtype=torch.float32), torch.tensor(z["yt"])
n_classes = int(z["k"])
for kind in ("lstm", "rnn"):
    torch.manual_seed(0)
    rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.RNN)(X.shape[2], 32, batch_first=True)
    head = torch.nn.Linear(32, n_classes)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-2)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for s in range(1, steps + 1):
        idx = torch.randint(0, len(X), (32,), generator=g)
        out, _ = rnn(X[idx])
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s % 250 == 0 or s == steps:
            with torch.no_grad():
                acc = (head(rnn(Xt)[0][:, -1]).argmax(1) == yt).float().mean().item()
            print(
                f"{kind} lag {lag} step {s}: test acc {acc:.3f} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
