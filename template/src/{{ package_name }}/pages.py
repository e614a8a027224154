"""Standalone HTML pages of examples that the tasks write beside a run (answers in their
context, transcripts beside their references): one page layout, each task its own blocks."""

from __future__ import annotations

import html
from pathlib import Path


def write_html_page(path: Path, title: str, style: str, legend: str, blocks: list[str]) -> Path:
    """Write ``blocks`` (HTML fragments, one per example) as a page titled ``title``, styled
    by the CSS ``style``, with ``legend`` (HTML) under the heading; returns ``path``."""
    escaped = html.escape(title)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escaped}</title>"
        f"<style>{style}</style></head><body><h1>{escaped}</h1>{legend}"
        + "\n".join(blocks)
        + "</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
