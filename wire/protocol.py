"""The cobrowse wire protocol, version 1: every message, who may send it, and its fields.

Owns: the message table (``MESSAGES``), decoding a received frame into a validated
``Message`` and encoding outgoing ones, the structural limits on DOM nodes, and what may be
judged of a frame before it is parsed (``peek_type``, ``admit``: its type from its head, the
byte bound of its type).
Must not: know about conversations, sessions, sockets or modes (that is ``relay.core``).

``docs/protocol.md`` explains this table for people; ``GET /protocol.json`` serves it to the
JavaScript ends (``describe()``), so that the tag and the workspace check what the relay checks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NoReturn

from wire import grammar, nodes
from wire.errors import ProtocolError

PROTOCOL_VERSION: Final = 1

Role = Literal["visitor", "agent", "relay"]
VISITOR: Final[Role] = "visitor"
AGENT: Final[Role] = "agent"
RELAY: Final[Role] = "relay"

MODES: Final = ("view_only", "shared")
MASK_PLACEHOLDER: Final = grammar.MASK_PLACEHOLDER


@dataclass(frozen=True)
class MessageLimits:
    """Structural limits on one message. Breaching one is the sender's error (``invalid``)."""

    max_text: int = 4000  # chat message characters
    max_nodes: int = 400_000  # nodes in one snapshot or one mutation batch
    max_depth: int = grammar.MAX_DEPTH  # nesting depth of a node tree
    max_attr_name: int = 256
    max_attr_value: int = 2_000_000  # inline data: images and long style attributes exist
    max_string: int = 8_000_000  # one text node (a big inline <style> or JSON blob)
    max_list: int = 200_000  # entries in removes/attrs/texts/adds
    max_url: int = 8192


DEFAULT_LIMITS: Final = MessageLimits()

_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A UTF-16 surrogate code point (U+D800..U+DFFF) is not Unicode text. JSON may escape one alone
# ("\ud800") and Python keeps it, but no UTF-8 encoder writes it: forwarded to a peer, it
# broke the frame and closed that peer's socket, on every reconnect (issue 19).
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
# What in a frame's text may become one: a surrogate escape. A well-formed escaped pair becomes
# one astral character, so a match only means "look at the strings" (see ``_may_hold_surrogate``).
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
# A key that an error may name (a message's field, an attribute's name); others are not echoed.
_NAMEABLE_KEY: Final = re.compile(r"[A-Za-z_:][A-Za-z0-9_.:-]{0,39}")
# Element names (grammar.ELEMENT_NAME): localName of HTML, SVG or MathML elements, or custom
# elements; anything else (spaces, quotes, angle brackets) is refused outright. Attribute names
# (grammar.ATTRIBUTE_NAME): what setAttribute accepts, minus the characters that would let a
# name break out of markup. ":"-prefixed names are reserved state entries (docs/protocol.md).
STATE_ENTRIES: Final = grammar.STATE_ENTRIES


# ---------------------------------------------------------------- field kinds


class Kind:
    """A field's type and range. ``check`` returns the value or raises ``ProtocolError``."""

    name: str = "any"

    def check(self, value: Any, where: str, limits: MessageLimits) -> Any:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name}


def _invalid(where: str, what: str) -> ProtocolError:
    return ProtocolError("invalid", f"{where}: {what}")


@dataclass(frozen=True)
class Str(Kind):
    max: int = 1024
    min: int = 0
    name: str = "string"

    def check(self, value: Any, where: str, limits: MessageLimits) -> str:
        if not isinstance(value, str):
            raise _invalid(where, "must be a string")
        if not self.min <= len(value) <= self.max:
            raise _invalid(where, f"length must be {self.min}..{self.max}")
        return value

    def describe(self) -> dict[str, Any]:
        return {"kind": "string", "min": self.min, "max": self.max}


@dataclass(frozen=True)
class ChatText(Kind):
    name: str = "text"

    def check(self, value: Any, where: str, limits: MessageLimits) -> str:
        text = Str(max=limits.max_text, min=1).check(value, where, limits)
        if not text.strip():
            raise _invalid(where, "must not be blank")
        return text

    def describe(self) -> dict[str, Any]:
        return {"kind": "string", "min": 1, "max": DEFAULT_LIMITS.max_text}


@dataclass(frozen=True)
class Id(Kind):
    """An opaque id issued by the relay (conversation, invite, session)."""

    name: str = "id"

    def check(self, value: Any, where: str, limits: MessageLimits) -> str:
        if not isinstance(value, str) or not _ID_RE.fullmatch(value):
            raise _invalid(where, "must be an id ([A-Za-z0-9_-], 1..64 characters)")
        return value


@dataclass(frozen=True)
class Int(Kind):
    min: int = 0
    max: int = 2**53 - 1
    name: str = "int"

    def check(self, value: Any, where: str, limits: MessageLimits) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(where, "must be an integer")
        if not self.min <= value <= self.max:
            raise _invalid(where, f"must be {self.min}..{self.max}")
        return value

    def describe(self) -> dict[str, Any]:
        return {"kind": "int", "min": self.min, "max": self.max}


@dataclass(frozen=True)
class Num(Kind):
    min: float = -1e9
    max: float = 1e9
    name: str = "number"

    def check(self, value: Any, where: str, limits: MessageLimits) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(where, "must be a number")
        # Compared as they are (exact for any int, false for NaN): math.isfinite or float() of
        # a 401-digit int raised OverflowError, a traceback instead of an answer.
        if not self.min <= value <= self.max:
            raise _invalid(where, f"must be {self.min}..{self.max}")
        return float(value)

    def describe(self) -> dict[str, Any]:
        return {"kind": "number", "min": self.min, "max": self.max}


@dataclass(frozen=True)
class Bool(Kind):
    name: str = "bool"

    def check(self, value: Any, where: str, limits: MessageLimits) -> bool:
        if not isinstance(value, bool):
            raise _invalid(where, "must be true or false")
        return value


@dataclass(frozen=True)
class Enum(Kind):
    choices: tuple[str, ...] = ()
    name: str = "enum"

    def check(self, value: Any, where: str, limits: MessageLimits) -> str:
        if value not in self.choices:
            raise _invalid(where, f"must be one of {', '.join(self.choices)}")
        return str(value)

    def describe(self) -> dict[str, Any]:
        return {"kind": "enum", "choices": list(self.choices)}


@dataclass(frozen=True)
class Url(Kind):
    name: str = "url"

    def check(self, value: Any, where: str, limits: MessageLimits) -> str:
        url = Str(max=limits.max_url).check(value, where, limits)
        if not re.match(r"^https?://", url, re.IGNORECASE):
            raise _invalid(where, "must be an http(s) URL")
        return url


@dataclass(frozen=True)
class Viewport(Kind):
    name: str = "viewport"

    def check(self, value: Any, where: str, limits: MessageLimits) -> dict[str, float]:
        if not isinstance(value, dict) or set(value) != {"w", "h", "dpr"}:
            raise _invalid(where, "must be {w, h, dpr}")
        return {
            "w": Num(1, 100_000).check(value["w"], f"{where}.w", limits),
            "h": Num(1, 100_000).check(value["h"], f"{where}.h", limits),
            "dpr": Num(0.1, 16).check(value["dpr"], f"{where}.dpr", limits),
        }


@dataclass(frozen=True)
class AnyJson(Kind):
    """Relay-to-client payloads whose shape the relay builds itself (lists of records)."""

    name: str = "json"

    def check(self, value: Any, where: str, limits: MessageLimits) -> Any:
        return value


# ---------------------------------------------------------------- DOM nodes


def check_nodes(
    roots: Any,
    where: str,
    limits: MessageLimits,
    counter: list[int] | None = None,
    *,
    run: bool = True,
    seen: set[int] | None = None,
    frames: nodes.Frames = "iframe",
) -> list[nodes.Item]:
    """Validate a run of sibling trees in the compact node form (``wire.nodes``): shape, ids,
    structural rules (duplicate ids, ``#shadow`` and ``#document`` placement), names,
    attributes and limits. Returns the roots' items (their resolved ids and names).

    ``counter`` accumulates the node count and ``seen`` the ids across several runs of one
    message (pass the same ones to each); ``frames``: see ``wire.nodes.Frames``.
    """
    count = counter if counter is not None else [0]
    if not isinstance(roots, list) or not roots:
        raise _invalid(where, "must be a non-empty array of nodes")
    tops: list[nodes.Item] = []
    try:
        walker = nodes.walk(
            roots, where, max_depth=limits.max_depth, run=run, seen=seen, frames=frames
        )
        for item in walker:
            count[0] += 1
            if count[0] > limits.max_nodes:
                raise _invalid(where, f"more than {limits.max_nodes} nodes")
            if item.parent is None:
                tops.append(item)
            if item.text is not None:
                if len(item.text) > limits.max_string:
                    raise _invalid(item.path, "text too long")
            elif item.attrs is not None:
                path = item.path
                if not grammar.ELEMENT_NAME.fullmatch(item.name):
                    raise _invalid(path, f"bad element name {item.name[:40]!r}")
                for key, value in item.attrs.items():
                    check_attribute(key, value, path, limits, allow_null=False)
    except nodes.NodeError as exc:
        raise _invalid(exc.path, exc.message) from None
    return tops


def check_node(
    node: Any, where: str, limits: MessageLimits, counter: list[int] | None = None
) -> None:
    """Validate one tree in the compact node form (see ``check_nodes``)."""
    check_nodes([node], where, limits, counter, run=False)


def check_attribute(
    name: Any, value: Any, path: str, limits: MessageLimits, *, allow_null: bool
) -> None:
    if not isinstance(name, str) or not grammar.ATTRIBUTE_NAME.fullmatch(name):
        raise _invalid(path, f"bad attribute name {str(name)[:40]!r}")
    if name.startswith(":") and name not in STATE_ENTRIES:
        raise _invalid(path, f"unknown state entry {name!r}")
    if value is None and allow_null:
        return
    if not isinstance(value, str):
        raise _invalid(path, f"attribute {name!r} must have a string value")
    if len(value) > limits.max_attr_value:
        raise _invalid(path, f"attribute {name!r} too long")


@dataclass(frozen=True)
class DocumentNode(Kind):
    frames: nodes.Frames = "iframe"  # "placeholder": the renderer's output (replica.*)
    name: str = "document"

    def check(self, value: Any, where: str, limits: MessageLimits) -> Any:
        (top,) = check_nodes([value], where, limits, run=False, frames=self.frames)
        if top.name != "#document":
            raise _invalid(where, "must be a #document node")
        return value


@dataclass(frozen=True)
class Mutations(Kind):
    """One of the four lists of a ``dom.mutations`` batch, named by ``part``."""

    part: str = "adds"
    frames: nodes.Frames = "iframe"  # "placeholder": the renderer's output (replica.*)
    name: str = "mutations"

    def check(self, value: Any, where: str, limits: MessageLimits) -> Any:
        if not isinstance(value, list):
            raise _invalid(where, "must be an array")
        if len(value) > limits.max_list:
            raise _invalid(where, f"more than {limits.max_list} entries")
        node_id = Int(1)
        counter = [0]
        seen: set[int] = set()  # ids of every add of the batch: one node is added once
        for index, entry in enumerate(value):
            at = f"{where}[{index}]"
            if self.part == "removes":
                node_id.check(entry, at, limits)
            elif self.part == "adds":
                if not isinstance(entry, dict) or set(entry) != {"parent", "next", "nodes"}:
                    raise _invalid(at, "must be {parent, next, nodes}")
                node_id.check(entry["parent"], f"{at}.parent", limits)
                if entry["next"] is not None:
                    node_id.check(entry["next"], f"{at}.next", limits)
                check_nodes(
                    entry["nodes"], f"{at}.nodes", limits, counter, seen=seen, frames=self.frames
                )
            elif self.part == "attrs":
                if not isinstance(entry, list) or len(entry) != 3:
                    raise _invalid(at, "must be [id, name, value or null]")
                node_id.check(entry[0], f"{at}[0]", limits)
                check_attribute(entry[1], entry[2], at, limits, allow_null=True)
            else:  # texts
                if not isinstance(entry, list) or len(entry) != 2:
                    raise _invalid(at, "must be [id, text]")
                node_id.check(entry[0], f"{at}[0]", limits)
                Str(max=limits.max_string).check(entry[1], f"{at}[1]", limits)
        return value

    def describe(self) -> dict[str, Any]:
        return {"kind": "mutations", "part": self.part}


@dataclass(frozen=True)
class Ranges(Kind):
    """Text ranges as ``[start id, start offset, end id, end offset]``; empty clears."""

    max: int = 16
    name: str = "ranges"

    def check(self, value: Any, where: str, limits: MessageLimits) -> Any:
        if not isinstance(value, list) or len(value) > self.max:
            raise _invalid(where, f"must be an array of at most {self.max} ranges")
        node, offset = Int(1), Int(0, 10_000_000)
        for index, entry in enumerate(value):
            at = f"{where}[{index}]"
            if not isinstance(entry, list) or len(entry) != 4:
                raise _invalid(at, "must be [start id, start offset, end id, end offset]")
            node.check(entry[0], at, limits)
            offset.check(entry[1], at, limits)
            node.check(entry[2], at, limits)
            offset.check(entry[3], at, limits)
        return value

    def describe(self) -> dict[str, Any]:
        return {"kind": "ranges", "max": self.max}


# ---------------------------------------------------------------- the message table


@dataclass(frozen=True)
class MessageSpec:
    """One message type: who may send it and its fields (name -> kind; optional ones apart)."""

    senders: frozenset[Role]
    fields: Mapping[str, Kind]
    optional: Mapping[str, Kind] = field(default_factory=dict)


def _spec(
    senders: str, fields: Mapping[str, Kind], optional: Mapping[str, Kind] | None = None
) -> MessageSpec:
    roles: dict[str, Role] = {"V": VISITOR, "A": AGENT, "R": RELAY}
    return MessageSpec(frozenset(roles[c] for c in senders), dict(fields), dict(optional or {}))


_MODE = Enum(choices=MODES)
_FRACTION = Num(0.0, 1.0)
_PX = Num(-1e7, 1e7)
_NODE = Int(1)
_SEQ = Int(0)
_AT = Int(0)

MESSAGES: Final[Mapping[str, MessageSpec]] = {
    # connection and chat
    "hello": _spec(
        "R",
        {},
        {
            "conversation": Id(),
            "token": Str(max=128),
            "brand": Str(),
            "resumed": Bool(),
            "session": Id(),
            "agent": AnyJson(),
        },
    ),
    "chat.send": _spec("VA", {"text": ChatText()}, {"conversation": Id()}),
    "chat.message": _spec(
        "R",
        {
            "conversation": Id(),
            "sender": Enum(choices=("visitor", "agent", "system")),
            "name": Str(),
            "text": Str(max=DEFAULT_LIMITS.max_text),
            "at": _AT,
        },
    ),
    "chat.history": _spec("R", {"conversation": Id(), "messages": AnyJson()}),
    "conversation.list": _spec("R", {"conversations": AnyJson()}),
    # one conversation of the agent's list changed or joined it (the whole list only on connect)
    "conversation.updated": _spec("R", {"conversation": AnyJson()}),
    "conversation.open": _spec("A", {"conversation": Id()}),
    "conversation.close": _spec("A", {"conversation": Id()}),
    "conversation.closed": _spec("R", {"conversation": Id()}),
    "error": _spec(
        "R",
        {"code": Str(), "message": Str(), "fault": Enum(choices=("client", "server"))},
        {"ref": Str()},
    ),
    # invites and sessions
    "invite.send": _spec("A", {"conversation": Id(), "mode": _MODE}),
    "invite.cancel": _spec("A", {"invite": Id()}),
    "invite.offer": _spec(
        "R",
        {"invite": Id(), "agent": Str(), "mode": _MODE, "expires_at": _AT},
        {"session": Id()},  # present: the invite asks to switch this session to shared
    ),
    "invite.accept": _spec("V", {"invite": Id()}),
    "invite.decline": _spec("V", {"invite": Id()}),
    "invite.state": _spec(
        "R",
        {
            "invite": Id(),
            "conversation": Id(),
            "mode": _MODE,
            "state": Enum(choices=("pending", "accepted", "declined", "cancelled", "expired")),
        },
        # session: an invite from session.upgrade; expires_at: while pending (ms epoch)
        {"session": Id(), "expires_at": _AT},
    ),
    "session.started": _spec(
        "R",
        {"session": Id(), "conversation": Id(), "mode": _MODE, "agent": Str()},
        {"mask_selectors": AnyJson()},
    ),
    "session.end": _spec("VA", {"session": Id()}),
    "session.upgrade": _spec("A", {"session": Id()}),
    "session.ended": _spec(
        "R", {"session": Id(), "by": Enum(choices=("visitor", "agent", "relay")), "reason": Str()}
    ),
    "resync": _spec("R", {"session": Id(), "reason": Str()}),
    # new mask selectors while a session runs; the tag answers with a fresh dom.snapshot
    "session.config": _spec("R", {"session": Id(), "mask_selectors": AnyJson()}),
    # DOM stream
    "dom.snapshot": _spec(
        "V",
        {
            "session": Id(),
            "seq": _SEQ,
            "url": Url(),
            "title": Str(max=4096),
            "viewport": Viewport(),
            "doc": DocumentNode(),
        },
        {"loading": Bool()},  # true: more of the page follows as dom.mutations adds
    ),
    "dom.mutations": _spec(
        "V",
        {
            "session": Id(),
            "seq": _SEQ,
            "adds": Mutations(part="adds"),
            "removes": Mutations(part="removes"),
            "attrs": Mutations(part="attrs"),
            "texts": Mutations(part="texts"),
        },
        {"loading": Bool()},
    ),
    "replica.snapshot": _spec(
        "R",
        {
            "session": Id(),
            "seq": _SEQ,
            "url": Url(),
            "title": Str(max=4096),
            "viewport": Viewport(),
            "doc": DocumentNode(frames="placeholder"),
        },
        {"loading": Bool()},  # true: more of the page follows as dom.mutations adds
    ),
    "replica.mutations": _spec(
        "R",
        {
            "session": Id(),
            "seq": _SEQ,
            "adds": Mutations(part="adds", frames="placeholder"),
            "removes": Mutations(part="removes", frames="placeholder"),
            "attrs": Mutations(part="attrs", frames="placeholder"),
            "texts": Mutations(part="texts", frames="placeholder"),
        },
        {"loading": Bool()},
    ),
    # presence and actions
    "pointer": _spec("VAR", {"session": Id(), "id": _NODE, "x": _FRACTION, "y": _FRACTION}),
    "scroll": _spec("VAR", {"session": Id(), "id": _NODE, "x": _PX, "y": _PX}),
    "highlight": _spec(
        "VAR",
        {
            "session": Id(),
            "id": _NODE,
            "kind": Enum(choices=("circle", "wiggle", "outline")),
            "x": _FRACTION,
            "y": _FRACTION,
        },
    ),
    "click": _spec("VR", {"session": Id(), "id": _NODE, "x": _FRACTION, "y": _FRACTION}),
    "viewport": _spec(
        "VR", {"session": Id(), "w": Num(1, 100_000), "h": Num(1, 100_000), "dpr": Num(0.1, 16)}
    ),
    "selection": _spec("VAR", {"session": Id(), "ranges": Ranges()}),
    "act.click": _spec("AR", {"session": Id(), "id": _NODE, "x": _FRACTION, "y": _FRACTION}),
    "act.input": _spec(
        "AR", {"session": Id(), "id": _NODE}, {"value": Str(max=100_000), "checked": Bool()}
    ),
    "act.navigate": _spec("AR", {"session": Id(), "url": Url()}),
}


# ---------------------------------------------------------------- strings and numbers


def _not_finite(constant: str) -> NoReturn:
    raise ProtocolError("invalid", f"{constant} is not a number: numbers must be finite")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):  # 1e400: JSON has no limit, a double has
        raise ProtocolError("invalid", "a number is out of range (beyond a double)")
    return value


# Python's json reads NaN, Infinity and -Infinity, which JSON has not: refused while parsing,
# wherever they are (a hook runs for each float literal only, never for ints or strings).
_DECODER: Final = json.JSONDecoder(parse_constant=_not_finite, parse_float=_finite)
_NOT_TEXT: Final = "holds a lone UTF-16 surrogate, which is not Unicode text"


def _may_hold_surrogate(text: str) -> bool:
    """Whether a frame's ``text``, once parsed, may hold a surrogate in some string: it has a
    surrogate escape or a raw surrogate. Two scans at C speed (about 2 ms for a 2 MB snapshot,
    against 200 ms to validate it): the strings of a frame are looked at only when this says so."""
    if _SURROGATE_ESCAPE.search(text):
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# The most JSON arrays a valid message of these types holds. A snapshot's arrays are all nodes;
# a mutation batch has, besides its nodes, its four lists, one array per add (its nodes) and
# one per attrs or texts entry, each list at most max_list long.
_MOST_ARRAYS: Final[Mapping[str, Callable[[MessageLimits], int]]] = {
    "dom.snapshot": lambda limits: limits.max_nodes,
    "dom.mutations": lambda limits: limits.max_nodes + 4 + 3 * limits.max_list,
}
_TOO_MANY_ARRAYS: Final = {
    "dom.snapshot": "dom.snapshot.doc: more than {0.max_nodes} nodes (max_nodes)",
    "dom.mutations": "dom.mutations: more than {0.max_nodes} nodes (max_nodes) "
    "or {0.max_list} entries in a list (max_list)",
}


# Every byte but a quote and an opening bracket (for ``bytes.translate``'s delete).
_NOT_QUOTE_OR_BRACKET: Final = bytes(b for b in range(256) if b not in b'"[')
_SKELETON_CHUNK: Final = 256 * 1024


def _more_arrays_than(text: str, limit: int) -> bool:
    """Whether ``text`` holds more than ``limit`` JSON arrays (``[`` outside strings): one
    count on a normal frame. Past it, C calls of a few milliseconds each, never one long one
    (this runs on a thread, and a call holds the GIL, so every socket of the node waits on it:
    a regex over a 10 MB text took 150 ms): escaped backslashes, then escaped quotes, go, so
    every quote left opens or closes a string; then all but quotes and brackets (the skeleton);
    then each pair of adjacent quotes (an empty string, or one string's end and the next's
    start: either way no bracket changes sides); then the brackets between every other quote
    are counted, a chunk at a time."""
    if text.count("[") <= limit:
        return False
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    skeleton = (
        unescaped.encode("utf-8", "surrogatepass")
        .translate(None, _NOT_QUOTE_OR_BRACKET)
        .replace(b'""', b"")
    )
    outside, inside = 0, 0
    for start in range(0, len(skeleton), _SKELETON_CHUNK):
        parts = skeleton[start : start + _SKELETON_CHUNK].split(b'"')
        outside += b"".join(parts[inside::2]).count(b"[")
        if outside > limit:
            return True
        inside ^= (len(parts) - 1) & 1
    return False


def _holds_surrogate(data: Any) -> bool:
    """Whether some string or key in ``data`` holds a surrogate: the quick look, with no path
    kept (a tenth of the time to validate a big snapshot), that frames with escaped pairs
    (written by Python's json, never by the tag) pay; ``_surrogate_in`` then says where."""
    stack = [data]
    pop, push, extend, search = stack.pop, stack.append, stack.extend, _SURROGATE.search
    while stack:
        value = pop()
        kind = type(value)
        if kind is str:
            if not value.isascii() and search(value):
                return True
        elif kind is list:
            extend(value)
        elif kind is dict:
            for key, item in value.items():
                if not key.isascii() and search(key):
                    return True
                push(item)
    return False


def _surrogate_in(data: dict[str, Any], prefix: str) -> str | None:
    """Where the first string of ``data`` holding a surrogate is (``dom.snapshot.doc[3][1]``,
    ``chat.send.text``), or None. Names keys only when ``_NAMEABLE_KEY``: never the text."""
    # (value, link) where a link is (parent's link, key or index): paths are built on a find.
    stack: list[tuple[Any, Any]] = [(data, None)]
    while stack:
        value, link = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return _path(prefix, link)
        elif isinstance(value, list):
            stack.extend((value[i], (link, i)) for i in range(len(value) - 1, -1, -1))
        elif isinstance(value, dict):
            for key in reversed(value):
                if _SURROGATE.search(key):
                    return f"a key of {_path(prefix, link)}"
                stack.append((value[key], (link, key)))
    return None


def _path(prefix: str, link: Any) -> str:
    steps: list[str] = []
    while link is not None:
        link, key = link
        if isinstance(key, int):
            steps.append(f"[{key}]")
        else:
            steps.append(f".{key}" if _NAMEABLE_KEY.fullmatch(key) else ".<key>")
    return prefix + "".join(reversed(steps))


# ---------------------------------------------------------------- the door: before a parse

# Frames up to this size are parsed as they come; a larger one is read only once its head said
# what it is and its type may be that large (``admit``): a hostile frame costs a look at its
# first bytes, not a parse of 16 MiB (issue 19). A 4,000-character chat of 4-byte characters,
# or of characters JSON escapes to 12 bytes a pair, fits.
SMALL_FRAME_BYTES: Final = 64 * 1024
# The types a frame may be larger than SMALL_FRAME_BYTES as, and their bound (None: only the
# socket's own frame limit). act.input: 100,000 characters, each at most 6 bytes as JSON writes
# it (a control character is "\u001f"), and its ids.
LARGE_FRAME_BYTES: Final[Mapping[str, int | None]] = {
    "dom.snapshot": None,
    "dom.mutations": None,
    "act.input": 100_000 * 6 + 1024,
}
HEAD_CHARS: Final = 128  # what ``peek_type`` reads of a frame
# The head every sender writes (the tag and the workspace put v, then type, first; Python's
# json.dumps of {"v": 1, "type": ...} too): anchored, types are lowercase words with dots.
_WS: Final = r"[ \t\n\r]*"  # JSON's whitespace
_FRAME_HEAD: Final = re.compile(
    rf'{_WS}\{{{_WS}"v"{_WS}:{_WS}1{_WS},{_WS}"type"{_WS}:{_WS}"([a-z][a-z.]{{0,39}})"'
)


def peek_type(frame: str | bytes) -> str | None:
    """The type a frame names in its head (``{"v":1,"type":"dom.snapshot"``), read from its
    first ``HEAD_CHARS`` without parsing it; None when the head is not written so."""
    head = frame[:HEAD_CHARS]
    if isinstance(head, bytes):
        head = head.decode("latin-1")  # the head is ASCII; anything else fails the match
    found = _FRAME_HEAD.match(head)
    return found.group(1) if found is not None else None


def admit(frame: str | bytes, sender: Role) -> str | None:
    """The door's look at a frame from ``sender`` before anything parses it: the type its head
    names (None when it names none: a small frame is parsed all the same), or ``ProtocolError``
    for a frame over ``SMALL_FRAME_BYTES`` whose head names no type (``invalid``), an unknown
    one, one ``sender`` may not send, or one not allowed to be that large (``too_large``).
    The error names the type and the sizes, never the content. Size is ``len(frame)``:
    characters of a text frame, bytes of a binary one."""
    kind = peek_type(frame)
    size = len(frame)
    if size <= SMALL_FRAME_BYTES:
        return kind
    if kind is None:
        raise ProtocolError(
            "invalid",
            f'a frame over {SMALL_FRAME_BYTES} bytes must begin with {{"v":1,"type":"<type>"',
        )
    spec = MESSAGES.get(kind)
    if spec is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}", ref=kind)
    if sender not in spec.senders:
        raise ProtocolError("forbidden", f"a {sender} may not send {kind!r}", ref=kind)
    bound = LARGE_FRAME_BYTES.get(kind, SMALL_FRAME_BYTES)
    if bound is not None and size > bound:
        raise ProtocolError(
            "too_large", f"a {kind} frame may be at most {bound} bytes, not {size}", ref=kind
        )
    return kind


# ---------------------------------------------------------------- decoding and encoding


@dataclass(frozen=True)
class Message:
    """A validated message: its ``type`` and its fields (without ``v`` and ``type``)."""

    type: str
    body: dict[str, Any]

    def to_json(self) -> str:
        return encode(self.type, **self.body)


def decode(frame: str | bytes, sender: Role, limits: MessageLimits = DEFAULT_LIMITS) -> Message:
    """Parse and validate one frame received from ``sender``.

    Raises ``ProtocolError`` (``bad_json``, ``unknown_type``, ``invalid``, ``forbidden``);
    the caller answers it with an ``error`` message and keeps the connection. Every string of
    an accepted message is Unicode text (no surrogate code point) and every number finite, so
    ``encode`` writes it again and any peer can be sent it.
    """
    try:
        if isinstance(frame, str):
            text = frame
        else:  # as json.loads reads bytes (UTF-8, -16 or -32), surrogates kept to be refused
            text = frame.decode(json.detect_encoding(frame), "surrogatepass")
        head = peek_type(text)
        most = _MOST_ARRAYS.get(head or "")
        if head is not None and most is not None and _more_arrays_than(text, most(limits)):
            # Refused before its tree is built (issue 19): see _MOST_ARRAYS.
            raise ProtocolError("invalid", _TOO_MANY_ARRAYS[head].format(limits), ref=head)
        suspect = _may_hold_surrogate(text)
        data = _DECODER.decode(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("bad_json", "the frame is not valid JSON") from None
    except ValueError:  # an integer beyond sys.get_int_max_str_digits() (4300 digits)
        raise ProtocolError("invalid", "a number is out of range (too many digits)") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_json", "a message must be a JSON object")
    kind = data.get("type")
    if suspect and _holds_surrogate(data):
        known = kind if isinstance(kind, str) and kind in MESSAGES else None
        where = _surrogate_in(data, known or "message")
        if where is not None:
            raise ProtocolError("invalid", f"{where}: {_NOT_TEXT}", ref=known)
    if not isinstance(kind, str):
        raise ProtocolError("invalid", "a message needs a string 'type'")
    if head is not None and head != kind:
        # The door let it in by the type its head names (``admit``): it must be the one read.
        raise ProtocolError("invalid", "a message names its 'type' twice", ref=head)
    ref = kind[:40]
    spec = MESSAGES.get(kind)
    if spec is None:
        raise ProtocolError("unknown_type", f"unknown message type {ref!r}", ref=ref)
    if data.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("invalid", f"'v' must be {PROTOCOL_VERSION}", ref=ref)
    if sender not in spec.senders:
        raise ProtocolError("forbidden", f"a {sender} may not send {kind!r}", ref=ref)
    body: dict[str, Any] = {}
    for name, value in data.items():
        if name in ("v", "type"):
            continue
        field_kind = spec.fields.get(name) or spec.optional.get(name)
        if field_kind is None:
            raise ProtocolError("invalid", f"{kind}: unexpected field {name[:40]!r}", ref=ref)
        try:
            body[name] = field_kind.check(value, f"{kind}.{name}", limits)
        except ProtocolError as error:
            raise ProtocolError(error.code, error.message, ref=ref) from None
    missing = [name for name in spec.fields if name not in body]
    if missing:
        raise ProtocolError("invalid", f"{kind}: missing {', '.join(missing)}", ref=ref)
    return Message(kind, body)


def encode(message_type: str, /, **body: Any) -> str:
    """Serialize an outgoing message. The relay builds these itself; the type must exist.

    The frame can always be written as UTF-8: a string holding a surrogate, which ``decode``
    never lets in but which could come from elsewhere (the renderer's output, a store), is
    written escaped (``\\ud800``) rather than fail in the receiver's write loop.
    """
    if message_type not in MESSAGES:
        raise KeyError(f"no message type {message_type!r}")
    message = {"v": PROTOCOL_VERSION, "type": message_type, **body}
    frame = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    if not frame.isascii():
        try:
            frame.encode("utf-8")  # C speed: about a millisecond for 2 MB
        except UnicodeEncodeError:
            return json.dumps(message, separators=(",", ":"))
    return frame


def describe() -> dict[str, Any]:
    """The message table as JSON-able data, served at ``GET /protocol.json``."""
    return {
        "v": PROTOCOL_VERSION,
        "mask_placeholder": MASK_PLACEHOLDER,
        "messages": {
            name: {
                "from": sorted(spec.senders),
                "fields": {key: kind.describe() for key, kind in spec.fields.items()},
                "optional": {key: kind.describe() for key, kind in spec.optional.items()},
            }
            for name, spec in MESSAGES.items()
        },
    }
