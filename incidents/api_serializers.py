"""The incidents API's shapes: output serializers, then one input serializer per command (no logic)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from dr_portal.accounts.models import User
from dr_portal.api_request import BIGINT_MAX, INT_MAX, InputSerializer, serialize_many
from dr_portal.audit.models import AuditEvent
from incidents.clocks import Clock
from incidents.models import (
    ActionItem,
    ActionKind,
    ActionStatus,
    Category,
    DrillOutcome,
    Incident,
    IncidentRole,
    IncidentStatus,
    Regime,
    Review,
    RoleAssignment,
    Severity,
)
from incidents.selectors import (
    current_roles,
    incident_assets,
    incident_board,
    timeline_kind_of,
)
from incidents.suggestions import SUGGESTIONS_COUNTED, SUGGESTIONS_SHOWN, Suggestions, suggested_assets
from incidents.templatetags.incident_tags import describe
from inventory.models import Asset


class UsernameField(serializers.SlugRelatedField[User]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs)


class AssetNameField(serializers.SlugRelatedField[Asset]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="name", queryset=Asset.objects.all(), **kwargs)


# --- output ---------------------------------------------------------------------------


class ClockOut(serializers.Serializer[Clock]):
    regime = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    rule = serializers.CharField()
    starts_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    filed_at = serializers.DateTimeField(allow_null=True)
    state = serializers.CharField()
    seconds_left = serializers.SerializerMethodField()
    needs_reason = serializers.BooleanField()
    delay_reason = serializers.CharField()

    def get_seconds_left(self, clock: Clock) -> int | None:
        return int(clock.remaining.total_seconds()) if clock.remaining is not None else None


class IncidentListOut(serializers.Serializer[Incident]):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()
    category = serializers.CharField()
    declared_at = serializers.DateTimeField()
    commander = serializers.SerializerMethodField()

    def get_commander(self, incident: Incident) -> str | None:
        held = getattr(incident, "commanders", None)
        return held[0].user.username if held else None


class IncidentOut(serializers.Serializer[Incident]):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    severity = serializers.CharField()
    severity_rule = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    allowed_next = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.source
    alert_group_key = serializers.CharField()
    times = serializers.SerializerMethodField()
    data_impact = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    assets = serializers.SerializerMethodField()
    suggested_assets = serializers.SerializerMethodField(
        help_text=f"The {SUGGESTIONS_SHOWN} nearest assets downstream of the affected ones and not yet listed "
        "(direct dependents first, by name within a level)."
    )
    suggested_total = serializers.SerializerMethodField(
        help_text=f"How many suggestions there are in all, counted up to {SUGGESTIONS_COUNTED}."
    )
    suggested_complete = serializers.SerializerMethodField(
        help_text=f"False when there are more than suggested_total ({SUGGESTIONS_COUNTED}): the count stopped there."
    )
    clocks = serializers.SerializerMethodField()

    def get_times(self, incident: Incident) -> dict[str, Any]:
        names = ("started_at", "detected_at", "declared_at", "aware_at", "discovered_at", "ai_aware_at",
                 "contained_at", "restored_at", "resolved_at", "closed_at")  # fmt: skip
        return {name: getattr(incident, name) for name in names}

    def get_data_impact(self, incident: Incident) -> dict[str, Any]:
        names = ("personal_data", "subject_categories", "subjects_approx", "record_categories", "records_approx",
                 "special_categories", "phi", "data_encrypted", "ai_serious", "ai_death", "ai_widespread",
                 "ai_critical_infra")  # fmt: skip
        return {name: getattr(incident, name) for name in names}

    def get_roles(self, incident: Incident) -> dict[str, str]:
        return {role: held.user.username for role, held in current_roles(incident=incident).items()}

    def get_assets(self, incident: Incident) -> list[dict[str, Any]]:
        return [
            {
                "name": link.asset.name,
                "tier": link.asset.tier,
                "source": link.source,
                "drill_outcome": link.drill_outcome,
            }
            for link in incident_assets(incident=incident)
        ]

    def _suggestions(self, incident: Incident) -> Suggestions:
        # Capped and counted as on the incident page: an incident on a root asset has the whole estate below it.
        cache: dict[int, Suggestions] = self.__dict__.setdefault("_suggested", {})
        if incident.pk not in cache:
            cache[incident.pk] = suggested_assets(incident=incident, linked=incident_assets(incident=incident))
        return cache[incident.pk]

    def get_suggested_assets(self, incident: Incident) -> list[str]:
        return [asset.name for asset in self._suggestions(incident).assets]

    def get_suggested_total(self, incident: Incident) -> int:
        return self._suggestions(incident).total

    def get_suggested_complete(self, incident: Incident) -> bool:
        return self._suggestions(incident).complete

    def get_clocks(self, incident: Incident) -> list[dict[str, Any]]:
        return serialize_many(ClockOut, incident_board(incident=incident).clocks)


class EntryOut(serializers.Serializer[AuditEvent]):
    seq = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    kind = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    payload = serializers.JSONField(source="shown_payload")

    def get_kind(self, event: Any) -> str:
        return timeline_kind_of(event.action)

    def get_text(self, event: Any) -> str:
        return describe(event)


class AssignmentOut(serializers.Serializer[RoleAssignment]):
    role = serializers.CharField()
    user = serializers.CharField(source="user.username")
    assigned_by = serializers.CharField(source="assigned_by.username", allow_null=True, default=None)
    assigned_at = serializers.DateTimeField()
    relieved_at = serializers.DateTimeField(allow_null=True)
    relieved_by = serializers.CharField(source="relieved_by.username", allow_null=True, default=None)


class ActionItemOut(serializers.Serializer[ActionItem]):
    id = serializers.UUIDField(source="public_id")
    incident = serializers.UUIDField(source="incident.public_id")
    title = serializers.CharField()
    kind = serializers.CharField()
    critical = serializers.BooleanField()
    owner = serializers.CharField(source="owner.username")
    due_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()


class ReviewOut(serializers.Serializer[Review]):
    root_cause = serializers.CharField()
    contributing_factors = serializers.CharField()
    went_well = serializers.CharField()
    went_badly = serializers.CharField()
    signed_off_by = serializers.CharField(source="signed_off_by.username", allow_null=True, default=None)
    signed_off_at = serializers.DateTimeField(allow_null=True)


# --- input ----------------------------------------------------------------------------


class DeclareIn(InputSerializer):
    title = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True)
    severity_rule = serializers.CharField(max_length=300, required=False, default="")
    summary = serializers.CharField(max_length=10_000, required=False, default="", allow_blank=True)
    assets = serializers.ListField(child=AssetNameField(), required=False, default=list)
    commander = UsernameField(required=False, allow_null=True)


class TransitionIn(InputSerializer):
    to = serializers.ChoiceField(choices=IncidentStatus.choices)
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class SeverityIn(InputSerializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    rule = serializers.CharField(max_length=300)


class RoleIn(InputSerializer):
    role = serializers.ChoiceField(choices=IncidentRole.choices)
    user = UsernameField()


class RelieveIn(InputSerializer):
    role = serializers.ChoiceField(choices=IncidentRole.choices)


class NoteIn(InputSerializer):
    body = serializers.CharField(max_length=10_000)
    corrects = serializers.UUIDField(required=False, allow_null=True)


class PinIn(InputSerializer):
    seq = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    pinned = serializers.BooleanField(default=True)


class AssetsIn(InputSerializer):
    assets = serializers.ListField(child=AssetNameField(), min_length=1)


class FactsIn(InputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    aware_at = serializers.DateTimeField(required=False, allow_null=True)
    discovered_at = serializers.DateTimeField(required=False, allow_null=True)
    ai_aware_at = serializers.DateTimeField(required=False, allow_null=True)
    contained_at = serializers.DateTimeField(required=False, allow_null=True)
    restored_at = serializers.DateTimeField(required=False, allow_null=True)
    personal_data = serializers.BooleanField(required=False)
    subject_categories = serializers.CharField(max_length=300, required=False, allow_blank=True)
    subjects_approx = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False, allow_null=True)
    record_categories = serializers.CharField(max_length=300, required=False, allow_blank=True)
    records_approx = serializers.IntegerField(min_value=0, max_value=BIGINT_MAX, required=False, allow_null=True)
    special_categories = serializers.BooleanField(required=False)
    phi = serializers.BooleanField(required=False)
    data_encrypted = serializers.BooleanField(required=False)
    ai_serious = serializers.BooleanField(required=False)
    ai_death = serializers.BooleanField(required=False)
    ai_widespread = serializers.BooleanField(required=False)
    ai_critical_infra = serializers.BooleanField(required=False)


class DelayIn(InputSerializer):
    regime = serializers.ChoiceField(choices=Regime.choices)
    reason = serializers.CharField(max_length=5000)


class ActionItemIn(InputSerializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ActionKind.choices)
    owner = UsernameField()
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    critical = serializers.BooleanField(default=False)


class ActionStatusIn(InputSerializer):
    status = serializers.ChoiceField(choices=ActionStatus.choices)


class ReviewIn(InputSerializer):
    root_cause = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    contributing_factors = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    went_well = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    went_badly = serializers.CharField(max_length=10_000, required=False, allow_blank=True)


class DrillOutcomeIn(InputSerializer):
    asset = AssetNameField()
    outcome = serializers.ChoiceField(choices=[DrillOutcome.PASSED, DrillOutcome.FAILED])
    evidence = serializers.CharField(max_length=2000)


class DrillScheduleIn(InputSerializer):
    asset = AssetNameField()
    enabled = serializers.BooleanField()
    scenario = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
