"""The guided breach assessment pages: one form per regime, every answer attributed, timestamped and audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_incident_by_id, can_write
from incidents.assessments import incident_assessment
from incidents.models import AssessmentRegime
from incidents.services.assessments import AssessmentRefused, assessment_answer


@login_required
@require_http_methods(["GET", "POST"])
def assessment(request: AuthenticatedHttpRequest, incident_id: str, regime: str) -> HttpResponse:
    if regime not in AssessmentRegime.values:
        raise Http404
    incident = access_incident_by_id(request.user, incident_id, for_write=request.method == "POST")
    current = incident_assessment(incident=incident, regime=regime)
    error, submitted = "", None
    if request.method == "POST":
        submitted = request.POST
        answers = {a.question.key: request.POST.get(a.question.key, "") for a in current}
        rationale: dict[str, Any] = {
            key: request.POST.get(f"why-{key}", "") for key in answers if f"why-{key}" in request.POST
        }
        try:
            assessment_answer(incident=incident, answers=answers, rationale=rationale, by=request.user)
        except AssessmentRefused as refused:
            error = str(refused)
        else:
            messages.success(request, "Assessment saved.")
            return redirect("incidents:assessment", incident_id=incident.public_id, regime=regime)
    context = {
        "incident": incident,
        "regime": regime,
        "regime_label": AssessmentRegime(regime).label,
        "regimes": AssessmentRegime.choices,
        "answers": current,
        "error": error,
        "submitted": submitted,
        "can_write": can_write(request.user, incident) and not incident.is_closed,
    }
    return render(request, "incidents/assessment.html", context, status=400 if error else 200)
