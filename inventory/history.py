"""Reads for an asset's history pages: recovery points and backups, one page at a time.

Each page is served by the `(asset, -data_as_of)` and `(asset, -created_at)`
indexes, so its cost does not grow with how long the asset has been backed up.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from inventory.models import Asset, Backup, RecoveryPoint

HISTORY_PAGE_SIZE = 25


def asset_point_history(*, asset: Asset) -> QuerySet[RecoveryPoint]:
    return RecoveryPoint.objects.filter(asset=asset).select_related("vault").order_by("-data_as_of", "-pk")


def asset_backup_history(*, asset: Asset) -> QuerySet[Backup]:
    return Backup.objects.filter(asset=asset).select_related("vault", "requested_by").order_by("-created_at", "-pk")


def history_page(rows: QuerySet[RecoveryPoint] | QuerySet[Backup], number: str | None) -> Page:
    """One page of `rows`; a page number out of range gives the nearest page."""
    return Paginator(rows, HISTORY_PAGE_SIZE).get_page(number)
