"""On-call paging: schedules per team, escalation per severity, pages that are acknowledged or escalate."""
