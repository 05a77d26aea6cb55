"""Run one command and write its wall time, exit code and peak RSS as JSON:
``python benchmarks/child.py OUT.json CMD [ARG …]`` (standard library only; started by
:mod:`benchmarks.run` for every measure).

Why a launcher: Linux counts in a process's peak RSS the memory of the process it was forked from
(the copy it replaces at exec), so a command forked from the benchmark itself, which holds the
generated loads (a few hundred MB), would report at least that. Forked from this small process, the
measured command reports its own peak (and that of the largest process it starts and waits for).
"""

import json
import os
import sys
import time


def main() -> int:
    """Spawn the command, wait for it, write the measure; returns 0 (the command's code is in the JSON)."""
    out, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"seconds": seconds, "exit_code": os.waitstatus_to_exitcode(status),
                   "peak_rss_kb": usage.ru_maxrss}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
