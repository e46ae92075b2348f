"""HTML → PDF/A-3b with WeasyPrint, fetching nothing but our own static files."""

from __future__ import annotations

import html as html_lib
import logging
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

logger = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3b"
# Never resolves (RFC 2606), so a URL that slips past the fetcher cannot leave the machine.
DEFAULT_BASE_URL = "https://dr-portal.invalid/"
# ISO 32000-2 §7.11.3 / ISO 19005-3: how an embedded file relates to the document.
AF_RELATIONSHIPS = frozenset({"Source", "Data", "Alternative", "Supplement", "Unspecified"})


class PdfRenderError(Exception):
    """The report could not be turned into a PDF; the message says why."""


class FetchRefused(Exception):
    """A resource outside our static files (or a data: URL) was asked for."""


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF and listed as an associated file (/AF)."""

    filename: str
    data: bytes
    description: str = ""
    # "Data": the file holds the data the visible report was made from (ISO 19005-3 Annex E).
    relationship: str = "Data"
    mime_type: str | None = None

    def __post_init__(self) -> None:
        if self.relationship not in AF_RELATIONSHIPS:
            raise ValueError(f"AFRelationship must be one of {sorted(AF_RELATIONSHIPS)}, not {self.relationship!r}")
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"attachment filename must be a bare name, not {self.filename!r}")


@dataclass(frozen=True)
class ReportMetadata:
    """Document information written to both the XMP packet and the /Info dictionary."""

    title: str
    report_id: str
    author: str = "DR Portal"
    subject: str = ""
    keywords: Sequence[str] = ()
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    lang: str = "en"

    def __post_init__(self) -> None:
        if self.created.tzinfo is None:
            raise ValueError("ReportMetadata.created must be timezone-aware (UTC)")


def _static_roots() -> list[Path]:
    roots = [Path(p).resolve() for p in settings.STATICFILES_DIRS]
    roots.append(Path(settings.STATIC_ROOT).resolve())
    return roots


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


class StaticOnlyFetcher:
    """A WeasyPrint URL fetcher that serves our static files and data: URLs, and refuses the rest.

    Reports are archival evidence: what they show must come from our own code,
    never from whatever a remote server answers on the day they are rendered.
    """

    def __init__(self, base_url: str) -> None:
        from weasyprint.urls import URLFetcher

        parts = urlsplit(base_url)
        self._origin = (parts.scheme, parts.netloc)
        self._static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        self._data = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
        self._fail_on_errors = True  # weasyprint.urls.fetch reads this
        self.fetched: list[str] = []

    def __call__(self, url: str) -> Any:
        return self.fetch(url)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        from weasyprint.urls import URLFetcherResponse

        if url.startswith("data:"):
            return self._data.fetch(url)
        parts = urlsplit(url)
        path: Path | None = None
        if parts.scheme == "file":
            candidate = Path(unquote(parts.path)).resolve()
            path = candidate if _inside(candidate, _static_roots()) else None
        elif (parts.scheme, parts.netloc) == self._origin and parts.path.startswith(self._static_prefix):
            relative = unquote(parts.path[len(self._static_prefix) :])
            found = finders.find(relative) if ".." not in relative.split("/") else None
            if isinstance(found, str):
                path = Path(found).resolve()
            elif (Path(settings.STATIC_ROOT) / relative).is_file():
                path = (Path(settings.STATIC_ROOT) / relative).resolve()
        if path is None or not path.is_file():
            raise FetchRefused(f"refused to fetch {url!r}: reports may only use our static files and data: URLs")
        self.fetched.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


def render_pdf(
    *,
    html: str,
    base_url: str | None = None,
    attachments: Sequence[Attachment] = (),
    metadata: ReportMetadata,
) -> bytes:
    """Render `html` to PDF/A-3b bytes, with `attachments` embedded as associated files.

    Relative URLs in `html` resolve against `base_url` (default: a placeholder
    origin); only `STATIC_URL` paths on that origin, files under the static
    directories and data: URLs are fetched. Anything else aborts the render
    with PdfRenderError, so a report never silently lacks its stylesheet.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    names = [a.filename for a in attachments]
    if len(set(names)) != len(names):
        raise PdfRenderError(f"attachment names must be unique: {names}")
    fetcher = StaticOnlyFetcher(base_url or DEFAULT_BASE_URL)
    try:
        document = weasyprint.HTML(
            string=html, base_url=base_url or DEFAULT_BASE_URL, url_fetcher=fetcher, media_type="print"
        ).render(pdf_variant=PDF_VARIANT)
        meta = document.metadata
        meta.title = metadata.title
        meta.authors = [metadata.author]
        meta.description = metadata.subject or None
        meta.keywords = [metadata.report_id, *metadata.keywords]
        meta.generator = "DR Portal"
        stamp = metadata.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.created = meta.modified = stamp
        meta.lang = metadata.lang
        # WeasyPrint writes the attachment dates with a "Z" suffix, so hand it UTC.
        naive_utc = metadata.created.astimezone(UTC).replace(tzinfo=None)
        embedded = [
            weasyprint.Attachment(
                string=a.data,
                name=a.filename,
                description=a.description or None,
                relationship=a.relationship,
                created=naive_utc,
                modified=naive_utc,
            )
            for a in attachments
        ]
        data = document.write_pdf(pdf_variant=PDF_VARIANT, attachments=embedded, finisher=_dedupe_associated_files)
    except FatalURLFetchingError as exc:
        raise PdfRenderError(str(exc.__cause__ or exc)) from exc
    if not isinstance(data, bytes):  # pragma: no cover - write_pdf() without target returns bytes
        raise PdfRenderError("WeasyPrint returned no bytes")
    # WeasyPrint logs and skips an attachment it cannot load (its md5 stays None);
    # evidence must not go missing quietly.
    missing = [a.name for a in embedded if not a.md5]
    if missing:
        raise PdfRenderError(f"attachments not embedded: {missing}")
    return data


def _dedupe_associated_files(document: Any, pdf: Any) -> None:
    # WeasyPrint 70 lists each attachment twice in the catalog's /AF array
    # (once from the name tree, once from the file specification); keep one.
    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


# --- Templates and the table of contents ------------------------------------------

TOC_PLACEHOLDER = "<!-- toc -->"
_HEADING = re.compile(r"<(h[23])(\s[^>]*)?>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_ID = re.compile(r"""\sid\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class TocEntry:
    level: int
    anchor: str
    text: str


def collect_headings(html: str) -> tuple[str, list[TocEntry]]:
    """Give every h2/h3 an id and list them, skipping those with the class `no-toc`."""
    entries: list[TocEntry] = []
    counter = 0

    def visit(match: re.Match[str]) -> str:
        nonlocal counter
        tag, attrs, inner = match.group(1), match.group(2) or "", match.group(3)
        if re.search(r"""class\s*=\s*["'][^"']*\bno-toc\b""", attrs):
            return match.group(0)
        counter += 1
        found = _ID.search(attrs)
        anchor = found.group(1) if found else f"section-{counter}"
        if not found:
            attrs = f'{attrs} id="{anchor}"'
        text = html_lib.unescape(_TAG.sub("", inner)).strip()
        entries.append(TocEntry(level=int(tag[1]), anchor=anchor, text=" ".join(text.split())))
        return f"<{tag}{attrs}>{inner}</{tag}>"

    return _HEADING.sub(visit, html), entries


def toc_html(entries: Sequence[TocEntry]) -> SafeString:
    """An ordered list of links; report.css adds dot leaders and target-counter() page numbers."""
    items = format_html_join(
        "",
        '<li class="toc-l{}"><a href="#{}">{}</a></li>',
        ((e.level, e.anchor, e.text) for e in entries),
    )
    return format_html('<ol class="toc-list">{}</ol>', items)


def render_report_html(template_name: str, context: Mapping[str, Any]) -> str:
    """Render a report template and fill its `<!-- toc -->` marker from its own headings."""
    html, entries = collect_headings(str(render_to_string(template_name, dict(context))))
    if TOC_PLACEHOLDER in html:
        html = html.replace(TOC_PLACEHOLDER, str(toc_html(entries)), 1)
    return html
