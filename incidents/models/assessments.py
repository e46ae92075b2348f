"""Breach assessments: append-only, attributed answers per regime (GDPR, HIPAA, AI Act)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.incident import Incident


class AssessmentRegime(models.TextChoices):
    GDPR = "gdpr", "GDPR breach assessment"
    HIPAA = "hipaa", "HIPAA breach risk assessment"
    AI_ACT = "ai_act", "EU AI Act Art. 73 assessment"
    RESPONSE = "response", "Response record: access, emergency mode, holds, revisions"


class AssessmentAnswer(models.Model):
    """One answer to one question of an incident's breach assessment. Append-only: the newest per question holds."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assessment_answers")
    regime = models.CharField(max_length=10, choices=AssessmentRegime.choices)
    question = models.CharField(max_length=40)
    value = models.JSONField(null=True)
    rationale = models.TextField(blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)
    audit_seq = models.BigIntegerField(null=True, help_text="The audit event that recorded this answer.")

    class Meta:
        ordering = ["answered_at", "pk"]
        indexes = [models.Index(fields=["incident", "question", "answered_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(regime__in=AssessmentRegime.values), name="assessment_regime_known"),
        ]

    def __str__(self) -> str:
        return f"{self.question} = {self.value!r}"
