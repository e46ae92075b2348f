"""Read-only API over the audit log: /api/v1/audit/events/ (nothing here can change an event)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, serializers, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.routers import SimpleRouter

from dr_portal.accounts.access import Perm, check
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.selectors import AuditEventFilter, AuditFilterForm, events_base


class AuditEventOut(serializers.Serializer[AuditEvent]):
    seq = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor = serializers.CharField(source="actor_label")
    system_actor = serializers.CharField()
    actor_role = serializers.CharField()
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    incident_id = serializers.UUIDField(allow_null=True)
    # A point's file names and digests only for people who may restore (accounts/contents.py).
    payload = serializers.DictField(source="shown_payload")
    personal_erased = serializers.BooleanField(source="is_erased")
    personal_digest = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class NewestFirst(CursorPagination):
    ordering = "-seq"
    page_size = 100


class _ApiFilterForm(AuditFilterForm):
    def clean_incident(self) -> str:
        return str(self.cleaned_data.get("incident") or "").strip()


class AuditEventApiFilter(AuditEventFilter):
    """The page's filters less its hint: through the API, an incident nobody can name matches no event."""

    class Meta(AuditEventFilter.Meta):
        form = _ApiFilterForm


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[AuditEvent]):
    """Audit events for compliance officers and admins, filterable like the Audit page."""

    serializer_class = AuditEventOut
    lookup_field = "seq"
    lookup_value_regex = r"\d+"
    pagination_class = NewestFirst
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventApiFilter
    http_method_names = ["get", "head", "options"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the schema
            return AuditEvent.objects.none()
        check(self.request.user, Perm.VIEW_AUDIT)
        return events_base()


router = SimpleRouter()
router.register("audit/events", AuditEventViewSet, basename="audit-event")
urlpatterns = router.urls
