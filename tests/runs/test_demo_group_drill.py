"""Issue 14's "done when" from the demo itself: the loaders' fraud model consistency group (the MLflow
registry entry on a real ``mlflow server``, the features in SQLite — or PostgreSQL and Redis when the
portal runs on them — and the LanceDB case index bound to its embedding model) is backed up and drilled
by real worker processes; each member's verification is the run's evidence, and the clean-up leaves
nothing behind."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.runs.models import RUN_FINISHED, RecoveryRun
from inventory import demo_group, demo_mlflow, demo_servers
from inventory.connectors.mlflow_registry import model_names
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.models import Asset, RecoveryPlan, RecoveryPoint
from tests.demo_server_stores import demo_server_stores
from tests.runs.conftest import start_run
from tests.workers import running_worker, wait_for

__all__ = ["demo_server_stores"]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.servers,
    pytest.mark.worker,
    pytest.mark.usefixtures("loopback_allowed", "demo_server_stores"),
]


@pytest.fixture
def demo_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    for name, value in (
        ("VAR_DIR", var),
        ("VAULT_KEY_FILE", var / "keys" / "vault-keys"),
        ("AUDIT_CHECKPOINT_DIR", tmp_path / "checkpoints"),
        ("BACKUP_PROGRESS_SECONDS", 0),
        ("RUN_PROGRESS_SECONDS", 0),
    ):
        monkeypatch.setattr(settings, name, value)
    return var


def _server_cleanup_state(members: list[str]) -> dict[str, Any]:
    """What a drill may have left on the servers: PostgreSQL scratch databases, keys in the Redis drill db."""
    left: dict[str, Any] = {}
    if demo_servers.PG_ASSET in members:
        from inventory.connectors.postgres import PostgresConfig, connect

        config, _ = demo_servers.postgres_config()
        assert config is not None
        admin = connect(PostgresConfig(**config), "postgres", autocommit=True)
        try:
            pattern = f"{config['dbname'][:30]}_drill_%"
            left["scratch databases"] = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
            ).fetchall()
        finally:
            admin.close()
    if demo_servers.REDIS_ASSET in members:
        from inventory.connectors.redis_kv import RedisConfig

        config, _ = demo_servers.redis_config()
        assert config is not None
        left["redis drill db keys"] = RedisConfig(**{**config, "db": config["drill_db"]}).client().dbsize()
    return left


def test_a_commander_drills_the_demo_fraud_group_and_the_clean_up_leaves_nothing(demo_var: Path) -> None:
    binary = demo_mlflow.mlflow_binary(settings.BASE_DIR)
    if binary is None:
        pytest.skip("mlflow is not installed: run `make mlflow-venv`")
    for loader in ("demo_setup", "inventory_demo"):
        call_command(loader, stdout=StringIO())
    group = Asset.objects.get(name=demo_group.GROUP)
    members = list(group.connector_config["members"])
    on_servers = {n for n in (demo_servers.PG_ASSET, demo_servers.REDIS_ASSET) if Asset.objects.filter(name=n).exists()}
    assert members == demo_group.members(on_servers)
    assert members[0] == demo_mlflow.ASSET and members[-1] == demo_group.INDEX
    if not on_servers:
        assert demo_group.SQLITE_FEATURES in members
    assert not any(_server_cleanup_state(members).values())  # no leftovers from an earlier drill

    registry = demo_mlflow.DemoRegistry.load(settings.VAR_DIR, settings.BASE_DIR)
    servers = [
        demo_mlflow.start_server(binary, registry.workdir / "source", registry.source_port),
        demo_mlflow.start_server(binary, registry.workdir / "drill", registry.drill_port),
    ]
    try:
        demo_mlflow.wait_ready(registry.source_url, servers[0])
        demo_mlflow.wait_ready(registry.drill_url, servers[1])
        demo_mlflow.seed(MlflowRest(registry.source_url), registry.workdir)
        env = {"VAULT_KEY_FILE": str(settings.VAULT_KEY_FILE), "VAULT_KEY_ID": settings.VAULT_KEY_ID}
        with running_worker(name="demo-group", concurrency=2, BACKUP_PROGRESS_SECONDS="0", **env):
            assert demo_mlflow.queue_first_backup() is True  # as the demo's mlflow process does
            point = wait_for(
                lambda: RecoveryPoint.objects.good().filter(asset=group).first(),
                timeout=300,
                what="the worker to back the group up",
            )
            assert isinstance(point, RecoveryPoint)
            capture = point.manifest["extra"]["capture"]
            assert sorted(capture["details"]["members"]) == sorted(members)  # jsonb keeps no key order

            commander = User.objects.get(username="commander")
            plan = RecoveryPlan.objects.get(name="Fraud model consistency group")
            run = start_run(plan=plan, mode="drill", by=commander)
            done = wait_for(
                lambda: RecoveryRun.objects.filter(
                    pk=run.pk, status__in=RUN_FINISHED, cleaned_at__isnull=False
                ).first(),
                timeout=300,
                what="the worker to drill the group and clean up",
            )
        assert isinstance(done, RecoveryRun)
        log = (settings.VAR_DIR / "worker-demo-group.log").read_text(errors="replace")
        assert done.status == "succeeded", (done.error, log[-3000:])

        verify = done.steps.get(key=f"verify-{demo_group.GROUP}")
        evidence = verify.evidence["connector"]["members"]
        assert {name: result["ok"] for name, result in evidence.items()} == dict.fromkeys(members, True)
        checks = {name: {c["name"] for c in result["checks"]} for name, result in evidence.items()}
        assert f"{demo_mlflow.MODEL} v2 artifact hashes" in checks[demo_mlflow.ASSET]
        assert any("embedding model" in c for c in checks[demo_group.INDEX]), checks[demo_group.INDEX]
        assert any("golden" in n for n in evidence[demo_group.INDEX]["notes"]), evidence[demo_group.INDEX]["notes"]
        for name in set(members) & {demo_group.SQLITE_FEATURES, demo_servers.PG_ASSET}:
            assert any("card_features" in c for c in checks[name]), checks[name]
        page_names = done.steps.get(key=f"restore-{demo_group.GROUP}").evidence["connector"]["members"]
        assert set(page_names) == set(members)
        # The commander sees each member's verification on the run page, on the step that verified it.
        client = Client()
        client.force_login(commander)
        page = client.get(f"/runs/{done.public_id}/").content.decode()
        assert "group: all" in page and "members verified" in page
        for name in members:
            assert f"<strong>{name}</strong>: {evidence[name]['summary']}" in page

        # Nothing left behind: drill folders, the drill registry's models, scratch databases, drill keys.
        assert not (settings.VAR_DIR / "drills" / str(done.public_id)).exists()
        assert model_names(MlflowRest(registry.drill_url), ()) == []
        # ...nor the restored source runs and their experiment, not even in MLflow's deleted state: the
        # demo's registry names its drill server's backend store, and clean-up purged them from it.
        drill = MlflowRest(registry.drill_url)
        exps = drill.post("/experiments/search", {"max_results": 1000, "view_type": "ALL"})["experiments"]
        assert [e["name"] for e in exps] == ["Default"]
        search = {"experiment_ids": ["0"], "max_results": 1000, "run_view_type": "ALL"}
        assert drill.post("/runs/search", search).get("runs", []) == []
        assert "(as `mlflow gc` does): the registry no longer finds them, not even as deleted." in page
        cleaned = AuditEvent.objects.filter(action="run.cleaned_up", object_id=str(done.public_id)).get()
        assert cleaned.payload["kept"] == [], cleaned.payload
        assert not any(_server_cleanup_state(members).values()), _server_cleanup_state(members)
        # The sources were not touched.
        assert model_names(MlflowRest(registry.source_url), ()) == [demo_mlflow.MODEL]
    finally:
        demo_mlflow.stop_servers(servers)
    assert all(proc.poll() is not None for proc in servers)
