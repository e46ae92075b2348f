"""The demo's embedded systems are real and round-trip through their connectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory import demo_connectors
from inventory.connectors import get_connector
from tests.inventory.connectors.conftest import Engine

pytest.importorskip("lancedb")


def test_demo_systems_back_up_restore_and_verify(engine: Engine, tmp_path: Path) -> None:
    systems = demo_connectors.build(tmp_path / "systems")
    assert demo_connectors.build(tmp_path / "systems") == systems  # idempotent
    for name, (kind, config) in systems.items():
        connector = get_connector(kind, config)
        capture, manifest = engine.backup(connector)
        target = dict(config)
        target["uri" if kind == "vector" else "path"] = str(tmp_path / "drill" / name / "target")
        connector.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        report = connector.verify(capture=capture, target=target)
        assert report.ok, report.summary()
        connector.cleanup(target=target)
    assert systems["support-embeddings-index"][1]["dimension"] == demo_connectors.DIM
