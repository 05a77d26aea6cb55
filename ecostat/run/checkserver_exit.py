"""Imported by the checking children's forkserver alone, after the checks (:data:`ecostat.run.checkserver.PRELOAD`;
nothing else imports it): when the forkserver is told to stop, it ends at once instead of tearing down every
library the checks imported, which takes a tenth of a second or more that the writer waits for
(:func:`ecostat.run.checkserver.stop`)."""

from __future__ import annotations

import atexit
import os
import sys

SERVER = os.getpid()  # the forkserver's; its children, forked from it, have their own


def _end_at_once() -> None:
    if os.getpid() == SERVER:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


atexit.register(_end_at_once)  # registered last, so run first
