"""Issue #17 item 8, the report layout: action names wrap at dots, repeated automatic events print as one counted
row, charts carry a title, and "not measured" never looks like a bar that met its target."""

from __future__ import annotations

import re
from pathlib import Path

from dr_portal.charts import Measured, achieved_vs_target_chart
from dr_portal.pdf.document import EventRef
from dr_portal.pdf.templatetags.reports import chart_figure, dotted
from dr_portal.pdf.timeline import timeline_rows


def event(seq: int, action: str, actor: str = "system:beat", summary: str = "") -> EventRef:
    return EventRef(seq, f"h{seq}", f"h{seq - 1}", f"2026-11-30T10:00:{seq:02d}Z", actor, action, "", summary)


def test_an_action_name_may_wrap_only_after_a_dot_or_an_underscore() -> None:
    assert str(dotted("incident.notification_recorded")) == "incident.<wbr>notification_<wbr>recorded"
    assert str(dotted("a<b.c")) == "a&lt;b.<wbr>c"  # escaped
    assert dotted(None) is None


def test_runs_of_the_same_automatic_event_print_as_one_counted_row() -> None:
    events = [
        event(1, "incident.declared", actor="commander (#2)"),
        *(event(seq, "alert.refiring", summary="ModelErrorRate") for seq in range(2, 202)),
        event(202, "incident.note_added", actor="oncall (#3)"),
        event(203, "incident.note_added", actor="oncall (#3)"),
        event(204, "incident.note_added", actor="oncall (#3)"),
        event(205, "deadline.near"),
        event(206, "deadline.near"),
    ]
    rows = timeline_rows(events)
    assert [(r.seq, r.count) for r in rows] == [
        ("1", 1), ("2..201", 200), ("202", 1), ("203", 1), ("204", 1), ("205", 1), ("206", 1),
    ]  # fmt: skip
    grouped = rows[1]
    assert grouped.summary.startswith("200 times until 2026-11-30T10:00:") and "ModelErrorRate" in grouped.summary
    # People's entries are never folded, however alike; two automatic events are too few to fold.
    assert sum(r.count for r in rows) == len(events)


def test_not_measured_is_written_where_the_bar_would_start_not_past_the_target() -> None:
    from datetime import timedelta

    svg = str(
        achieved_vs_target_chart(
            [
                Measured("scoring", timedelta(minutes=30), timedelta(hours=1)),
                Measured("index", None, timedelta(hours=1)),
            ]
        )
    )
    groups = re.findall(r"<g><title>(\w+):.*?</g>", svg)
    assert groups == ["scoring", "index"]
    index_group = re.search(r"<g><title>index:.*?</g>", svg)
    assert index_group is not None
    assert "<rect" not in index_group.group(0)  # no empty bar
    label = re.search(r'<text x="([\d.]+)"[^>]*class="unmeasured"', index_group.group(0))
    target = re.search(r'<line x1="([\d.]+)"', svg)
    assert label is not None and target is not None
    assert float(label.group(1)) < float(target.group(1))
    assert "— not measured" in index_group.group(0)


def test_a_chart_prints_its_title_above_it() -> None:
    from django.utils.safestring import SafeString

    html = str(chart_figure(SafeString("<svg></svg>"), "caption", "RTO vs target"))
    assert html.index("RTO vs target") < html.index("<svg>") < html.index("caption")


def test_the_timeline_header_prints_at_the_top_of_pages_only(tmp_path: Path) -> None:
    from django.utils import timezone

    from dr_portal.pdf.document import Control, ReportDocument, Section
    from dr_portal.pdf.render import ReportMetadata, render_pdf, render_report_html
    from tests.reports.conftest import page_texts

    control = Control(
        report_id="RPT-L", kind="incident", title="Layout", subtitle="s", version=1, status="draft",
        generated_at=timezone.now(), generated_by="t", generated_by_id=None, classification="c", distribution="d",
        retention_until="2033-01-01", legal_hold=None,
    )  # fmt: skip
    people = [event(seq, "incident.notification_recorded", actor=f"person{seq % 3} (#{seq % 3})", summary="x " * 30)
              for seq in range(1, 131)]  # fmt: skip
    doc = ReportDocument(control=control, sections=[Section("timeline", "Timeline", timeline=True)], events=people)
    context = {"report": {"id": "RPT-L", "title": "Layout", "kind": "Incident audit report", "draft": True}, "doc": doc}
    pdf = tmp_path / "layout.pdf"
    pdf.write_bytes(
        render_pdf(
            html=render_report_html("reports/incident_report.html", context),
            attachments=[],
            metadata=ReportMetadata(title="Layout", report_id="RPT-L"),
        )
    )
    pages = [p for p in page_texts(pdf) if "notification_" in p]
    assert len(pages) >= 3
    for text in pages:
        assert text.count("Recorded (UTC)") == 1
        assert text.index("Recorded (UTC)") < text.index("notification_")  # above the page's first row
    # The action name wrapped at its underscore, not inside "notification" or "recorded".
    assert "notificatio\n" not in "\n".join(pages) and "recorde\n" not in "\n".join(pages)


def test_no_page_is_left_nearly_empty_by_a_forced_break(tmp_path: Path) -> None:
    """A contents list one entry longer than a page, and a last section ending high on its page, used to leave
    two nearly empty pages: the contents' overflow (section 1 was forced onto a new page) and the end of the last
    section (the closing "How to verify this report" was forced onto a new page too)."""
    from django.utils import timezone

    from dr_portal.pdf.document import Control, ReportDocument, Section, Table
    from dr_portal.pdf.render import ReportMetadata, render_pdf, render_report_html
    from tests.reports.conftest import page_texts

    control = Control(
        report_id="RPT-E", kind="readiness", title="Layout", subtitle="s", version=1, status="final",
        generated_at=timezone.now(), generated_by="t", generated_by_id=None, classification="c", distribution="d",
        retention_until="2033-01-01", legal_hold=None,
    )  # fmt: skip
    sections = [
        Section(
            f"s{i}", f"Section {i}", intro=f"Body text of section {i}.",
            tables=[Table(f"t{i}-{j}", f"Table {i}.{j}", ["A", "B"], [[f"cell {i}.{j}", "x"]]) for j in range(6)],
        )
        for i in range(1, 11)
    ]  # fmt: skip
    doc = ReportDocument(control=control, sections=sections)
    context = {"report": {"id": "RPT-E", "title": "Layout", "kind": "DR readiness report", "draft": False}, "doc": doc}
    pdf = tmp_path / "empty.pdf"
    pdf.write_bytes(
        render_pdf(
            html=render_report_html("reports/readiness_report.html", context),
            attachments=[],
            metadata=ReportMetadata(title="Layout", report_id="RPT-E"),
        )
    )
    pages = page_texts(pdf)
    toc_end = max(i for i, text in enumerate(pages) if "Table 10.5 ." in text or "Table 10.5 ·" in text)
    assert toc_end >= 2, "the contents should run over a page for this test to mean anything"
    # Section 1 starts right after the contents, on the page where they end.
    assert "Body text of section 1." in pages[toc_end]
    # The closing section follows the last one on its page.
    assert "cell 10.5" in next(text for text in pages if "How to verify this report" in text and "pyhanko" in text)
    body = [len([line for line in text.splitlines() if line.strip()]) for text in pages[1:-1]]
    assert min(body) >= 10, body


def test_a_run_of_assessment_answers_says_which_question_each_row_answered() -> None:
    """A person's answers are never folded, so each of the worked breach's thirty-odd answer rows must say what it
    answered; they printed an empty Details cell, a wall of identical rows."""
    import json

    from dr_portal.audit.models import AuditEvent
    from incidents.reports.timeline import event_summary

    payload = {"question": "gdpr.personal_data", "from": "not_assessed", "to": "yes", "rationale": "r"}
    answer = AuditEvent(action="incident.assessment_answered", payload_json=json.dumps(payload))
    assert event_summary(answer) == "gdpr.personal_data: not_assessed → yes"


def test_a_long_asset_name_in_a_chart_is_printed_whole() -> None:
    from datetime import timedelta

    name = "credit-training-dataset (untested)"
    svg = str(achieved_vs_target_chart([Measured(name, None, timedelta(hours=1))]))
    assert f">{name}</text>" in svg and "…" not in svg
