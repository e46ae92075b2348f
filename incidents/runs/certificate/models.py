"""One signed certificate per finished run (the exact signed bytes are kept, so it re-verifies as issued)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class RunCertificate(models.Model):
    run = models.OneToOneField("runs.RecoveryRun", on_delete=models.CASCADE, related_name="certificate")
    document = models.TextField(help_text="The signed JSON file, exactly as issued.")
    verdict = models.CharField(max_length=16)
    key_id = models.CharField(max_length=16)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "runs"

    def __str__(self) -> str:
        return f"certificate of run {self.run_id} ({self.verdict})"
