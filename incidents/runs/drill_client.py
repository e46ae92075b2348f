"""The client side of `manage.py drill`: start a drill through a portal's API, follow it, judge it, report it.

Standard library only, and no database: a CI job runs it against a portal somewhere else.
Exit codes: 0 the drill passed, 1 it failed or breached the RTO, 2 it could not run.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_COULD_NOT_RUN = 2

# Polls that fail in a row (the portal restarting behind its proxy) before the drill counts as lost.
POLL_FAILURES_TOLERATED = 5


class CouldNotRun(Exception):
    """The drill could not be started or followed; the message is one line for a CI log."""


_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(text: str) -> int:
    """Seconds in `15m`, `1h30m`, `90s` or `90`."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m or 1h30m")
    return int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class Portal:
    """The portal's REST API, as one token sees it."""

    url: str
    token: str
    timeout: float = 15.0

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        target = self.url.rstrip("/") + path
        if not target.startswith(("http://", "https://")):
            raise CouldNotRun(f"--url must be an http(s) URL, not {self.url!r}")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
            target,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": "dr-portal-drill",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as refused:
            raise CouldNotRun(self._refusal(refused)) from None
        except (urllib.error.URLError, OSError, TimeoutError) as unreachable:
            reason = getattr(unreachable, "reason", unreachable)
            raise CouldNotRun(f"cannot reach the portal at {self.url}: {reason}") from None
        except ValueError:
            raise CouldNotRun(f"{self.url}{path} did not answer JSON; is --url the portal?") from None

    def _refusal(self, refused: urllib.error.HTTPError) -> str:
        try:
            error = json.loads(refused.read()).get("error", {})
        except ValueError:
            error = {}
        detail = str(error.get("detail") or refused.reason)
        fields = error.get("fields")
        if isinstance(fields, dict):
            detail = "; ".join(
                f"{name}: {' '.join(map(str, problems if isinstance(problems, list) else [problems]))}"
                for name, problems in fields.items()
            )
        if refused.code == 401:
            return f"the portal refused the token (401): {detail} Check the token's variable."
        if refused.code == 403:
            return f"the token's account may not start drills (403): {detail}"
        if refused.code == 404:
            return f"not found at {self.url} (404): {detail}"
        if refused.code == 405:
            # urllib follows a redirect (http -> https, a trailing slash) by turning the POST into a GET.
            return f"the portal answered 405 at {self.url}: was it redirected? Give --url as its final address."
        return f"the portal answered {refused.code}: {detail}"


@dataclass
class Outcome:
    """How a drill went, for the exit code, the JSON summary and the JUnit report."""

    code: int
    result: str  # passed | failed | rto_breached | started | could_not_run
    reason: str
    drill: dict[str, Any] = field(default_factory=dict)  # the last progress the portal sent
    max_rto_seconds: int | None = None

    def summary(self) -> dict[str, Any]:
        drill = self.drill
        return {
            "result": self.result,
            "exit_code": self.code,
            "reason": self.reason,
            "run": drill.get("run"),
            "reference": drill.get("reference"),
            "incident": drill.get("incident"),
            "plan": drill.get("plan"),
            "status": drill.get("status"),
            "elapsed_seconds": drill.get("elapsed_seconds"),
            "achieved_rto_seconds": drill.get("achieved_rto_seconds"),
            "max_rto_seconds": self.max_rto_seconds,
            "rto_target_seconds": drill.get("rto_target_seconds"),
            "achieved_rpo_seconds": drill.get("achieved_rpo_seconds"),
            "steps": [
                {key: step.get(key) for key in ("key", "kind", "asset", "state", "error")}
                for step in drill.get("steps", [])
            ],
        }


def judge(drill: dict[str, Any], *, max_rto: int | None) -> Outcome | None:
    """The verdict on a drill's progress, or None while it is running and still within the RTO."""
    elapsed = drill.get("elapsed_seconds") or 0
    if drill.get("finished"):
        rto = drill.get("achieved_rto_seconds")
        if not drill.get("passed"):
            why = drill.get("error") or "see the run's steps"
            return Outcome(EXIT_FAILED, "failed", f"{drill.get('reference')} ended {drill.get('status')}: {why}", drill)
        if max_rto is not None and (rto is None or rto > max_rto):
            return Outcome(
                EXIT_FAILED, "rto_breached", f"RTO breached: {_clock(rto)} achieved, {_clock(max_rto)} allowed", drill
            )
        return Outcome(EXIT_PASSED, "passed", f"{drill.get('reference')} passed, RTO {_clock(rto)}", drill)
    if max_rto is not None and elapsed > max_rto:
        return Outcome(
            EXIT_FAILED,
            "rto_breached",
            f"RTO breached: still {drill.get('status')} after {_clock(elapsed)}, {_clock(max_rto)} allowed "
            f"(the drill goes on in the portal, and cleans up after itself)",
            drill,
        )
    return None


def progress_line(drill: dict[str, Any]) -> str:
    """One line: the clock, the run, and what each unfinished step is doing."""
    busy = []
    for step in drill.get("steps", []):
        if step.get("state") in ("succeeded", "skipped", "cancelled", "pending"):
            continue
        moved = ""
        if step.get("bytes_total"):
            moved = f" {step['bytes_done'] * 100 // max(step['bytes_total'], 1)}%"
        busy.append(f"{step.get('key')} {step.get('state')}{moved}")
    done = sum(1 for s in drill.get("steps", []) if s.get("state") == "succeeded")
    parts = [
        f"[{_clock(drill.get('elapsed_seconds'))}]",
        str(drill.get("reference")),
        str(drill.get("status")),
        f"{done}/{len(drill.get('steps', []))} steps done",
    ]
    return " ".join(parts) + (" · " + ", ".join(busy) if busy else "")


def run_drill(
    *,
    portal: Portal,
    targets: list[str],
    scenario: str,
    wait: bool,
    max_rto: int | None,
    poll_seconds: float,
    timeout_seconds: int,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Start a drill of `targets` and, with `wait`, follow it to its verdict; never raises CouldNotRun."""
    try:
        started = portal.call("POST", "/api/v1/drills/", {"assets": targets, "scenario": scenario, "run": True})
        run = started.get("run") or {}
        if not run.get("id"):
            raise CouldNotRun("the portal started no run; is it older than the drills API?")
        say(f"started {started.get('reference')} ({run.get('reference')}, plan {run.get('plan')!r}) at {portal.url}")
        drill = {"run": run["id"], "reference": run.get("reference"), "incident": started.get("id"), "steps": []}
        if not wait:
            return Outcome(EXIT_PASSED, "started", "started; not waiting (--wait follows it)", drill, max_rto)
        deadline = time.monotonic() + timeout_seconds
        failures, last = 0, ""
        while True:
            try:
                drill = portal.call("GET", f"/api/v1/drills/runs/{run['id']}/")
                failures = 0
            except CouldNotRun as lost:
                failures += 1
                if failures > POLL_FAILURES_TOLERATED:
                    raise CouldNotRun(f"lost the drill {run['id']}: {lost}") from None
                say(f"poll failed ({failures}/{POLL_FAILURES_TOLERATED}): {lost}")
            else:
                line = progress_line(drill)
                if line.split("] ", 1)[-1] != last:
                    say(line)
                    last = line.split("] ", 1)[-1]
                verdict = judge(drill, max_rto=max_rto)
                if verdict is not None:
                    verdict.max_rto_seconds = max_rto
                    return verdict
            if time.monotonic() > deadline:
                reason = f"no verdict within --timeout ({_clock(timeout_seconds)}); the drill goes on in the portal"
                return Outcome(EXIT_FAILED, "failed", reason, drill, max_rto)
            sleep(poll_seconds)
    except CouldNotRun as problem:
        return Outcome(EXIT_COULD_NOT_RUN, "could_not_run", str(problem), max_rto_seconds=max_rto)


def junit_xml(outcome: Outcome, *, targets: list[str]) -> bytes:
    """A JUnit report: a test case per run step and one for the verdict (RTO included); an error if it could not run."""
    drill = outcome.drill
    suite = ET.Element("testsuite", name=f"DR drill: {', '.join(targets)}", timestamp=datetime.now(UTC).isoformat())
    cases: list[ET.Element] = []
    if outcome.code == EXIT_COULD_NOT_RUN:
        case = ET.Element("testcase", classname="drill", name="start", time="0")
        ET.SubElement(case, "error", message=outcome.reason, type="could_not_run").text = outcome.reason
        cases.append(case)
    for step in drill.get("steps", []):
        took = _seconds_between(step.get("started_at"), step.get("finished_at"))
        case = ET.Element("testcase", classname=str(step.get("asset") or "run"), name=str(step.get("key")))
        case.set("time", f"{took:.3f}")
        state = step.get("state")
        if state in ("failed", "rejected", "expired") or (state == "skipped" and step.get("critical")):
            message = step.get("error") or step.get("skip_reason") or state
            ET.SubElement(case, "failure", message=str(message), type=str(state)).text = str(message)
        elif state not in ("succeeded", "skipped"):
            ET.SubElement(case, "skipped", message=f"not finished: {state}")
        cases.append(case)
    if drill.get("steps") or outcome.result in ("rto_breached", "failed", "passed"):
        verdict = ET.Element("testcase", classname="drill", name="verdict", time=str(drill.get("elapsed_seconds") or 0))
        if outcome.result in ("rto_breached", "failed"):
            ET.SubElement(verdict, "failure", message=outcome.reason, type=outcome.result).text = outcome.reason
        ET.SubElement(verdict, "system-out").text = json.dumps(outcome.summary(), indent=2)
        cases.append(verdict)
    suite.extend(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.set("time", str(drill.get("elapsed_seconds") or 0))
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
