"""The periodic DR readiness report (GDPR Art. 30/32(1)(c)-(d), HIPAA §164.308(a)(7), §164.312(b)) as data.

Activity (backups, drills, incidents, audit-log checks) is counted over the
period; the state of each asset (policy, newest good backup, readiness) is as
at generation time, and the report says so. Incidents and drills are not
inventory data: the caller (incidents/) passes those two sections and the
period's recovery runs in, so that imports keep pointing one way.

document.py assembles the report; one module per group of sections: summary,
scores (readiness score, its trend, the RTO forecast),
assets (inventory, NPRM gap view), backups (coverage, immutability, evidence
index), restore_tests, governance (replication, plans, access, audit controls,
GDPR linkage, findings, sign-off). scope.py holds the period and the run shape.
"""

from __future__ import annotations

from inventory.reports.document import readiness_report_document
from inventory.reports.scope import MeasuredRun, Period

__all__ = ["MeasuredRun", "Period", "readiness_report_document"]
