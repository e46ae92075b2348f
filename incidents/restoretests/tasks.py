"""Celery tasks of restore tests: one beat task does everything (see services)."""

from __future__ import annotations

from celery import shared_task

from incidents.restoretests.services import restore_tests_tick


@shared_task(name="restoretests.schedule", expires=50)
def restore_tests_schedule() -> str:
    return restore_tests_tick()
