"""Declarative co-browse scenarios (YAML): load, validate, run.

Owns: the scenario file format (the `STEPS` table is its whole vocabulary), validation of a
whole file before anything runs (unknown steps, wrong arguments, CSS selectors a browser
rejects), and running the steps through `cobrowse_qa.driver` with a screenshot of both sides
after each one. Must not: write reports (`cobrowse_qa.report` does) or start browsers or a
relay during validation other than the one blank page that checks selectors.

A file holds one scenario (a mapping) or several (a list of mappings)::

    name: Shared mode on the product page
    pages: {/qa/animation.html: ../pages/animation.html}   # optional, relative to the file
    steps:
      - visitor.open: /demo/product.html
      - visitor.chat: Hello
      - agent.invite: shared
      - visitor.accept
      - agent.type: {selector: "#notes", text: Window seat}
      - expect.visitor: {selector: "#notes", value: Window seat}

Each step is a bare name or a one-key mapping ``name: argument``; a scalar argument fills the
step's first field. See ``docs/testing.md`` ("QA harness") for every step.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Browser, Locator, expect
from playwright.sync_api import Error as PlaywrightError

from cobrowse_qa.driver import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    MODES,
    Agent,
    CobrowseSession,
    Visitor,
    dom_differences,
    new_contexts,
)


class ScenarioError(Exception):
    """A scenario file is wrong (found before anything runs): the message names file and step."""


# Argument types: "str", "num", "bool", "int", "selector" (a CSS selector, checked in a
# browser before the run), "mode", "step" (a nested agent step, for expect.refused).
@dataclass(frozen=True)
class Spec:
    fields: dict[str, str]
    required: tuple[str, ...] = ()
    help: str = ""

    @property
    def primary(self) -> str | None:
        return next(iter(self.fields), None)


_SHOWS = {
    "selector": "selector",
    "text": "str",
    "value": "str",
    "checked": "bool",
    "count": "int",
    "visible": "bool",
    "timeout": "num",
}

STEPS: dict[str, Spec] = {
    "visitor.open": Spec({"url": "str"}, ("url",), "open a URL (relative to the relay)"),
    "visitor.navigate": Spec({"url": "str"}, ("url",), "go to another page in the same tab"),
    "visitor.chat": Spec({"text": "str"}, ("text",), "write in the chat widget"),
    "visitor.accept": Spec({}, (), "accept the invite; waits for the session to be active"),
    "visitor.decline": Spec({}, (), "decline the invite"),
    "visitor.click": Spec({"selector": "selector"}, ("selector",)),
    "visitor.type": Spec({"selector": "selector", "text": "str"}, ("selector", "text")),
    "visitor.scroll": Spec({"y": "num", "x": "num"}, ("y",), "scroll the window to x, y"),
    "visitor.select_text": Spec({"selector": "selector"}, ("selector",)),
    "visitor.end": Spec({}, (), "end with the X on the frame"),
    "visitor.offline": Spec({"seconds": "num"}, (), "network off (back on after seconds)"),
    "visitor.online": Spec({}, (), "network back on"),
    "agent.invite": Spec({"mode": "mode"}, ("mode",), "open the visitor's chat and invite"),
    "agent.click": Spec({"selector": "selector"}, ("selector",), "click in the replica"),
    "agent.ctrl_click": Spec({"selector": "selector"}, ("selector",), "highlight only"),
    "agent.highlight": Spec({"selector": "selector"}, ("selector",), "same as ctrl_click"),
    "agent.type": Spec({"selector": "selector", "text": "str"}, ("selector", "text")),
    "agent.scroll": Spec({"y": "num", "x": "num"}, ("y",), "mouse wheel over the replica"),
    "agent.select_text": Spec({"selector": "selector"}, ("selector",)),
    "agent.navigate": Spec({"url": "str"}, ("url",), "address bar (shared mode)"),
    "agent.chat": Spec({"text": "str"}, ("text",)),
    "agent.end": Spec({}, (), "end the session from the workspace"),
    "wait": Spec({"seconds": "num"}, ("seconds",)),
    "expect.in_sync": Spec({"timeout": "num", "repeat": "int"}, (), "replica matches the page"),
    "expect.replica": Spec(_SHOWS, ("selector",), "what the replica shows"),
    "expect.visitor": Spec(_SHOWS, ("selector",), "what the visitor's page shows"),
    "expect.masked": Spec({"selector": "selector"}, ("selector",), "masked on the agent side"),
    "expect.wire_clean": Spec({"text": "str"}, ("text",), "no visitor frame carried this text"),
    "expect.refused": Spec({"action": "step"}, ("action",), "an agent action changes nothing"),
    "expect.visual_match": Spec({"min": "num"}, ("min",), "fidelity score at least min"),
    "expect.visitor_sees": Spec({"testid": "str"}, ("testid",), "the tag's UI shows it"),
    "expect.agent_sees": Spec({"testid": "str"}, ("testid",), "the workspace shows it"),
    "expect.session": Spec({"status": "str"}, ("status",), "agent's status: active, ended..."),
    "expect.invite": Spec({"state": "str"}, ("state",), "agent's invite state: declined..."),
}


@dataclass
class Step:
    name: str
    args: dict[str, Any]
    index: int

    @property
    def label(self) -> str:
        shown = " ".join(f"{k}={v!r}" for k, v in self.args.items() if k != "action")
        if "action" in self.args:
            inner: Step = self.args["action"]
            shown = inner.label
        return f"{self.name} {shown}".strip()


@dataclass
class Scenario:
    name: str
    file: Path
    steps: list[Step]
    pages: dict[str, Path] = field(default_factory=dict)
    login: str = DEMO_LOGIN
    password_env: str | None = None


def load(path: str | Path) -> list[Scenario]:
    """Parse and validate a file (not its selectors: see `check_selectors`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from None
    items = data if isinstance(data, list) else [data]
    return [_scenario(path, item, n) for n, item in enumerate(items, 1)]


def _scenario(path: Path, item: Any, n: int) -> Scenario:
    where = f"{path}: scenario {n}"
    if not isinstance(item, dict):
        raise ScenarioError(f"{where}: expected a mapping with 'name' and 'steps'")
    unknown = set(item) - {"name", "description", "steps", "pages", "agent"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: 'name' must be a non-empty string")
    where = f"{path}: scenario {name!r}"
    raw_steps = item.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(f"{where}: 'steps' must be a non-empty list")
    steps = [_step(where, raw, i) for i, raw in enumerate(raw_steps, 1)]
    pages: dict[str, Path] = {}
    for url, file in (item.get("pages") or {}).items():
        page = (path.parent / str(file)).resolve()
        if not str(url).startswith("/") or not page.is_file():
            raise ScenarioError(f"{where}: pages: {url!r} must start with / and {file!r} exist")
        pages[str(url)] = page
    agent = item.get("agent") or {}
    if not isinstance(agent, dict) or set(agent) - {"login", "password_env"}:
        raise ScenarioError(f"{where}: 'agent' may only have 'login' and 'password_env'")
    return Scenario(
        name, path, steps, pages, str(agent.get("login", DEMO_LOGIN)), agent.get("password_env")
    )


def _step(where: str, raw: Any, index: int) -> Step:
    if isinstance(raw, str):
        name, value = raw, None
    elif isinstance(raw, dict) and len(raw) == 1:
        ((name, value),) = raw.items()
    else:
        raise ScenarioError(f"{where}: step {index}: expected a step name or 'name: argument'")
    where = f"{where}: step {index} ({name})"
    spec = STEPS.get(str(name))
    if spec is None:
        known = ", ".join(sorted(STEPS))
        raise ScenarioError(f"{where}: unknown step {name!r}; known steps: {known}")
    if value is None:
        args: dict[str, Any] = {}
    elif isinstance(value, dict) and spec.primary not in ("action",):
        args = {str(k): v for k, v in value.items()}
    elif spec.primary is not None:
        args = {spec.primary: value}
    else:
        raise ScenarioError(f"{where}: takes no argument")
    for key, arg in list(args.items()):
        kind = spec.fields.get(key)
        if kind is None:
            raise ScenarioError(f"{where}: unknown field {key!r}; fields: {', '.join(spec.fields)}")
        args[key] = _check(where, key, kind, arg, index)
    missing = [k for k in spec.required if k not in args]
    if missing:
        raise ScenarioError(f"{where}: missing {', '.join(missing)}")
    return Step(str(name), args, index)


def _check(where: str, key: str, kind: str, value: Any, index: int) -> Any:
    ok = {
        "str": isinstance(value, (str, int, float)) and not isinstance(value, bool),
        "selector": isinstance(value, str) and value.strip() != "",
        "num": isinstance(value, (int, float)) and not isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "mode": value in MODES,
        "step": True,
    }[kind]
    if not ok:
        wanted = {"mode": " or ".join(MODES), "selector": "a CSS selector"}.get(kind, kind)
        raise ScenarioError(f"{where}: {key} must be {wanted}, not {value!r}")
    if kind == "str":
        return str(value)
    if kind == "step":
        inner = _step(where, value, index)
        if not inner.name.startswith("agent.") or inner.name in ("agent.invite", "agent.chat"):
            raise ScenarioError(f"{where}: action must be an agent action, not {inner.name!r}")
        return inner
    return value


def selectors(scenarios: Iterable[Scenario]) -> list[tuple[str, str]]:
    """Every (where, selector) the scenarios use."""
    found: list[tuple[str, str]] = []

    def visit(scenario: Scenario, step: Step) -> None:
        spec = STEPS[step.name]
        for key, value in step.args.items():
            if spec.fields[key] == "selector":
                where = f"{scenario.file}: scenario {scenario.name!r}: step {step.index}"
                found.append((f"{where} ({step.name})", value))
            elif isinstance(value, Step):
                visit(scenario, value)

    for scenario in scenarios:
        for step in scenario.steps:
            visit(scenario, step)
    return found


def check_selectors(browser: Browser, scenarios: Iterable[Scenario]) -> None:
    """Raise `ScenarioError` for the first selector `querySelector` rejects, in a blank page."""
    found = selectors(scenarios)
    if not found:
        return
    page = browser.new_page()
    try:
        bad: list[str | None] = page.evaluate(
            """(list) => list.map((s) => {
                 try { document.querySelector(s); return null; }
                 catch (e) { return String(e.message); }
               })""",
            [s for _, s in found],
        )
    finally:
        page.close()
    for (where, selector), error in zip(found, bad, strict=True):
        if error is not None:
            raise ScenarioError(f"{where}: bad selector {selector!r}: {error}")


# ---------------------------------------------------------------- running


@dataclass
class StepResult:
    index: int
    label: str
    status: str  # "passed", "failed", "skipped"
    seconds: float = 0.0
    error: str = ""
    shots: dict[str, Path] = field(default_factory=dict)  # "visitor"/"agent" -> image


@dataclass
class ScenarioResult:
    scenario: Scenario
    steps: list[StepResult]
    seconds: float = 0.0

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)


class _Run:
    """One scenario's visitor, agent and session state while its steps run."""

    def __init__(self, browser: Browser, relay_url: str, scenario: Scenario) -> None:
        self.scenario = scenario
        visitor_context, agent_context = new_contexts(browser)
        self.contexts = (visitor_context, agent_context)
        self.visitor = Visitor(visitor_context, relay_url)
        self.agent = Agent(agent_context, relay_url)
        self.agent.visitor = self.visitor  # selectors found on the visitor's page, by node id
        for url, file in scenario.pages.items():
            self.visitor.serve(url, file)
        self.chat_text: str | None = None
        self.opened = False
        self.mode = "shared"

    @property
    def session(self) -> CobrowseSession:
        return CobrowseSession(self.visitor, self.agent, self.mode)

    def close(self) -> None:
        """End what the scenario left open (the relay allows an agent one pending invite and
        one active session: a leftover would refuse the next scenario's invite)."""
        self.agent.end_what_is_open()
        for context in self.contexts:
            context.close()

    def sign_in(self) -> None:
        variable = self.scenario.password_env
        self.agent.sign_in(self.scenario.login, os.environ[variable] if variable else DEMO_PASSWORD)

    def do(self, step: Step) -> None:
        a = step.args
        v, ag = self.visitor, self.agent
        actions: dict[str, Callable[[], None]] = {
            "visitor.open": lambda: v.open(a["url"]),
            "visitor.navigate": lambda: v.open(a["url"]),
            "visitor.chat": lambda: self._chat(a["text"]),
            "visitor.accept": self._accept,
            "visitor.decline": v.decline,
            "visitor.click": lambda: v.locator(a["selector"]).click(),
            "visitor.type": lambda: v.locator(a["selector"]).fill(a["text"]),
            "visitor.scroll": lambda: v.page.evaluate(
                "([x, y]) => window.scrollTo(x, y)", [a.get("x", 0), a["y"]]
            ),
            "visitor.select_text": lambda: v.select_text(a["selector"]),
            "visitor.end": v.end,
            "visitor.offline": lambda: self._offline(a.get("seconds")),
            "visitor.online": lambda: v.offline(False),
            "agent.invite": lambda: self._invite(a["mode"]),
            "agent.click": lambda: ag.click(a["selector"]),
            "agent.ctrl_click": lambda: ag.click(a["selector"], ctrl=True),
            "agent.highlight": lambda: ag.click(a["selector"], ctrl=True),
            "agent.type": lambda: ag.type(a["selector"], a["text"]),
            "agent.scroll": lambda: ag.scroll(a["y"], a.get("x", 0)),
            "agent.select_text": lambda: ag.select_text(a["selector"]),
            "agent.navigate": lambda: ag.navigate(v.url(a["url"])),
            "agent.chat": lambda: ag.chat(a["text"]),
            "agent.end": ag.end,
            "wait": lambda: time.sleep(float(a["seconds"])),
            "expect.in_sync": lambda: self._in_sync(a.get("timeout", 10), a.get("repeat", 1)),
            "expect.replica": lambda: _shows(
                ag.locate_all(a["selector"], float(a.get("timeout", 10))), a
            ),
            "expect.visitor": lambda: _shows(v.page.locator(a["selector"]), a),
            "expect.masked": lambda: self._masked(a["selector"]),
            "expect.wire_clean": lambda: self._wire_clean(a["text"]),
            "expect.refused": lambda: self._refused(a["action"]),
            "expect.visual_match": lambda: self._visual(float(a["min"])),
            "expect.visitor_sees": lambda: v.ui.wait_visible(a["testid"]),
            "expect.agent_sees": lambda: expect(
                ag.page.get_by_test_id(a["testid"]).first
            ).to_be_visible(),
            "expect.session": lambda: ag.wait_status(a["status"]),
            "expect.invite": lambda: expect(
                ag.page.get_by_test_id("invite-status")
            ).to_have_attribute("data-state", a["state"]),
        }
        actions[step.name]()

    def _chat(self, text: str) -> None:
        self.visitor.chat(text)
        if self.chat_text is None:
            self.chat_text = text

    def _invite(self, mode: str) -> None:
        if not self.opened:
            if self.chat_text is None:
                raise AssertionError("agent.invite needs a visitor.chat step before it")
            self.agent.open_conversation(self.visitor.conversation(self.chat_text))
            self.opened = True
        self.mode = mode
        self.agent.invite(mode)

    def _accept(self) -> None:
        self.visitor.accept()
        self.agent.wait_status("active")

    def _offline(self, seconds: float | None) -> None:
        self.visitor.offline(True)
        if seconds is not None:
            time.sleep(float(seconds))
            self.visitor.offline(False)

    def _in_sync(self, timeout: float, repeat: int) -> None:
        for _ in range(repeat):
            self.session.wait_in_sync(timeout)
            time.sleep(0.2)

    def _masked(self, selector: str) -> None:
        field_ = self.agent.locator(selector)
        expect(field_).to_have_attribute("data-cobrowse-replica-masked", _ANY)
        value = self.visitor.locator(selector).input_value()
        if value:
            expect(field_).not_to_have_value(value)

    def _wire_clean(self, text: str) -> None:
        time.sleep(0.3)  # let a batched frame go out before looking
        if not self.visitor.sent:
            raise AssertionError("the visitor's page sent no WebSocket frames")
        if any(text in frame for frame in self.visitor.sent):
            raise AssertionError(f"{text!r} left the visitor's browser")

    def _refused(self, action: Step) -> None:
        before_url, before = self.visitor.page.url, self.visitor.dom()
        # The workspace may refuse before anything is sent (a masked field is not editable):
        # the action then fails fast, and that is a refusal too.
        self.agent.context.set_default_timeout(2_000)
        try:
            self.do(action)
        except PlaywrightError:
            pass
        finally:
            self.agent.context.set_default_timeout(10_000)
        time.sleep(0.8)
        after_url, after = self.visitor.page.url, self.visitor.dom()
        if after_url != before_url:
            raise AssertionError(f"{action.label} navigated the visitor to {after_url}")
        changes = dom_differences(before, after)
        if changes:
            raise AssertionError(
                f"{action.label} changed the visitor's page:\n" + "\n".join(changes)
            )

    def _visual(self, minimum: float) -> None:
        self.session.wait_in_sync(10)
        fidelity = self.session.fidelity()
        if fidelity.score < minimum:
            raise AssertionError(f"visual match {fidelity} is below {minimum}")


_ANY = re.compile(".*")


def _shows(all_: Locator, args: Mapping[str, Any]) -> None:
    """Expectations on what one side shows; `all_` matches every element of the selector."""
    timeout = float(args.get("timeout", 10)) * 1000
    locator = all_.first
    if "count" in args:
        expect(all_).to_have_count(int(args["count"]), timeout=timeout)
    if "text" in args:
        expect(locator).to_contain_text(args["text"], timeout=timeout)
    if "value" in args:
        expect(locator).to_have_value(args["value"], timeout=timeout)
    if "checked" in args:
        expect(locator).to_be_checked(checked=bool(args["checked"]), timeout=timeout)
    if args.get("visible") is True:
        expect(locator).to_be_visible(timeout=timeout)
    elif args.get("visible") is False:
        expect(locator).to_be_hidden(timeout=timeout)
    if not set(args) - {"selector", "timeout"}:
        expect(locator).to_be_attached(timeout=timeout)


Progress = Callable[[str], None]


def run(
    browser: Browser,
    relay_url: str,
    scenarios: list[Scenario],
    out_dir: Path,
    progress: Progress = print,
    screenshots: bool = True,
) -> list[ScenarioResult]:
    """Run validated scenarios; one fresh visitor and agent each; stop a scenario at its
    first failing step (the rest are skipped) and go on with the next."""
    results = []
    for number, scenario in enumerate(scenarios, 1):
        progress(f"scenario {number}/{len(scenarios)}: {scenario.name} ({scenario.file})")
        shot_dir = out_dir / f"{number:02d}-{_slug(scenario.name)}"
        shot_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        steps: list[StepResult] = []
        run_ = _Run(browser, relay_url, scenario)
        try:
            failed = False
            try:
                run_.sign_in()
            except Exception as error:
                failed = True
                steps.append(StepResult(0, "agent signs in", "failed", 0.0, _message(error)))
                progress(f"  FAILED agent sign-in: {_message(error)}")
            for step in scenario.steps:
                if failed:
                    steps.append(StepResult(step.index, step.label, "skipped"))
                    continue
                t0 = time.monotonic()
                result = StepResult(step.index, step.label, "passed")
                try:
                    run_.do(step)
                except Exception as error:
                    result.status, result.error, failed = "failed", _message(error), True
                result.seconds = time.monotonic() - t0
                if screenshots or failed:
                    result.shots = _shots(run_, shot_dir, step.index)
                steps.append(result)
                total = len(scenario.steps)
                mark = "ok" if result.status == "passed" else "FAILED"
                progress(
                    f"  [{step.index}/{total}] {step.label} ... {mark} ({result.seconds:.1f} s)"
                )
                if result.error:
                    progress("    " + result.error.replace("\n", "\n    "))
        finally:
            run_.close()
        results.append(ScenarioResult(scenario, steps, time.monotonic() - started))
    return results


def _shots(run_: _Run, shot_dir: Path, index: int) -> dict[str, Path]:
    shots: dict[str, Path] = {}
    for side, page in (("visitor", run_.visitor.page), ("agent", run_.agent.page)):
        path = shot_dir / f"step-{index:02d}-{side}.jpg"
        try:
            page.screenshot(path=str(path), type="jpeg", quality=55, timeout=5000)
            shots[side] = path
        except Exception:  # noqa: S112 - a page that cannot be shot must not hide the result
            continue
    return shots


def _message(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.split("\nCall log:")[0].strip()


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:50] or "scenario"
