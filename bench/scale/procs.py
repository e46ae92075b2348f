"""The processes the scale bench starts (Celery workers, beat, gunicorn), and stopping every one of them.

Each runs in a session of its own, so a Ctrl-C in the terminal reaches only the
bench, never them: the bench has to stop them itself. `spawn` records every
process; `stop` ends one (SIGTERM to its whole group, SIGKILL after a grace
period); `stop_all` ends whatever is still recorded and runs on the way out of
`main`, on an exception, on Ctrl-C and, through `stop_on_signals`, on SIGTERM
or SIGHUP. Only processes this bench started are ever signalled.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO

from bench.scale.common import ROOT

GRACE_SECONDS = 20.0

_running: dict[int, subprocess.Popen[bytes]] = {}
_logs: dict[int, IO[bytes]] = {}


def spawn(args: Sequence[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `args` in a session of its own, output to `log`; recorded so that `stop_all` ends it."""
    out = open(log, "ab")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        list(args), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    _running[process.pid] = process
    _logs[process.pid] = out
    return process


def celery(args: Sequence[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`celery -A dr_portal.worker <args>`."""
    return spawn([sys.executable, "-m", "celery", "-A", "dr_portal.worker", *args], env=env, log=log)


def stop(process: subprocess.Popen[bytes], *, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to the process's group (a prefork worker's children too), SIGKILL if it outlives `grace`."""
    try:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=grace)
        # The group may outlive its leader (a pool child still exiting): make sure it is gone.
        _signal_group(process, signal.SIGKILL)
    finally:
        _running.pop(process.pid, None)
        log = _logs.pop(process.pid, None)
        if log is not None:
            log.close()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group start_new_session made: its id is the pid
        os.killpg(process.pid, sig)


def stop_all() -> None:
    """Stop every process still recorded; a second Ctrl-C meanwhile does not cut this short."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _is_main_thread() else None
    try:
        for process in list(_running.values()):
            try:
                stop(process)
            except Exception as exc:  # one that will not stop must not keep the others running
                print(f"could not stop process {process.pid}: {exc}", file=sys.stderr)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def running() -> list[int]:
    return [pid for pid, p in _running.items() if p.poll() is None]


@contextmanager
def started(*processes: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop these processes when the block ends, however it ends."""
    try:
        yield
    finally:
        for process in processes:
            stop(process)


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the bench as Ctrl-C does: through the `finally` blocks, which stop the processes."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_exit)


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


atexit.register(stop_all)
