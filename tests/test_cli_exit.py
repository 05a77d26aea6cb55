"""How the ``ecostat`` command ends (:func:`ecostat.cli.main_exit`), in real processes on real pipes: output piped
into a reader that stops early ends it quietly, while a write to any other pipe whose reader is gone (a checking
child that died, a client that left) raises where it happens instead of ending the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _command(body: str) -> list[str]:
    """A Python process whose ``ecostat`` command is ``body`` (a function ``main`` returning the exit code), ended
    by the real :func:`ecostat.cli.main_exit`."""
    return [sys.executable, "-c", f"import os, sys\nfrom ecostat import cli\n{body}\ncli.main = main\ncli.main_exit()"]


def test_output_into_a_reader_that_stops_early_ends_quietly() -> None:
    proc = subprocess.Popen(_command("def main(argv=None):\n    for i in range(200_000):\n        print(f'row {i}')\n"
                                     "    return 0"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"row 0\n"
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and err == b""  # SIGPIPE's status, no traceback


def test_a_write_to_a_pipe_whose_reader_is_gone_raises_and_the_command_goes_on() -> None:
    done = subprocess.run(_command("def main(argv=None):\n    r, w = os.pipe()\n    os.close(r)\n    try:\n"
                                   "        os.write(w, b'a file to check')\n    except BrokenPipeError:\n"
                                   "        print('the child is gone; the run goes on')\n    return 0"),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "the child is gone; the run goes on\n"), done.stderr
