"""``python -m tools.demo_content [--check] [--out DIR]`` from the repository root."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.demo_content import ROOT, differences, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo_content", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files, write nothing"
    )
    parser.add_argument("--out", type=Path, default=ROOT, help="root to write (or check) under")
    args = parser.parse_args(argv)
    if args.check:
        stale = differences(args.out)
        for path in stale:
            print(f"differs from the generator: {path}", file=sys.stderr)
        print("demo content up to date" if not stale else f"{len(stale)} file(s) differ")
        return 1 if stale else 0
    for path in write(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
