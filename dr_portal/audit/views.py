"""The Audit page, its exports, the public key and personal-data erasure."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dr_portal.accounts.access import Perm, can, check
from dr_portal.accounts.models import User
from dr_portal.audit import checkpoints, exports
from dr_portal.audit.forms import ErasePersonForm
from dr_portal.audit.models import AuditCheckpoint
from dr_portal.audit.pickers import picker_context
from dr_portal.audit.selectors import event_page, events_filtered, latest_checkpoint
from dr_portal.audit.services import audit_append, audit_erase_person
from dr_portal.audit.verify_views import verify_state
from dr_portal.http import AuthenticatedHttpRequest

PAGE_SIZE = 50


def _seq_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.VIEW_AUDIT)
    filterset, events = events_filtered(params=request.GET)
    rows, older, newer = event_page(
        events=events, before=_seq_param(request, "before"), after=_seq_param(request, "after"), size=PAGE_SIZE
    )
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    context = {
        "filter": filterset,
        "events": rows,
        "older": older,
        "newer": newer,
        "query": query.urlencode(),
        "checkpoint": latest_checkpoint(),
        "erase_form": ErasePersonForm() if can(request.user, Perm.REDACT_AUDIT) else None,
        **picker_context(rows=rows, query=query),
        **verify_state(request),  # the newest verification and the head of the log, read once
    }
    template = "audit/index.html#results" if request.htmx and request.htmx.target == "results" else "audit/index.html"
    return render(request, template, context)


def _export(request: AuthenticatedHttpRequest, fmt: str) -> StreamingHttpResponse:
    check(request.user, Perm.VIEW_AUDIT)
    filterset, events = events_filtered(params=request.GET)
    # Reading personal data out of the log is itself recorded.
    audit_append(
        action="audit.exported",
        actor=request.user,
        object_type="audit.auditevent",
        payload={"format": fmt, "filters": {k: v for k, v in filterset.data.items() if v}},
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_lines(events), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(exports.jsonl_lines(events), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{"csv" if fmt == "csv" else "jsonl"}"'
    return response


@login_required
@require_GET
def export_csv(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    return _export(request, "csv")


@login_required
@require_GET
def export_jsonl(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    return _export(request, "jsonl")


@never_cache
@require_GET
def pubkey(request: HttpRequest) -> HttpResponse:
    """The Ed25519 public key that checks checkpoint signatures; public on purpose."""
    response = HttpResponse(checkpoints.public_key_pem(), content_type="application/x-pem-file; charset=us-ascii")
    response["X-Audit-Key-Id"] = checkpoints.key_id()
    return response


@login_required
@require_GET
def checkpoint(request: AuthenticatedHttpRequest, seq: int) -> HttpResponse:
    check(request.user, Perm.VIEW_AUDIT)
    found = AuditCheckpoint.objects.filter(seq=seq).first()
    if found is None:
        raise Http404
    response = HttpResponse(checkpoints.checkpoint_text(found), content_type="text/plain; charset=us-ascii")
    response["Content-Disposition"] = f'attachment; filename="{checkpoints.file_name(seq)}"'
    return response


@login_required
@require_POST
def erase(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, Perm.REDACT_AUDIT)
    form = ErasePersonForm(request.POST)
    if form.is_valid():
        person = User.objects.filter(username=form.cleaned_data["username"]).first()
        if person is None:
            messages.error(request, "No person has that username.")
        else:
            record = audit_erase_person(user=person, by=request.user, reason=form.cleaned_data["reason"])
            erased = record.public_payload["events"]
            messages.success(
                request, f"Erased the personal data of {erased} event(s); recorded as event #{record.seq}."
            )
    else:
        messages.error(request, "Give a username and a reason.")
    return redirect("audit:index")
