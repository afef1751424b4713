"""Judging one checked page: a ``Finding`` per prerequisite, and what the agent will not see.

Owns: turning what a session saw (``Evidence``, and the figures and canary results already in
the ``PageReport``) into findings, one small function per prerequisite, listed in ``CHECKS`` in
the order the report shows them; and the one finding judged across all pages
(``judge_selectors``). Must not: run browsers or hold a threshold (``rules`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cobrowse_check import rules
from cobrowse_check.boxes import Box, BoxPair
from cobrowse_check.model import Finding, MaskedElement, Masking, PageReport, Status, size_text
from cobrowse_check.nodes import NodeIndex, closed_shadow_areas


@dataclass
class Evidence:
    """What one session saw that the report does not hold itself."""

    probe: dict[str, Any]  # probe.js's answer, with ``tag_frames`` and ``closed_shadow_roots``
    index: NodeIndex  # the visitor's page as the tag streamed it
    https: bool  # the page was served over https
    busiest: list[str] = field(default_factory=list)  # most changed elements while idle
    bound: list[str] = field(default_factory=list)  # resources refused to the agent's browser
    replayed: int = 0  # resources loaded again without cookies or credentials
    failed: list[tuple[str, str]] = field(default_factory=list)  # url, error text
    boxes: list[BoxPair] = field(default_factory=list)  # frames, canvases, plugin objects


def judge_page(report: PageReport, seen: Evidence) -> None:
    """Fill the report's figures from the probe, its masking, findings and the two lists."""
    probe = seen.probe
    report.figures.dom_bytes = int(probe["dom_bytes"])
    report.figures.dom_nodes = int(probe["dom_nodes"])
    _read_masking(report.masking, probe)
    report.findings.extend(check(report, seen) for check in CHECKS)
    large = _large(report)
    report.not_seen = (
        [f"cross-origin iframe {c}" for c in _iframes(probe, same_origin=False)]
        + [f"canvas {c}" for c in probe["canvases"]]
        + [f"plugin object {p}" for p in _plugins(probe)]
        + closed_shadow_areas(probe.get("closed_shadow_roots", []), seen.index)
        + [f"image {i} (made by the page, not captured)" for i in _blob_images(seen.index)]
        + _blank_content(report)
    )
    report.handled = (
        [f"CSSOM styles: {c}" for c in probe["cssom"]]
        + [f"same-origin iframe {s}" for s in _iframes(probe, same_origin=True)]
        + ([f"large DOM ({size_text(report.figures.dom_bytes)})"] if large else [])
        + [f"open shadow root of {h}" for h in probe["open_shadow_roots"]]
    )


def _read_masking(masking: Masking, probe: dict[str, Any]) -> None:
    masking.masked = [MaskedElement(**m) for m in probe["masked"]]
    masking.selectors = probe["selectors"]
    masking.invalid_selectors = [s["selector"] for s in probe["selectors"] if not s["valid"]]
    masking.unmatched_selectors = [
        s["selector"] for s in probe["selectors"] if s["valid"] and s["matches"] == 0
    ]
    masking.unmasked_sensitive = [
        {"element": u["element"], "hint": u["hint"], "label": u["label"]}
        for u in probe["unmasked_sensitive"]
    ]


# ---------------------------------------------------------------- one function per prerequisite


def tag_topmost(report: PageReport, seen: Evidence) -> Finding:
    title = "Tag in the topmost frame"
    if report.tag == "carried":
        return Finding("tag_topmost", title, "pass", "the page carries the tag in its top frame")
    if report.tag == "subframe":
        return Finding(
            "tag_topmost",
            title,
            "fail",
            "the tag runs in a frame, not in the top page (the checker injected "
            "it into the top page for this run)",
            list(seen.probe["tag_frames"]),
        )
    return Finding(
        "tag_topmost",
        title,
        "warning",
        "the page does not carry the tag: the checker injected it for this "
        "run; add it before going live",
    )


def framesets(report: PageReport, seen: Evidence) -> Finding:
    # The reference forbids them; the replica lays the frames out as the visitor sees them,
    # and their content is judged as iframes' is (``iframes``, ``frame_boxes``).
    return _handled_if(
        seen.probe["framesets"],
        "framesets",
        "No HTML framesets",
        "framesets are laid out as the visitor sees them: frames from this origin mirrored, "
        "others shown as a box",
    )


def iframes(report: PageReport, seen: Evidence) -> Finding:
    title = "iFrames from the same origin"
    same = _iframes(seen.probe, same_origin=True)
    cross = _iframes(seen.probe, same_origin=False)
    if cross:
        return Finding(
            "iframes",
            title,
            "warning",
            "cross-origin iframes and frames cannot be mirrored: the agent sees an empty box",
            cross,
        )
    if same:
        return Finding(
            "iframes", title, "handled", "same-origin iframes and frames are mirrored", same
        )
    return Finding("iframes", title, "pass", "no iframes")


def cssom(report: PageReport, seen: Evidence) -> Finding:
    return _handled_if(
        seen.probe["cssom"],
        "cssom",
        "No CSS Object Model (CSSOM) styles",
        "styles set through the CSSOM are captured (the reference forbids them)",
    )


def dom_size(report: PageReport, seen: Evidence) -> Finding:
    figures = report.figures
    large = _large(report)
    return Finding(
        "dom_size",
        "DOM under 2 MB",
        "handled" if large else "pass",
        f"{size_text(figures.dom_bytes)}, {figures.dom_nodes} nodes"
        + ("; streamed in slices (the reference needs 15 s or more)" if large else ""),
    )


def background_animation(report: PageReport, seen: Evidence) -> Finding:
    figures = report.figures
    rate = figures.idle_batches_per_s
    busy = rate > rules.IDLE_BATCHES_PER_S_WARNING
    return Finding(
        "background_animation",
        "Few background animations",
        "warning" if busy else "pass",
        f"{rate:g} change batches/s, {figures.idle_changes_per_s:g} changes/s, "
        f"{size_text(figures.idle_bytes_per_s)}/s while nobody acts",
        seen.busiest if rate > 0 else [],
    )


def builtins(report: PageReport, seen: Evidence) -> Finding:
    return _finding_if(
        seen.probe["overwritten"],
        "builtins",
        "No overwritten built-ins",
        "warning",
        "the page replaced built-in functions; the tag keeps pristine copies, other tools may not",
    )


def plugins(report: PageReport, seen: Evidence) -> Finding:
    return _finding_if(
        _plugins(seen.probe),
        "plugins",
        "No Flash, ActiveX or PDF objects",
        "warning",
        "embedded objects are not mirrored: the agent sees a box labelled 'plugin object' instead",
    )


def resources(report: PageReport, seen: Evidence) -> Finding:
    return _finding_if(
        seen.bound,
        "resources",
        "Resources not bound to cookies or HTTP auth",
        "fail",
        "the agent's browser loads these without the visitor's cookies "
        "or credentials, and is refused",
        passed=f"{seen.replayed} resource(s) (images, stylesheets, fonts, media) load "
        "again without cookies or credentials",
    )


def blob_images(report: PageReport, seen: Evidence) -> Finding:
    return _finding_if(
        _blob_images(seen.index),
        "blob_images",
        "Images the page made are captured",
        "warning",
        "images from blob: URLs the tag could not capture (not loaded, over 1024 x 1024 pixels "
        "or unreadable): the agent sees a marked box instead",
    )


def certificate(report: PageReport, seen: Evidence) -> Finding:
    title = "Certificate from a real authority"
    if not seen.https:
        return Finding("certificate", title, "pass", "served over http: no certificate to check")
    tls = [f"{u} ({e})" for u, e in seen.failed if "CERT" in e or "SSL" in e]
    return _finding_if(tls, "certificate", title, "fail", "resources with certificate errors")


def masking(report: PageReport, seen: Evidence) -> Finding:
    title = "Masked fields stay in the visitor's browser"
    found = report.masking
    if found.canary_leaks:
        return Finding(
            "masking",
            title,
            "fail",
            "a value typed into a masked field reached the relay",
            found.canary_leaks,
        )
    if found.invalid_selectors:
        return Finding(
            "masking",
            title,
            "fail",
            "configured mask selectors are not valid CSS: the tag skips them",
            found.invalid_selectors,
        )
    if found.unmasked_sensitive:
        culprits = [
            f"{u['element']} looks sensitive ({u['hint']}) but is not masked"
            for u in found.unmasked_sensitive
        ]
        return Finding(
            "masking",
            title,
            "warning",
            "fields that look sensitive are sent as typed: mask them",
            culprits,
        )
    return Finding(
        "masking",
        title,
        "pass",
        f"{len(found.masked)} masked, {found.canary_fields} checked on the wire",
    )


def replica_content(report: PageReport, seen: Evidence) -> Finding:
    title = "The agent sees the page's content"
    found = report.fidelity
    if found is None:
        return Finding("replica_content", title, "pass", "no screenshots to compare")
    status: Status = "pass"
    detail = f"visual fidelity {found.score:.4f}; every area with content shows content"
    if found.blank >= rules.BLANK_REPLICA_FAIL:
        status, detail = "fail", "the agent's replica is blank where the visitor sees content"
    elif found.blank >= rules.BLANK_REPLICA_WARNING:
        status = "warning"
        detail = (
            f"{found.blank:.0%} of the areas where the visitor sees content are blank for the agent"
        )
    area = [found.blank_area] if found.blank_area and status != "pass" else []
    return Finding("replica_content", title, status, detail, area)


def frame_boxes(report: PageReport, seen: Evidence) -> Finding:
    culprits = []
    for pair in _named(seen.boxes, "iframe") + _named(seen.boxes, "frame"):
        if pair.agent is None or pair.visitor.empty:
            continue
        if _differs(pair.visitor, pair.agent):
            drawn = "its content drawn" if pair.nested else f"a '{pair.placeholder}' box"
            culprits.append(
                f"{pair.label}: {pair.visitor.size_text()} for the visitor, {drawn} in "
                f"{pair.agent.size_text()} for the agent"
            )
        elif pair.nested and pair.visitor.border > 0 and pair.agent.border == 0:
            culprits.append(
                f"{pair.label}: its content drawn without its box (the visitor sees a "
                f"{pair.visitor.border:g}px border around it)"
            )
    return _finding_if(
        culprits,
        "frame_boxes",
        "Frames shown in their own box",
        "warning",
        "the agent sees these frames' content without the box the visitor sees around it, or "
        "in a box of another size (sized by CSS the frame's placeholder does not carry)",
    )


def canvas_boxes(report: PageReport, seen: Evidence) -> Finding:
    culprits = [
        f"{pair.label}: {pair.visitor.size_text()} for the visitor, "
        + (
            "no box for the agent"
            if pair.agent is None or pair.agent.empty
            else f"{pair.agent.size_text()} for the agent"
        )
        for pair in _named(seen.boxes, "canvas")
        if not pair.visitor.empty and (pair.agent is None or _differs(pair.visitor, pair.agent))
    ]
    return _finding_if(
        culprits,
        "canvas_boxes",
        "Canvas areas marked at their size",
        "warning",
        "the agent's placeholder for these canvases has no size or another size than the "
        "canvas: nothing tells the agent what the visitor sees there",
    )


def plugin_boxes(report: PageReport, seen: Evidence) -> Finding:
    # (label, the visitor's box, the agent's) of each plugin object the agent sees a box for.
    placed = [
        (p.label, p.visitor, p.agent)
        for p in seen.boxes
        if p.name in _PLUGIN_NAMES and p.agent is not None and not p.agent.empty
    ]
    culprits = [
        f"{label}: a {agent.size_text()} placeholder where the visitor sees "
        + ("nothing" if visitor.empty else visitor.size_text())
        for label, visitor, agent in placed
        if _differs(visitor, agent)
    ]
    for i, (label, _, agent) in enumerate(placed):
        culprits.extend(
            f"{label} and {other}: placeholders stacked on each other"
            for other, _, box in placed[i + 1 :]
            if agent.overlap(box) >= rules.STACKED_OVERLAP
        )
    return _finding_if(
        culprits,
        "plugin_boxes",
        "Plugin placeholders side by side, at their size",
        "warning",
        "the agent's placeholders for these plugin objects are stacked (the agent sees one "
        "box for several objects) or sized unlike what the visitor sees",
    )


# The report's order.
CHECKS: tuple[Callable[[PageReport, Evidence], Finding], ...] = (
    tag_topmost,
    framesets,
    iframes,
    cssom,
    dom_size,
    background_animation,
    builtins,
    plugins,
    resources,
    blob_images,
    certificate,
    masking,
    replica_content,
    frame_boxes,
    canvas_boxes,
    plugin_boxes,
)


# ---------------------------------------------------------------- across pages


def judge_selectors(reports: list[PageReport], selectors: tuple[str, ...]) -> None:
    """A configured selector that matches nothing on any checked page is reported on each.

    Per page it is normal (a brand's selectors cover all its pages); on no page at all it is
    how a redesign silently stops masking a field.
    """
    if not selectors:
        return
    checked = [r for r in reports if r.error is None and r.findings]
    matched = {
        s["selector"] for r in checked for s in r.masking.selectors if s["valid"] and s["matches"]
    }
    invalid = {s for r in checked for s in r.masking.invalid_selectors}
    never = [s for s in selectors if s not in matched and s not in invalid]
    for report in checked:
        if never:
            finding = Finding(
                "mask_selectors",
                "Configured mask selectors match",
                "warning",
                "these selectors match nothing on any checked page: a redesign may have "
                "left the fields they were for unmasked",
                [f"{s} matches nothing" for s in never],
            )
        else:
            finding = Finding(
                "mask_selectors",
                "Configured mask selectors match",
                "pass",
                f"every configured selector matches on at least one checked page "
                f"({len(selectors)} selectors)",
            )
        report.findings.append(finding)


# ---------------------------------------------------------------- helpers


def _iframes(probe: dict[str, Any], *, same_origin: bool) -> list[str]:
    return [f["element"] for f in probe["iframes"] if bool(f["same_origin"]) == same_origin]


def _blob_images(index: NodeIndex) -> list[str]:
    return sorted(index.unseen_images.values())


def _plugins(probe: dict[str, Any]) -> list[str]:
    return [f"{o['element']} ({o['kind']})" for o in probe["objects"]]


def _blank_content(report: PageReport) -> list[str]:
    """The replica's blank content, when it is blank enough to be a finding."""
    found = report.fidelity
    if found is None or found.blank < rules.BLANK_REPLICA_WARNING:
        return []
    where = f" ({found.blank_area})" if found.blank_area else ""
    return [f"{found.blank:.0%} of the visitor's content areas, blank for the agent{where}"]


_PLUGIN_NAMES = frozenset({"object", "embed", "applet"})


def _named(pairs: list[BoxPair], name: str) -> list[BoxPair]:
    return [p for p in pairs if p.name == name]


def _differs(visitor: Box, agent: Box) -> bool:
    """Whether the agent's box is of another size than the visitor's (``rules``' tolerance)."""

    def off(mine: float, theirs: float) -> bool:
        allowed = max(rules.BOX_TOLERANCE_PX, mine * rules.BOX_TOLERANCE_SHARE)
        return abs(mine - theirs) > allowed

    return off(visitor.w, agent.w) or off(visitor.h, agent.h)


def _large(report: PageReport) -> bool:
    return report.figures.dom_bytes > rules.DOM_LIMIT_BYTES


def _finding_if(
    culprits: list[str],
    key: str,
    title: str,
    status: Status,
    detail: str,
    passed: str = "none on this page",
) -> Finding:
    if culprits:
        return Finding(key, title, status, detail, list(culprits))
    return Finding(key, title, "pass", passed)


def _handled_if(culprits: list[str], key: str, title: str, detail: str) -> Finding:
    if culprits:
        return Finding(key, title, "handled", detail, list(culprits))
    return Finding(key, title, "pass", "none on this page")
