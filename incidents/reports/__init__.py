"""The incident audit report (GDPR Art. 33/34/33(5), HIPAA §§164.400-414, AI Act Art. 73) as data.

`incident_report_document()` (document.py) reads the incident, its roles, filings,
review and timeline (the audit events carrying its id), seals the log with a
checkpoint and verifies the range the report cites; the PDF and evidence.json are
both made from the `ReportDocument` it returns. One module per group of sections,
in report order: summary, identification (and roles), timeline, analysis (technical,
impact, consequences, measures), restoration, notifications (and contacts, the
Art. 33(5) register), closing (evidence, lessons, sign-off). Sections and fields follow
COMPLIANCE.md; what DR Portal does not record prints "not recorded".

period.py builds the readiness report's drill, incident and recovery-run sections,
which come from incidents/ and are passed into inventory's readiness report.
"""

from __future__ import annotations

from incidents.reports.document import incident_report_document
from incidents.reports.period import period_drills_section, period_incidents_section, period_recovery_runs

__all__ = ["incident_report_document", "period_drills_section", "period_incidents_section", "period_recovery_runs"]
