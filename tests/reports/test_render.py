"""Rendering: read the sample report back as text, attachments, metadata and pixels."""

from __future__ import annotations

import json
import re
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from dr_portal.pdf import Attachment, PdfRenderError, ReportMetadata, render_pdf
from dr_portal.pdf.render import collect_headings
from tests.reports.conftest import Sample, page_texts, tiny_pdf

REPORT_ID = "DRP-SAMPLE-0001"
CLASSIFICATION = "Confidential — contains personal data"


def test_sample_report_runs_over_several_pages(final_report: Sample) -> None:
    assert len(PdfReader(BytesIO(final_report.signed)).pages) >= 3


def test_every_page_has_header_and_footer_with_page_x_of_y(final_report: Sample) -> None:
    pages = page_texts(final_report.path)
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert f"Report {REPORT_ID}" in text, f"page {number} lacks the report id"
        assert CLASSIFICATION in text, f"page {number} lacks the classification"
        assert f"Page {number} of {total}" in text, f"page {number} lacks its page number"


def test_table_of_contents_gives_the_page_each_heading_is_on(final_report: Sample) -> None:
    pages = page_texts(final_report.path)
    toc = next(text for text in pages if "Contents" in text and "Timeline" in text)
    entries = dict(re.findall(r"^\s*(\S[^.\n]*?)\s*(?:\. ?)+\s*(\d+)\s*$", toc, re.MULTILINE))
    assert set(entries) >= {"Executive summary", "Backup coverage", "Timeline", "How to verify this report"}
    for heading, page in entries.items():
        body = pages[int(page) - 1]
        assert re.search(rf"^\s*{re.escape(heading)}\s*$", body, re.MULTILINE), f"{heading!r} not on page {page}"
    # the timeline starts after the summary and the backups: the numbers are real, not copies
    assert int(entries["Executive summary"]) < int(entries["Backup coverage"]) < int(entries["Timeline"])


def test_timeline_header_row_repeats_on_each_page_of_the_table(final_report: Sample) -> None:
    pages = [t for t in page_texts(final_report.path) if re.search(r"^\s*\d+\s+2026-03-02", t, re.MULTILINE)]
    assert len(pages) >= 2
    for text in pages:
        assert re.search(r"Seq\s+Recorded \(UTC\)\s+Actor\s+Action", text)


def test_draft_banner_is_on_every_page_of_a_draft(draft_report: Sample) -> None:
    for number, text in enumerate(page_texts(draft_report.path), start=1):
        assert "DRAFT — not final" in text, f"page {number} lacks the DRAFT banner"


def test_a_final_report_says_draft_nowhere(final_report: Sample) -> None:
    assert not any("DRAFT" in text for text in page_texts(final_report.path))


def test_evidence_attachment_parses_and_equals_the_input(final_report: Sample) -> None:
    reader = PdfReader(BytesIO(final_report.signed))
    attached = reader.attachments
    assert list(attached) == ["evidence.json"]
    assert json.loads(attached["evidence.json"][0]) == final_report.evidence


def test_evidence_is_an_associated_file_with_relationship_data(final_report: Sample) -> None:
    reader = PdfReader(BytesIO(final_report.signed))
    root: Any = reader.trailer["/Root"]
    associated = [ref.get_object() for ref in root["/AF"]]
    assert [spec["/UF"] for spec in associated] == ["evidence.json"], "the catalog's /AF array is wrong"
    spec = associated[0]
    assert spec["/AFRelationship"] == "/Data"
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/json"
    assert "/ModDate" in stream["/Params"]  # PDF/A-3 wants the modification date of each embedded file


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_pdf_declares_pdf_a_3b_in_its_xmp_metadata(final_report: Sample, which: str) -> None:
    xmp = PdfReader(BytesIO(getattr(final_report, which))).xmp_metadata
    assert xmp is not None
    description = xmp.rdf_root.getElementsByTagNameNS("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "Description")
    values = {}
    for node in description:
        for attr in ("part", "conformance"):
            value = node.getAttributeNS("http://www.aiim.org/pdfa/ns/id/", attr)
            if value:
                values[attr] = value
            for child in node.getElementsByTagNameNS("http://www.aiim.org/pdfa/ns/id/", attr):
                values[attr] = (child.firstChild.nodeValue or "") if child.firstChild else ""
    assert values == {"part": "3", "conformance": "B"}
    assert PdfReader(BytesIO(getattr(final_report, which))).pdf_header == "%PDF-1.7"


def test_signing_keeps_document_info_and_xmp_in_agreement(final_report: Sample) -> None:
    reader = PdfReader(BytesIO(final_report.signed))
    root: Any = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    info = reader.metadata
    assert info is not None
    producer = re.escape(str(info["/Producer"]))
    assert re.search(rf'pdf:Producer="{producer}"|<pdf:Producer>{producer}</pdf:Producer>', xmp), xmp
    assert str(info["/Title"]) in xmp


def test_every_font_is_embedded(final_report: Sample) -> None:
    out = subprocess.run(["pdffonts", str(final_report.path)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert rows, "no fonts at all?"
    for row in rows:
        assert re.search(r"\s(yes)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", row), f"not embedded: {row}"
    assert any("DejaVu" in row for row in rows)


def test_metadata_lands_in_the_document_information(final_report: Sample) -> None:
    info = PdfReader(BytesIO(final_report.signed)).metadata
    assert info is not None
    assert info.title == final_report.metadata.title
    assert REPORT_ID in (info.get("/Keywords") or "")


def test_nothing_is_drawn_in_the_side_margins(final_report: Sample, tmp_path: Path) -> None:
    """A table or chart too wide for the page would spill into the 15 mm side margins."""
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(final_report.path), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) >= 3
    for image_path in images:
        image = Image.open(image_path).convert("L")
        width, height = image.size
        margin = int(width * 12 / 210)  # 12 of the page's 210 mm, inside the 15 mm margin
        for box in ((0, 0, margin, height), (width - margin, 0, width, height)):
            darkest = image.crop(box).getextrema()[0]
            assert isinstance(darkest, int)
            assert darkest > 200, f"{image_path.name}: something dark in the margin {box}"


# --- the fetcher ---------------------------------------------------------------------------


def test_our_stylesheet_is_applied(final_report: Sample) -> None:
    # report.css puts "Page N of M" in the footer; without the stylesheet there would be none.
    assert "Page 1 of" in page_texts(final_report.path)[0]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/logo.png",
        "http://127.0.0.1:8000/static/css/report.css",
        "file:///etc/passwd",
        "https://dr-portal.invalid/media/secret.png",
        "https://dr-portal.invalid/static/../settings.py",
    ],
)
def test_anything_but_our_static_files_is_refused(url: str) -> None:
    html = f'<!doctype html><html><body><p>x</p><img src="{url}"></body></html>'
    with pytest.raises(PdfRenderError, match="refused to fetch"):
        render_pdf(html=html, metadata=ReportMetadata(title="t", report_id="T-1"))


def test_data_urls_are_allowed() -> None:
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
        "AAAABJRU5ErkJggg=="
    )
    html = f'<!doctype html><html><body><img src="{pixel}"></body></html>'
    assert render_pdf(html=html, metadata=ReportMetadata(title="t", report_id="T-1")).startswith(b"%PDF-1.7")


def test_attachment_names_must_be_unique_and_bare() -> None:
    with pytest.raises(ValueError, match="bare name"):
        Attachment("../evidence.json", b"{}")
    with pytest.raises(ValueError, match="AFRelationship"):
        Attachment("evidence.json", b"{}", relationship="Evidence")
    with pytest.raises(PdfRenderError, match="unique"):
        tiny_pdf(attachments=(Attachment("a.json", b"{}"), Attachment("a.json", b"[]")))


def test_headings_get_ids_and_no_toc_headings_are_skipped() -> None:
    html, entries = collect_headings(
        '<h2 class="no-toc">Contents</h2><h2>One &amp; two</h2><h3 id="keep">Sub <em>part</em></h3><h4>x</h4>'
    )
    assert [(e.level, e.anchor, e.text) for e in entries] == [(2, "section-1", "One & two"), (3, "keep", "Sub part")]
    assert '<h2 id="section-1">One &amp; two</h2>' in html
    assert '<h2 class="no-toc">Contents</h2>' in html
