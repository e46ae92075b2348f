"""Record only: today's behaviour. Nothing is switched; the portal only records what should serve."""

from __future__ import annotations

from typing import Any

from incidents.runs.drivers.base import SwitchResult

LABEL = "recorded, nothing switched"


class RecordOnlyDriver:
    kind = "record_only"
    moves_traffic = False

    def __init__(self, *, recorded_route: str) -> None:
        self.recorded = recorded_route

    def current_route(self) -> str:
        return self.recorded

    def switch(self, *, to: str, key: str, force: bool = False) -> SwitchResult:
        before, self.recorded = self.recorded, to
        return SwitchResult(before, to, switched=False, took=False, detail=f"{to}: {LABEL}.", evidence={"mode": LABEL})

    def check_only(self, *, to: str) -> SwitchResult:
        return SwitchResult(self.recorded, self.recorded, False, False, f"Drill: {LABEL}.", {"mode": LABEL})

    def verify(self, *, to: str) -> tuple[bool, dict[str, Any]]:
        return False, {"mode": LABEL}
