"""The regulator exports embedded in the incident audit report, made from the same facts at the same moment.

The GDPR Art. 33 notification (JSON) and the HHS breach-portal row (CSV) travel inside the
signed PDF as PDF/A-3 associated files (`/AFRelationship /Supplement`: the same facts in a
form a regulator's tooling reads); evidence.json lists each with its SHA-256, and
report_verify checks the two agree.
"""

from __future__ import annotations

from datetime import datetime

from dr_portal.pdf.render import Attachment
from incidents.compliance.exports import gdpr_json, hhs_csv
from incidents.models import Incident

GDPR_FILE = "gdpr-notification.json"
HHS_FILE = "hhs-breach-portal.csv"


def regulator_attachments(incident: Incident, *, at: datetime) -> list[Attachment]:
    return [
        Attachment(
            GDPR_FILE,
            gdpr_json(incident, at=at).encode(),
            description="GDPR Art. 33 notification facts, keyed after the EDPB common template (the API's gdpr.json)",
            relationship="Supplement",
            mime_type="application/json",
        ),
        Attachment(
            HHS_FILE,
            hhs_csv(incident).encode(),
            description="HHS OCR breach-portal fields, one row (the API's hhs.csv)",
            relationship="Supplement",
            mime_type="text/csv",
        ),
    ]
