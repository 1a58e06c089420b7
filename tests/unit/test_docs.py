"""The manual holds together: every relative link lands on a file and heading that exist,
the generated state diagram is current, and the JSON status schema names every field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.model.state_diagram import BEGIN, END, block
from gaia_runner.view.status_json import status_document

# Measured, so the document has its `requests` object too.
WEB = AppSnapshot(name="web", server="gunicorn", state=AppState.RUNNING, requests_per_second=1.0)

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$")


def _outside_code(text: str) -> Iterator[str]:
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield line


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in _outside_code(page.read_text()):
        m = HEADING.match(line)
        if m:
            base = _anchor(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def _links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for line in _outside_code(page.read_text())
        for target in LINK.findall(line)
        if not re.match(r"^[a-z]+:", target)
    ]


@pytest.mark.parametrize(
    ("page", "target"), _links(), ids=lambda v: v.name if isinstance(v, Path) else str(v)
)
def test_every_relative_link_resolves(page: Path, target: str) -> None:
    path, _, fragment = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    assert linked.exists(), f"{page.relative_to(REPO)}: {target}: no such file"
    if fragment:
        assert linked.suffix == ".md", f"{page.relative_to(REPO)}: {target}: anchor into a non-page"
        assert fragment in _anchors(linked), f"{page.relative_to(REPO)}: {target}: no such heading"


def test_the_readme_links_every_docs_page() -> None:
    readme = (REPO / "README.md").read_text()
    for doc in (REPO / "docs").glob("*.md"):
        assert f"(docs/{doc.name})" in readme, f"README.md does not link docs/{doc.name}"


def test_the_state_diagram_is_generated_from_the_transition_table() -> None:
    page = (REPO / "docs" / "architecture.md").read_text()
    written = page[page.index(BEGIN) : page.index(END) + len(END)]
    assert written == block(), (
        "docs/architecture.md's state diagram is stale: "
        "python -m gaia_runner.model.state_diagram --write docs/architecture.md"
    )


def _fields(document: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The leaves, as `a.b` paths; an app of `apps[]` starts the path again."""
    for key, value in document.items():
        nested = isinstance(value, dict) or (
            isinstance(value, list) and value and isinstance(value[0], dict)
        )
        if not nested:
            yield prefix + key
        if isinstance(value, dict):
            yield from _fields(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            yield from _fields(value[0])


def test_the_json_status_schema_names_every_field() -> None:
    operations = (REPO / "docs" / "operations.md").read_text()
    document = status_document(Snapshot(apps=(WEB,)))
    for name in _fields(document):
        leaf = name.rsplit(".", 1)[-1]
        assert f"`{name}`" in operations or f"`{leaf}`" in operations, (
            f"docs/operations.md does not document `gaia status --json` field {name!r}"
        )


def test_every_edge_of_the_table_has_its_reason_and_no_more() -> None:
    from gaia_runner.model.state import TRANSITIONS
    from gaia_runner.model.state_diagram import edge_reasons

    explained = {(s, t) for sources, targets, _ in edge_reasons() for s in sources for t in targets}
    table = {(s, t) for s, targets in TRANSITIONS.items() for t in targets}
    assert explained == table
