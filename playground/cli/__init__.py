"""The `playground` command. No arguments: open the app. Subcommands run headless.

    playground train SPEC.json|SESSION.playground [--steps N | --epochs N] [--json] [--out OUT.playground]
    playground info FILE [--json]
    playground export FILE [--history history.csv] [--weights weights.npz|json] [--pytorch model.py]
    playground report FILE --out DIR [--no-figures]
    playground bench [--quick] [--json]
    playground sweep SPEC.json --grid training.optimizer.lr=0.001,0.01 [--seeds 3] --out results.csv

Bad specs and data give one clear error line and exit code 2.

This module parses the arguments and turns errors into that line; each command lives in its
own module: :mod:`~playground.cli.train`, :mod:`~playground.cli.session` (info, export,
resume), :mod:`~playground.cli.sweep`, :mod:`~playground.cli.engine` (bench, warmup).
"""

from __future__ import annotations

import argparse
import os
import sys

from playground.cli.engine import cmd_bench, cmd_warmup
from playground.cli.gan import add_gan_parser
from playground.cli.report import add_report_parser
from playground.cli.sweep import cmd_sweep
from playground.cli.train import cmd_train
from playground.errors import PlaygroundError

EXIT_USAGE = 2
TRACEBACK_ENV = "PLAYGROUND_TRACEBACK"  # set to 1 to see the traceback of an unexpected error


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage block), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def cmd_info(args) -> int:
    from playground.cli.session import cmd_info as info

    return info(args.file, args.json)


def cmd_export(args) -> int:
    from playground.cli.session import cmd_export as export

    if args.pytorch is not None:
        from playground.cli.export_pytorch import cmd_export_pytorch

        code = cmd_export_pytorch(args.file, args.pytorch)
        if code or (args.history is None and args.weights is None):
            return code
    return export(args.file, history_csv=args.history, weights=args.weights)


def build_parser() -> argparse.ArgumentParser:
    from playground import __version__

    p = _Parser(prog="playground", description="Neural Playground: watch neural networks learn.")
    p.add_argument("--version", action="version", version=f"Neural Playground {__version__}")
    p.add_argument(
        "--smoke-test", action="store_true", help="open the app, train a few seconds, print fps, exit"
    )
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train a spec (JSON) or resume a session (.playground)")
    t.add_argument("file")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int)
    g.add_argument("--epochs", type=float)
    t.add_argument("--json", action="store_true", help="print one JSON object with the final metrics")
    t.add_argument("--out", help="save the trained session to this .playground file")
    t.set_defaults(func=cmd_train)

    i = sub.add_parser("info", help="summary of a session or spec file")
    i.add_argument("file")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    e = sub.add_parser(
        "export", help="export a session's history (CSV), weights (npz or json) or a PyTorch script"
    )
    e.add_argument("file")
    e.add_argument("--history")
    e.add_argument("--weights")
    e.add_argument(
        "--pytorch",
        metavar="MODEL.py",
        help="a self-contained PyTorch script (with MODEL.npz and MODEL_data.npz beside it) that "
        "builds the network with its weights and data and continues training (docs/EXPORT.md)",
    )
    e.set_defaults(func=cmd_export)

    b = sub.add_parser("bench", help="standard workloads (shared/BENCHMARKS.md)")
    b.add_argument("--quick", action="store_true")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)

    w = sub.add_parser("warmup", help="compile the engine's kernels ahead of time (installers run this)")
    w.add_argument(
        "--dtype",
        choices=("float64", "float32", "float64-blocks", "float32-blocks"),
        help="only this precision's kernels (-blocks: those of networks with convolution, pooling or "
        "recurrent layers)",
    )
    w.add_argument("--progress", action="store_true", help="print one line per compile phase")
    # the second process of a split compile (engine/warmup.py compile_and_mark): not for users
    w.add_argument("--half", choices=("training", "beside"), help=argparse.SUPPRESS)
    w.set_defaults(func=cmd_warmup)

    s = sub.add_parser("sweep", help="train every combination of hyper-parameters")
    s.add_argument("file")
    s.add_argument("--grid", action="append", default=[], help="dotted.path=v1,v2,... (repeatable)")
    s.add_argument("--seeds", type=int, default=1)
    s.add_argument("--steps", type=int)
    s.add_argument("--epochs", type=float)
    s.add_argument("--metric", default=None, help="metric for the plot (default: test accuracy or R^2)")
    s.add_argument(
        "--target", type=float, help="train loss whose first crossing is timed (default: automatic)"
    )
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("--scheduler", help="tcp://HOST:PORT of a Dask scheduler")
    s.add_argument("--out", required=True, help="results .csv or .json (written as runs finish)")
    s.add_argument("--plot", help="PNG/SVG file for the plot (default: next to --out)")
    s.set_defaults(func=cmd_sweep)
    add_gan_parser(sub)
    add_report_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # a bad argument (one line printed), --help or --version
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        from playground.app.main import main as app_main

        return app_main(["--smoke-test"] if args.smoke_test else [])
    from playground.cli.session import one_line, os_error
    from playground.engine import readiness

    # the command line compiles in-process: bitwise-deterministic runs (the app starts quick)
    readiness.set_start_mode("compiled")

    def fail(message: str) -> int:
        print(f"playground {args.command}: error: {one_line(message)}", file=sys.stderr)
        return EXIT_USAGE

    try:
        return args.func(args)
    except PlaygroundError as e:
        return fail(str(e))
    except OSError as e:
        return fail(os_error(e, getattr(args, "file", "")))
    except MemoryError:
        return fail(f"{getattr(args, 'file', '')}: not enough memory for this experiment")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line, and a way to see more
        if os.environ.get(TRACEBACK_ENV) == "1":
            raise
        return fail(
            f"unexpected {type(e).__name__}: {e} (please report this; set {TRACEBACK_ENV}=1 for details)"
        )


if __name__ == "__main__":
    sys.exit(main())
