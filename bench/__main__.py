"""Run the benchmarks: `python -m bench [name ...]` (all by default); see bench/RESULTS.md."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

BENCHMARKS = ["checkin", "inventory", "matching", "approval", "dispatch", "claims", "ingest", "reports"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"which benchmarks of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    from bench import env

    env.configure()
    env.create_database()
    env.setup_django()
    for name in args.names or BENCHMARKS:
        started = time.monotonic()
        print(f"==> bench {name}", flush=True)
        env.settle()
        importlib.import_module(f"bench.{name}").run()
        print(f"    done in {time.monotonic() - started:.0f} s", flush=True)
    print("Figures written to bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
