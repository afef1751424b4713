"""What `cobrowse check` finds about one page: findings, figures, fidelity and masking.

Owns: the report's data types (one ``PageReport`` per page, a ``CheckRun`` for the whole run),
the overall status of a page, the JSON form, and how a size in bytes is written for people.
Must not: run browsers or format HTML (``cobrowse_check.session`` and ``cobrowse_check.output``
do).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from PIL import Image

Status = Literal["pass", "warning", "fail", "handled"]

# Order of severity when a page's overall status is worked out ("handled" counts as a pass).
_RANK: dict[str, int] = {"pass": 0, "handled": 0, "warning": 1, "fail": 2}


@dataclass
class Finding:
    """One prerequisite of the reference product, checked on this page."""

    key: str  # stable id for machines, e.g. "tag_topmost"
    title: str  # what the prerequisite asks for, in words
    status: Status
    detail: str  # why this status, in one sentence
    culprits: list[str] = field(default_factory=list)  # the elements or resources at fault


@dataclass
class Figures:
    dom_bytes: int = 0  # serialized HTML of the visitor's document (UTF-8)
    dom_nodes: int = 0
    snapshot_bytes: int = 0  # the tag's dom.snapshot on the wire
    longest_task_ms: float | None = None  # None: no task over 50 ms while the snapshot was cut
    agent_view_ms: float | None = None  # session start -> replica built with its images
    idle_seconds: float = 0.0
    idle_batches_per_s: float = 0.0  # dom.mutations messages per second while nobody acts
    idle_changes_per_s: float = 0.0  # adds + removes + attribute and text changes per second
    idle_bytes_per_s: float = 0.0  # everything the visitor's tag sent, per second, while idle


@dataclass
class FidelityResult:
    score: float  # the pixel score times the share of the visitor's content the replica shows
    changed: float
    blank: float = 0.0  # share of the visitor's content areas the replica leaves blank
    blank_area: str | None = None  # where, in the viewport's CSS pixels: "... x 0-640, y 400-800"
    visitor_png: str | None = None  # file names inside --out, when written
    agent_png: str | None = None
    diff_png: str | None = None

    def summary(self) -> str:
        """One line for people: "score 0.9971, 0.12% of pixels differ" (and what is blank)."""
        text = f"score {self.score:.4f}, {self.changed:.2%} of pixels differ"
        if self.blank > 0:
            text += f"; {self.blank:.0%} of the visitor's content areas are blank for the agent"
        return text


@dataclass
class MaskedElement:
    element: str
    reason: str  # password | attribute | selector | autocomplete (as on the wire)
    detail: str  # which attribute, selector or autocomplete token
    field: bool  # a form field (value masked) or a container (text masked)


@dataclass
class Masking:
    masked: list[MaskedElement] = field(default_factory=list)
    selectors: list[dict[str, Any]] = field(default_factory=list)  # {selector, valid, matches}
    unmatched_selectors: list[str] = field(default_factory=list)
    invalid_selectors: list[str] = field(default_factory=list)
    unmasked_sensitive: list[dict[str, str]] = field(default_factory=list)
    canary_fields: int = 0  # masked fields a canary was typed into
    canary_leaks: list[str] = field(default_factory=list)  # fields whose canary left the browser


@dataclass
class PageReport:
    url: str
    final_url: str = ""
    title: str = ""
    error: str | None = None  # the page could not be checked: one line, for people
    tag: str = ""  # "carried" | "injected" | "subframe"
    findings: list[Finding] = field(default_factory=list)
    not_seen: list[str] = field(default_factory=list)  # what the agent will not see
    handled: list[str] = field(default_factory=list)  # what we do that the reference cannot
    figures: Figures = field(default_factory=Figures)
    fidelity: FidelityResult | None = None
    masking: Masking = field(default_factory=Masking)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if self.error is not None:
            return "fail"
        worst = max((_RANK[f.status] for f in self.findings), default=0)
        return "fail" if worst == 2 else "warning" if worst == 1 else "pass"

    def finding(self, key: str) -> Finding:
        """The finding with this key (KeyError when the page has none)."""
        for item in self.findings:
            if item.key == key:
                return item
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        return data


@dataclass
class Images:
    """Screenshots of one page, kept for the HTML report."""

    visitor: Image.Image
    agent: Image.Image
    diff: Image.Image


@dataclass
class CheckRun:
    reports: list[PageReport] = field(default_factory=list)
    images: dict[int, Images] = field(default_factory=dict)  # report index -> screenshots


def size_text(size: float) -> str:
    """A size in bytes as people read it: "812 B", "3.4 kB", "2.1 MB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size:.0f} B"


def summary(reports: list[PageReport]) -> dict[str, int]:
    counts = {"pages": len(reports), "pass": 0, "warning": 0, "fail": 0}
    for report in reports:
        counts[report.status] += 1
    return counts
