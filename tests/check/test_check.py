"""`cobrowse check` against fixture pages that each break one prerequisite, and the demo site.

One check run covers most pages (a relay, a browser and an agent per run cost seconds); each
test then reads the report of its page.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn

from cobrowse_check.model import CheckRun, PageReport
from cobrowse_check.options import CheckOptions
from cobrowse_check.output import text_report
from cobrowse_check.runner import run_check
from cobrowse_cli.cli import main
from relay.app import RelayServer
from relay.settings import demo_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

PAGES = [
    "clean.html",
    "untagged.html",
    "subframe-tag.html",
    "frameset.html",
    "same-origin-iframe.html",
    "hidden.html",
    "cssom.html",
    "large.html",
    "animation.html",
    "builtins.html",
    "plugins.html",
    "blob.html",
    "boxes.html",
    "half-blank.html",
    "blank.html",
    "auth.html",
    "redirect.html",
    "slow.html",
]


T = TypeVar("T")


def _on_thread(call: Callable[[], T]) -> T:
    """``call()`` on a thread of its own: the check runs its own event loop, and
    pytest-playwright keeps one running on the test's thread once a browser test ran before
    this module in the same process."""
    done: list[T] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(call())
        except BaseException as error:  # re-raised on the test's thread
            failed.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return done[0]


def _run(options: CheckOptions) -> CheckRun:
    return _on_thread(lambda: asyncio.run(run_check(options)))


def _main(argv: list[str]) -> int:
    return _on_thread(lambda: main(argv))


@pytest.fixture(scope="module")
def reports(site: str, tls_site: str) -> dict[str, PageReport]:
    closed = f"http://127.0.0.1:{_free_port()}/"  # nothing listens there
    urls = [f"{site}/{page}" for page in PAGES] + [f"{tls_site}/clean.html", closed]
    run = _run(CheckOptions(urls=tuple(urls), timeout=4, idle_seconds=1.5))
    assert len(run.reports) == len(urls)
    named = dict(zip([*PAGES, "tls", "unreachable"], run.reports, strict=True))
    print(text_report(run))  # shown when a test fails
    return named


def statuses(report: PageReport) -> dict[str, str]:
    return {f.key: f.status for f in report.findings}


def culprits(report: PageReport, key: str) -> str:
    return " ".join(report.finding(key).culprits)


def test_a_page_that_breaks_nothing_passes_every_prerequisite(
    reports: dict[str, PageReport],
) -> None:
    report = reports["clean.html"]
    assert report.error is None
    assert report.tag == "carried"
    assert set(statuses(report).values()) == {"pass"}, statuses(report)
    assert report.status == "pass"
    assert report.not_seen == [] and report.handled == []
    figures = report.figures
    assert figures.dom_bytes > 0 and figures.dom_nodes > 0 and figures.snapshot_bytes > 0
    assert figures.agent_view_ms is not None
    assert figures.idle_batches_per_s == 0
    # The tag's own UI is not in the visitor's screenshot (issue 16: it capped every score near
    # 0.989): a faithful replica of a plain page scores 0.995 or more.
    assert report.fidelity is not None and 0.995 <= report.fidelity.score <= 1, report.fidelity
    assert report.fidelity.blank == 0
    assert [(m.element, m.reason) for m in report.masking.masked] == [("input#pw", "password")]
    assert report.masking.canary_fields == 1 and report.masking.canary_leaks == []


def test_an_untagged_page_gets_the_tag_injected_and_says_so(
    reports: dict[str, PageReport],
) -> None:
    report = reports["untagged.html"]
    assert report.tag == "injected"
    assert report.finding("tag_topmost").status == "warning"
    assert "injected" in report.finding("tag_topmost").detail
    assert report.figures.snapshot_bytes > 0  # the session ran with the injected tag


def test_a_tag_only_in_a_frame_fails_the_topmost_frame_prerequisite(
    reports: dict[str, PageReport],
) -> None:
    report = reports["subframe-tag.html"]
    assert report.finding("tag_topmost").status == "fail"
    assert "tagged-frame.html" in culprits(report, "tag_topmost")
    assert report.status == "fail"


def test_a_frameset_is_laid_out_as_the_visitor_sees_it(reports: dict[str, PageReport]) -> None:
    # It failed as "not mirrored" (the reference forbids framesets), and before that scored
    # 0.98 with a blank replica (issue 16). Now the agent sees its frames where the visitor
    # does: this origin's mirrored, another origin's a box.
    report = reports["frameset.html"]
    assert report.finding("framesets").status == "handled"
    assert "frameset" in culprits(report, "framesets")
    assert report.finding("iframes").status == "warning"
    (partner,) = report.finding("iframes").culprits
    assert partner.startswith('frame[name="partner"] src=http://localhost:')
    assert report.finding("frame_boxes").status == "pass", report.finding("frame_boxes")
    assert report.finding("replica_content").status == "pass"
    assert report.fidelity is not None and report.fidelity.score >= 0.98, report.fidelity
    assert report.not_seen == [f"cross-origin iframe {partner}"]


def test_a_same_origin_iframe_is_handled(reports: dict[str, PageReport]) -> None:
    report = reports["same-origin-iframe.html"]
    assert report.finding("iframes").status == "handled"
    assert "iframe#help" in culprits(report, "iframes")
    assert any("iframe#help" in h for h in report.handled)
    # Its content is mirrored, but drawn without the frame's border (issue 16): a finding.
    assert report.finding("frame_boxes").culprits == [
        "iframe#help: its content drawn without its box (the visitor sees a 2px border around it)"
    ]
    assert report.finding("replica_content").status == "pass"


def test_what_the_agent_cannot_see_is_listed(reports: dict[str, PageReport]) -> None:
    report = reports["hidden.html"]
    assert report.finding("iframes").status == "warning"
    assert "iframe#widget" in culprits(report, "iframes")
    seen = " | ".join(report.not_seen)
    assert "cross-origin iframe iframe#widget" in seen
    assert "canvas canvas#chart" in seen
    # The agent sees the host of a closed root the tag announced marked; one attached before
    # the tag loaded is not even marked, and the report says so.
    assert "closed shadow root of x-late#late" in report.not_seen
    assert (
        "closed shadow root of div#card-host (attached before the tag loaded: "
        "the agent sees no mark)" in report.not_seen
    )


def test_an_image_the_page_made_that_the_tag_could_not_capture_is_named(
    reports: dict[str, PageReport],
) -> None:
    report = reports["blob.html"]
    finding = report.finding("blob_images")
    # The small image reached the agent as its pixels; the one over the tag's bound did not.
    assert finding.status == "warning" and finding.culprits == ["img#huge"], finding
    assert "image img#huge (made by the page, not captured)" in report.not_seen
    assert not any("img#drawn" in line for line in report.not_seen)
    assert reports["clean.html"].finding("blob_images").status == "pass"


def test_a_blank_replica_fails_whatever_its_pixel_score(reports: dict[str, PageReport]) -> None:
    # The whole page is in a closed shadow root the tag never learns of: the agent's replica is
    # blank, where the pixel mean alone scored a mostly white page 0.98 and said nothing
    # (issue 16).
    report = reports["blank.html"]
    assert report.fidelity is not None and report.fidelity.blank >= 0.9
    assert report.fidelity.score < 0.1
    finding = report.finding("replica_content")
    assert finding.status == "fail"
    assert "blank" in finding.detail
    assert "blank area" in culprits(report, "replica_content")
    # ... and the list of what the agent will not see no longer says "nothing".
    seen = " | ".join(report.not_seen)
    assert "blank for the agent" in seen
    assert reports["clean.html"].finding("replica_content").status == "pass"


def test_a_half_blank_replica_is_reported_as_such(reports: dict[str, PageReport]) -> None:
    # The lower half of the page is in a closed shadow root the tag never learns of.
    report = reports["half-blank.html"]
    assert report.fidelity is not None and 0.3 <= report.fidelity.blank <= 0.7, report.fidelity
    finding = report.finding("replica_content")
    assert finding.status == "warning"
    assert "are blank for the agent" in finding.detail
    assert report.fidelity.blank_area is not None and "y 400-800" in report.fidelity.blank_area


def test_frames_canvases_and_plugins_the_agent_sees_in_the_wrong_box_are_named(
    reports: dict[str, PageReport],
) -> None:
    report = reports["boxes.html"]
    frames = report.finding("frame_boxes")
    assert frames.status == "warning"
    assert any(c.startswith("iframe#sized: 562x262 for the visitor") for c in frames.culprits)
    canvas = report.finding("canvas_boxes")
    assert canvas.status == "warning"
    assert canvas.culprits == ["canvas#sky: 480x160 for the visitor, no box for the agent"]
    plugins = report.finding("plugin_boxes")
    assert plugins.status == "warning"
    text = culprits(report, "plugin_boxes")
    assert "embed#terms and object#fallback: placeholders stacked" in text
    assert "embed#chime: a " in text and "placeholder where the visitor sees nothing" in text
    # Negative controls: a cross-origin frame's box, side-by-side plugin objects and a canvas
    # sized by its attributes (the replica sizes it as the visitor's browser does; it had no
    # box before, issue 15) are no finding.
    for page in ("clean.html", "hidden.html", "plugins.html"):
        found = statuses(reports[page])
        assert found["frame_boxes"] == found["plugin_boxes"] == "pass", (page, found)
        assert found["canvas_boxes"] == "pass", (page, found)


def test_cssom_styles_are_reported_as_handled(reports: dict[str, PageReport]) -> None:
    report = reports["cssom.html"]
    assert report.finding("cssom").status == "handled"
    assert "style#styled" in culprits(report, "cssom")
    assert report.status == "pass"


def test_a_dom_over_2_mb_is_handled(reports: dict[str, PageReport]) -> None:
    report = reports["large.html"]
    assert report.error is None
    assert report.figures.dom_bytes > 2 * 1024 * 1024
    assert report.finding("dom_size").status == "handled"
    assert statuses(reports["clean.html"])["dom_size"] == "pass"


def test_background_animation_is_a_warning_naming_the_element(
    reports: dict[str, PageReport],
) -> None:
    report = reports["animation.html"]
    assert report.figures.idle_batches_per_s > 0
    assert report.figures.idle_bytes_per_s > 0
    assert report.finding("background_animation").status == "warning"
    assert "p#ticker" in culprits(report, "background_animation")


def test_overwritten_built_ins_are_named(reports: dict[str, PageReport]) -> None:
    report = reports["builtins.html"]
    assert report.finding("builtins").status == "warning"
    assert report.finding("builtins").culprits == ["window.addEventListener"]
    assert statuses(reports["clean.html"])["builtins"] == "pass"


def test_flash_and_pdf_objects_are_named(reports: dict[str, PageReport]) -> None:
    report = reports["plugins.html"]
    assert report.finding("plugins").status == "warning"
    text = culprits(report, "plugins")
    assert "object#movie" in text and "(Flash)" in text
    assert "embed#terms" in text and "(PDF)" in text
    assert "plugin object" in report.finding("plugins").detail
    assert any(
        item.startswith("plugin object embed#terms") and item.endswith("(PDF)")
        for item in report.not_seen
    )


def test_a_resource_bound_to_cookies_fails(reports: dict[str, PageReport]) -> None:
    report = reports["auth.html"]
    assert report.finding("resources").status == "fail"
    assert "/private/avatar.svg" in culprits(report, "resources")
    assert "403" in culprits(report, "resources")
    assert statuses(reports["clean.html"])["resources"] == "pass"


def test_bad_input_gives_one_clear_line(reports: dict[str, PageReport]) -> None:
    assert reports["redirect.html"].error is not None
    assert reports["redirect.html"].error.startswith("redirected to another origin")
    assert reports["slow.html"].error == "the page did not finish loading within 4 s"
    assert reports["unreachable"].error is not None
    assert reports["unreachable"].error.startswith("unreachable")
    tls = reports["tls"].error
    assert tls is not None and tls.startswith("TLS error") and "ERR_CERT" in tls
    for key in ("redirect.html", "slow.html", "unreachable", "tls"):
        assert reports[key].status == "fail"
        assert "Traceback" not in (reports[key].error or "")


def test_masking_lists_every_masked_element_and_the_configuration_problems(site: str) -> None:
    run = _run(
        CheckOptions(
            urls=(f"{site}/masking.html",),
            mask_selectors=(".secret", "#gone"),
            idle_seconds=1,
        )
    )
    report = run.reports[0]
    masked = {m.element: (m.reason, m.detail) for m in report.masking.masked}
    assert masked["input#password"] == ("password", "type=password")
    assert masked["input#card"][0] == "attribute"
    assert masked['input#account[name="acct"]'] == ("selector", "selector .secret")
    assert masked["input#otp"] == ("autocomplete", "autocomplete=one-time-code")
    assert masked["p#balance"][0] == "attribute"
    assert "div.secret" in masked
    assert 'input#city[name="city"]' not in masked
    # A canary typed into each masked field never reached the relay.
    assert report.masking.canary_fields == 4
    assert report.masking.canary_leaks == []
    # Looks sensitive, is not masked.
    assert [u["element"] for u in report.masking.unmasked_sensitive] == ['input#ssn[name="ssn"]']
    assert report.finding("masking").status == "warning"
    # A configured selector that matches nothing.
    assert report.masking.unmatched_selectors == ["#gone"]
    assert report.finding("mask_selectors").status == "warning"
    assert "#gone" in culprits(report, "mask_selectors")


def test_crawl_follows_same_origin_links_only(site: str) -> None:
    run = _run(CheckOptions(urls=(f"{site}/clean.html",), crawl=3, idle_seconds=0.5))
    urls = [r.url for r in run.reports]
    assert urls == [f"{site}/clean.html", f"{site}/second.html"]


# ---------------------------------------------------------------- the command and the demo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    """The product's demo site, served by a RelayServer with the demo settings."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(RelayServer(demo_settings()).app, port=port, log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the demo relay did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/demo/"
    server.should_exit = True
    thread.join(10)


def test_the_demo_site_passes_cleanly(
    demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = _main(["check", demo_url, "--crawl", "5", "--idle", "1", "--json", "--out", str(out)])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    pages = {p["url"].rsplit("/", 1)[-1]: p for p in data["pages"]}
    # /demo/ and /demo/index.html are two URLs of one page: crawling reaches both.
    assert set(pages) == {"", "index.html", "product.html", "checkout.html"}, list(pages)
    for page in data["pages"]:
        bad = [f for f in page["findings"] if f["status"] in ("warning", "fail")]
        assert page["status"] == "pass", (page["url"], page["error"], bad)
    assert code == 0
    assert "[1/" in captured.err  # progress on stderr
    checkout = pages["checkout.html"]["masking"]
    assert {m["element"]: m["reason"] for m in checkout["masked"]} == {
        "input#card": "attribute",
        "input#password": "password",
    }
    index = (out / "index.html").read_text()
    assert index.count("<tr>") == 5  # header and four pages
    assert any(out.glob("*-diff.png")) and any(out.glob("*-agent.png"))


def test_the_command_exits_non_zero_and_escapes_the_html_report(
    site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = _main(
        ["check", f"{site}/clean.html", "http://127.0.0.1:1/", "--idle", "0.5", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.out + captured.err
    assert "unreachable" in captured.out
    page = next(p for p in out.glob("001-*.html"))
    text = page.read_text()
    assert "Clean &amp;amp; &lt;tagged&gt; page" not in text  # escaped once, not twice
    assert "Clean &amp; &lt;tagged&gt; page" in text
    assert "<tagged>" not in text


def test_a_command_line_mistake_is_exit_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _main(["check", "http://example.invalid/", "--crawl", "-1"]) == 2
    assert _main(["check", "http://example.invalid/", "--config", "/nonexistent.toml"]) == 2
    assert "Traceback" not in capsys.readouterr().err
