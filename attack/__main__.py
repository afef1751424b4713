"""``python -m attack [--quick] [--only NAME ...] [--write docs/security.md]``: every attack of
``attack.attacks`` against one relay on loopback, with the innocent pair measured meanwhile.

Owns: the run (one relay with its own defaults, the innocent pair in a shared session, each
attack in a child process while the pair is probed, the relay's peak memory per attack), the
verdicts (``judge``: each goal of issue 19 met or not, with the figure), and the report written
between markers in ``docs/security.md``. Must not: retry an attack, or tune a relay limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attack.attacks import ATTACKS, run_in_child
from attack.probe import InnocentPair
from attack.world import AttackedRelay, http_request

BEGIN = "<!-- attack-report:begin -->"
END = "<!-- attack-report:end -->"
MB = 1024 * 1024
RSS_GOAL_MB = 500
ROUND_TRIP_P99_GOAL_MS = 250.0


@dataclass
class Result:
    name: str
    outcome: dict[str, Any]
    innocent: dict[str, Any]
    relay_peak_mb: float
    relay_rss_after_mb: float
    seconds: float
    recovered_after_s: float | None  # the relay answering /healthz promptly again


async def _recovered(url: str, limit: float = 60.0) -> float | None:
    """Seconds until ``/healthz`` answers within 50 ms three times in a row after an attack
    (its backlog drained: the next attack starts on a quiet relay), or None past ``limit``."""
    started = time.monotonic()
    fast = 0
    while time.monotonic() - started < limit:
        asked = time.monotonic()
        try:
            await asyncio.to_thread(http_request, url, "GET", "/healthz", timeout=limit)
        except OSError:
            fast = 0
        else:
            fast = fast + 1 if time.monotonic() - asked < 0.05 else 0
            if fast == 3:
                return round(time.monotonic() - started, 1)
        await asyncio.sleep(0.1)
    return None


async def run(
    quick: bool,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
    keep_log: Path | None = None,
) -> list[Result]:
    names = [n for n in ATTACKS if not only or n in only]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="cobrowse-attack-") as workdir:
        relay = AttackedRelay(Path(workdir))
        relay.start()
        try:
            pair = await InnocentPair.start(relay.url)
            try:
                for block, name in enumerate(names, start=10):
                    relay.reset_peak()
                    started = time.monotonic()
                    attack = run_in_child(name, relay.url, str(relay.config_path), block, quick)
                    figures = await pair.measure(attack)
                    memory = relay.memory()
                    recovered = await _recovered(relay.url)
                    try:
                        outcome = attack.result()
                    except Exception as failed:  # the attack itself broke: reported, not hidden
                        outcome = {"failed": f"{type(failed).__name__}: {failed}"}
                    result = Result(
                        name,
                        outcome,
                        figures.summary(),
                        round(memory["peak"] / MB, 1),
                        round(memory["rss"] / MB, 1),
                        round(time.monotonic() - started, 1),
                        recovered,
                    )
                    results.append(result)
                    log(json.dumps(result.__dict__, default=str))
                    if figures.agent_closed is not None or figures.visitor_closed is not None:
                        log("the innocent pair lost a socket: the rest of the run is void")
                        break
            finally:
                await pair.close()
        finally:
            try:
                relay.stop()
            finally:
                if keep_log is not None:
                    keep_log.write_bytes(relay.log_path.read_bytes())
    return results


@dataclass(frozen=True)
class Verdict:
    what: str
    met: bool
    figure: str
    timed: bool = False  # a speed goal: judged on a quiet machine only, never in the tests


def judge(results: list[Result]) -> list[Verdict]:
    """Each goal of issue 19, met or not, with its figure."""
    verdicts: list[Verdict] = []
    by_name = {r.name: r for r in results if "failed" not in r.outcome}
    for failed in (r for r in results if "failed" in r.outcome):
        verdicts.append(Verdict(f"{failed.name}: the attack ran", False, failed.outcome["failed"]))

    def goal(what: str, met: bool, figure: str, *, timed: bool = False) -> None:
        verdicts.append(Verdict(what, met, figure, timed))

    for result in results:
        i = result.innocent
        goal(
            f"{result.name}: innocent round trip p99 <= {ROUND_TRIP_P99_GOAL_MS:.0f} ms",
            i["round_trip_p99_ms"] <= ROUND_TRIP_P99_GOAL_MS and i["pointers_lost"] == 0,
            f"p50 {i['round_trip_p50_ms']} ms, p99 {i['round_trip_p99_ms']} ms, "
            f"max {i['round_trip_max_ms']} ms, {i['pointers_lost']} lost",
            timed=True,
        )
        goal(
            f"{result.name}: no innocent socket dropped, no chat lost",
            i["agent_sockets_dropped"] == 0
            and i["visitor_sockets_dropped"] == 0
            and i["chat_lost"] == 0,
            f"agent {i['agent_sockets_dropped']}, visitor {i['visitor_sockets_dropped']} "
            f"dropped; {i['chat_lost']} of {i['chat_sent']} chats lost",
        )
    for name in ("snapshots_without_session", "snapshots_in_session"):
        if name in by_name:
            r = by_name[name]
            goal(
                f"{name}: relay peak RSS <= {RSS_GOAL_MB} MB",
                r.relay_peak_mb <= RSS_GOAL_MB and r.outcome["replicas_rendered"] == 0,
                f"peak {r.relay_peak_mb} MB; {r.outcome['frames_sent']} frames of "
                f"{r.outcome['frame_inflated_bytes'] / MB:.1f} MB "
                f"({r.outcome['frame_wire_bytes'] / 1024:.0f} KB on the wire) from "
                f"{r.outcome['sockets']} sockets; refusals {r.outcome['refusal_codes']}, "
                f"closed {r.outcome['closed_by_relay']}",
            )
    if "unicode" in by_name:
        o = by_name["unicode"].outcome
        goal(
            "unicode: every bad string or number refused, both peers stay",
            o["agent_socket_closed"] is None
            and o["visitor_socket_closed"] is None
            and o["agent_hears_after"]
            and o["refused_to_visitor"] >= o["sent_by_visitor"]
            and o["refused_to_agent"] >= o["sent_by_agent"],
            f"refused {o['refused_to_visitor']}/{o['sent_by_visitor']} from the visitor, "
            f"{o['refused_to_agent']}/{o['sent_by_agent']} from the agent",
        )
    if "conversation_flood" in by_name:
        o = by_name["conversation_flood"].outcome
        goal(
            "conversation_flood: conversations bounded, observer sent deltas only",
            o["conversations_stored"] <= 20 * o["client_addresses"]
            and o["chats_unanswered"] == 0
            and o["observer_bytes"] < 2 * MB,
            f"{o['conversations_stored']} stored, {o['chats_refused']} chats refused and "
            f"{o['chats_unanswered']} unanswered, "
            f"{o['sockets_refused']} sockets refused, from {o['client_addresses']} addresses in "
            f"{o['seconds']} s; observer received {o['observer_bytes'] / 1024:.0f} KB",
        )
    if "chat_flood" in by_name:
        o = by_name["chat_flood"].outcome
        goal(
            "chat_flood: one conversation's chat rate-limited",
            o["chats_stored"] <= 60 + 60 * o["seconds"] / 60 + 1 and o["chats_refused"] > 0,
            f"{o['chats_sent']} sent, {o['chats_stored']} stored, {o['chats_refused']} refused "
            f"{o['refusal_codes']}; observer received {o['observer_bytes'] / 1024:.0f} KB",
        )
    if "signout" in by_name:
        for how, o in by_name["signout"].outcome.items():
            goal(
                f"signout after {how}: copied cookie opens nothing, open socket closed",
                o["copied_cookie_me_status"] == 401
                and not o["copied_cookie_opens_socket"]
                and o["open_socket_closed_after_s"] is not None,
                f"/agent/me {o['copied_cookie_me_status']}, socket reopened "
                f"{o['copied_cookie_opens_socket']}, open socket closed after "
                f"{o['open_socket_closed_after_s']} s (code {o['open_socket_close_code']})",
            )
    if "guessing" in by_name:
        o = by_name["guessing"].outcome
        goal(
            "guessing: per-account limit slows many addresses; the real agent still signs in",
            o["guess_statuses"].get("429", 0) > 0 and o["real_agent_with_device_cookie"] == 200,
            f"{o['guesses']} guesses: {o['guess_statuses']}; real agent with its device "
            f"cookie: {o['real_agent_with_device_cookie']}; right password from a new "
            f"browser meanwhile: {o['right_password_new_browser']}",
        )
    if "navigate" in by_name:
        o = by_name["navigate"].outcome
        goal(
            "navigate: no hostile target forwarded, same origin forwarded",
            not o["hostile_forwarded"] and o["same_origin_control_forwarded"],
            f"{len(o['hostile_forwarded'])} of {o['hostile_sent']} forwarded; "
            f"{o['refused_to_agent']} refused",
        )
    if "headers" in by_name:
        responses = by_name["headers"].outcome["responses"]
        bad = [
            path
            for path, r in responses.items()
            if not r["nosniff"]
            or (r["html"] and not (r["frame_ancestors_none"] and r["x_frame_options"]))
        ]
        goal(
            "headers: nosniff everywhere, frame-ancestors 'none' on HTML",
            not bad,
            f"{len(responses)} paths; missing on {bad or 'none'}",
        )
    if "slowloris" in by_name:
        o = by_name["slowloris"].outcome
        goal(
            "slowloris: unfinished request heads are cut",
            o["still_held"] == 0,
            f"{o['still_held']} of {o['connections']} still held after {o['held_for_s']} s",
        )
    if "already_held" in by_name:
        o = by_name["already_held"].outcome
        goal(
            "already_held: origins, cross-brand, tokens, traversal, deflate bomb, nesting",
            o["foreign_origin_visitor"].startswith("refused")
            and o["agent_socket_from_other_site"].startswith("refused")
            and o["cross_brand_invites_offered"] == 0
            and o["guessed_tokens_reaching_a_conversation"] == 0
            and "LEAK" not in o["traversal_statuses"].values()
            and o["deflate_bomb_close_code"] == 1009
            and o["deep_nesting"] == "refused",
            json.dumps(o),
        )
    return verdicts


def report(results: list[Result], verdicts: list[Verdict], quick: bool) -> str:
    lines = [
        BEGIN,
        f"Measured with `scripts/attack{' --quick' if quick else ''}` on "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        "a quiet machine; the relay with its default limits. "
        f"{sum(v.met for v in verdicts)} of {len(verdicts)} goals met.",
        "",
        "| Goal | Met | Figure |",
        "| --- | --- | --- |",
    ]
    for v in verdicts:
        lines.append(
            f"| {v.what} | {'yes' if v.met else '**no**'} | {v.figure.replace('|', '/')} |"
        )
    lines += [
        "",
        "| Attack | Relay peak RSS | Relay RSS after | Seconds | Quiet again after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        quiet = "not in 60 s" if r.recovered_after_s is None else f"{r.recovered_after_s} s"
        lines.append(
            f"| {r.name} | {r.relay_peak_mb} MB | {r.relay_rss_after_mb} MB | {r.seconds} | "
            f"{quiet} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write_report(path: Path, text: str) -> None:
    current = path.read_text(encoding="utf-8")
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        path.write_text(head + text + tail, encoding="utf-8")
    else:
        path.write_text(current.rstrip("\n") + "\n\n" + text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attack", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="6 s floods instead of 20 s")
    parser.add_argument("--only", nargs="*", choices=list(ATTACKS), help="these attacks alone")
    parser.add_argument("--write", type=Path, help="put the report between markers in this file")
    parser.add_argument("--relay-log", type=Path, help="keep the relay's log in this file")
    args = parser.parse_args(argv)
    results = asyncio.run(
        run(
            args.quick,
            args.only,
            log=lambda line: print(line, file=sys.stderr),
            keep_log=args.relay_log,
        )
    )
    verdicts = judge(results)
    text = report(results, verdicts, args.quick)
    print(text)
    if args.write:
        write_report(args.write, text)
    return 0 if all(v.met for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
