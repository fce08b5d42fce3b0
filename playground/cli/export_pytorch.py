"""`playground export FILE --pytorch model.py`: a session (or a spec, trained from scratch
with zero steps) as a PyTorch script with its weights and data beside it
(:mod:`playground.export.pytorch`, docs/EXPORT.md).

Returns an exit code like the other session commands: 0 on success, 2 after one clear line
on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playground.errors import PlaygroundError


def load_experiment(path: str | Path):
    """A ``.playground`` session as it was saved, or a spec file's experiment at step 0."""
    from playground.session import is_race_file, load

    p = Path(path)
    if p.suffix.lower() == ".json":
        from playground.experiment import Experiment

        return Experiment.from_spec(p)
    if is_race_file(p):
        print(f"{p.name}: a race file; exporting its first member", file=sys.stderr)
    return load(p)


def cmd_export_pytorch(path: str | Path, script: str | Path, quiet: bool = False) -> int:
    """Export the experiment in ``path`` to ``script`` (and ``<stem>.npz``, ``<stem>_data.npz``)."""
    from playground.cli.session import _fail, _failed
    from playground.export import export_pytorch

    if Path(script).suffix.lower() != ".py":
        return _fail(f"{script}: the PyTorch script must end in .py")
    try:
        exp = load_experiment(path)
        written = export_pytorch(exp, script)
    except (PlaygroundError, OSError, MemoryError) as e:
        return _failed(e, path)
    if not quiet:
        names = ", ".join(p.name for p in written[1:])
        print(f"wrote {written[0]} (with {names}); run it with: python {written[0]} --steps 1000")
    return 0
