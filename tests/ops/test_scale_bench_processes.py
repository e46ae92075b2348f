"""The scale bench stops every process it started (workers, beat, gunicorn): on an error, on Ctrl-C,
on SIGTERM or SIGHUP, and with SIGKILL when one ignores SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.scale import procs

ROOT = Path(__file__).resolve().parent.parent.parent

# What scale_bench.main does around its work, with a child that sleeps in a session of its own.
SCRIPT = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench.scale import procs
procs.stop_on_signals()
child = procs.spawn(["sleep", "300"], env=dict(os.environ), log=Path(sys.argv[2]))
print(child.pid, flush=True)
try:
    time.sleep(300)
finally:
    procs.stop_all()
"""


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signalled_bench_stops_the_processes_it_started(sig: signal.Signals, tmp_path: Path) -> None:
    bench = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(ROOT), str(tmp_path / "child.log")], stdout=subprocess.PIPE, text=True
    )
    assert bench.stdout is not None
    child = int(bench.stdout.readline())
    os.kill(child, 0)  # it runs, in a session of its own: a Ctrl-C in the terminal would not reach it
    assert os.getsid(child) == child != os.getsid(bench.pid)
    bench.send_signal(sig)
    assert bench.wait(timeout=30) != 0
    assert gone(child), f"process {child} outlived the bench after {sig.name}"


def test_an_error_in_the_block_stops_its_processes(tmp_path: Path) -> None:
    child = procs.spawn(["sleep", "300"], env=dict(os.environ), log=tmp_path / "child.log")
    with pytest.raises(RuntimeError), procs.started(child):
        raise RuntimeError("a round failed")
    assert gone(child.pid) and child.pid not in procs.running()


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stubborn = procs.spawn(["sh", "-c", 'trap "" TERM; sleep 300'], env=dict(os.environ), log=tmp_path / "s.log")
    time.sleep(0.3)  # let the shell set its trap
    started = time.monotonic()
    procs.stop(stubborn, grace=1)
    assert stubborn.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10
