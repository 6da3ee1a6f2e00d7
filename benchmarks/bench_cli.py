"""Claim: the CLI answers at once -- `skydome --help` under 0.3 s on a quiet machine.

Times each command as a user meets it: a fresh process, from exec to exit
(interpreter start-up included), median of several runs, and lists which of the
heavy libraries the command imported. Bare `python -c pass` is the floor.

    python benchmarks/bench_cli.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "pydantic", "matplotlib", "numba", "skydome.engine")

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", []),
    ("skydome --help", ["--help"]),
    ("skydome --version", ["--version"]),
    ("skydome run --help", ["run", "--help"]),
    ("skydome scenarios", ["scenarios"]),
    ("skydome validate default", ["validate", "default"]),
]

PROBE = """
import sys
sys.argv = ["skydome", *sys.argv[1:]]
from skydome.cli import main
try:
    main()
except SystemExit:
    pass
heavy = [m for m in {heavy!r} if m in sys.modules]
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
"""


def _time(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def _heavy(args: list[str]) -> str:
    code = PROBE.format(heavy=HEAVY)
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    line = [x for x in r.stderr.splitlines() if x.startswith("HEAVY:")]
    return (line[-1][6:] or "-") if line else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("skydome"))
    print(f"{'command':<26} {'median s':>9} {'min':>7} {'max':>7}  heavy imports")
    for label, cli in COMMANDS:
        argv = [sys.executable, "-c", "pass"] if not cli else [exe, *cli]
        _time(argv)  # warm the file cache
        walls = [_time(argv) for _ in range(args.repeats)]
        heavy = _heavy(cli) if cli else "-"
        print(
            f"{label:<26} {statistics.median(walls):>9.3f} {min(walls):>7.3f} "
            f"{max(walls):>7.3f}  {heavy}"
        )


if __name__ == "__main__":
    main()
