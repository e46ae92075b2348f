"""Move every row of the old filings register (incidents.Filing) into the notification register.

Field by field: public_id, incident, phase, recipient, reference, summary,
recorded_by and recorded_at keep their values; filed_at becomes sent_at; the
regime picks the recipient kind and is kept in `regime`, so a notice filed
under one regime still stops only that regime's clock (a GDPR Art. 34 letter
does not stop the HIPAA §164.404 clock). A filing had no count of people
notified and no attachment: those stay empty. A blank channel reads "not
recorded". `audit_seq` points at the filing's own `incident.filing_recorded`
event, which the log keeps.

Reversing keeps the notices where they are (the filings table comes back
empty): nothing is lost either way.
"""

from django.db import migrations

# Frozen here: the mapping as it stood when the filings were moved.
REGIME_KIND = {
    "gdpr_33": "authority",
    "gdpr_34": "individuals",
    "hipaa_404": "individuals",
    "hipaa_406": "media",
    "hipaa_408": "hhs",
    "ai_act_73": "ai_authority",
    "other": "other",
}
NOT_RECORDED = "not recorded"


def fold_filings(apps, schema_editor):
    Filing = apps.get_model("incidents", "Filing")
    Notification = apps.get_model("compliance", "Notification")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    seqs = dict(
        AuditEvent.objects.filter(object_type="incidents.filing", action="incident.filing_recorded").values_list(
            "object_id", "seq"
        )
    )
    moved = set(Notification.objects.values_list("public_id", flat=True))
    rows = []
    for filing in Filing.objects.order_by("pk").iterator():
        if filing.public_id in moved:
            continue
        rows.append(
            Notification(
                public_id=filing.public_id,
                incident_id=filing.incident_id,
                kind=REGIME_KIND[filing.regime],
                regime=filing.regime,
                phase=filing.phase,
                recipient=filing.recipient,
                channel=filing.channel or NOT_RECORDED,
                sent_at=filing.filed_at,
                count_notified=None,
                reference=filing.reference,
                summary=filing.summary,
                recorded_by_id=filing.recorded_by_id,
                recorded_at=filing.recorded_at,
                audit_seq=seqs.get(str(filing.public_id)),
            )
        )
    Notification.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0002_notification_regime"),
        ("incidents", "0005_assessment_answers"),
        ("audit", "0003_filter_indexes"),
    ]

    operations = [
        migrations.RunPython(fold_filings, migrations.RunPython.noop),
    ]
