"""Run a benchmark on this tree and on another revision, interleaved, and compare the figures.

On a shared machine the same benchmark moves by a fifth to a third from one run to the next
(decisions 27 and 28): a figure measured before a change and one measured after it, minutes
apart, say little. This runs the two alternately (other, this, other, this, ...) so that both see
the same spells of noise, and prints one JSON line: each side's figures run by run, and for each
`--figure` the median and the range of both. The other revision is checked out in a temporary
`git worktree` (removed afterwards) and run with this tree's virtual environment. Usage:

    python bench/compare.py --against HEAD~1 --runs 3 --figure postgresql.single.p99_ms \\
        -- bench/ingest.py --events 2000

The benchmark must print its JSON line last, as every script in bench/ does.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def figure(result: dict, path: str) -> Any:
    """The value at a dotted path of a benchmark's JSON (None if it has no such figure)."""
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def run_once(tree: Path, command: list[str]) -> dict:
    """The benchmark's JSON line, run with `tree` as the working directory."""
    finished = subprocess.run([sys.executable, *command], cwd=tree, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"{command[0]} failed in {tree}:\n{finished.stderr[-2000:]}")
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{command[0]} printed no JSON line in {tree}")
    return json.loads(lines[-1])


def summary(values: list[Any]) -> dict | None:
    numbers = [v for v in values if isinstance(v, (int, float))]
    if not numbers:
        return None
    return {"median": statistics.median(numbers), "min": min(numbers), "max": max(numbers)}


def compare(against: str, runs: int, figures: list[str], command: list[str]) -> dict:
    revision = subprocess.run(["git", "rev-parse", "--short", against], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="compare-") as directory:
        other = Path(directory) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(other), revision], cwd=ROOT, check=True)
        try:
            results: dict[str, list[dict]] = {"other": [], "this": []}
            for n in range(runs):
                for side, tree in (("other", other), ("this", ROOT)):
                    print(f"run {n + 1}/{runs}: {side}", file=sys.stderr, flush=True)
                    results[side].append(run_once(tree, command))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    return {"against": revision, "command": command, "runs": runs,
            "figures": {path: {side: summary([figure(r, path) for r in results[side]]) for side in results}
                        for path in figures},
            "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the other revision (a commit, branch or tag)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side")
    parser.add_argument("--figure", action="append", default=[], help="a dotted path into the JSON to summarise")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the benchmark script and its arguments")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark to run after --")
    print(json.dumps(compare(args.against, args.runs, args.figure, command), ensure_ascii=False))


if __name__ == "__main__":
    main()
