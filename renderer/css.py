"""CSS read as a browser reads it, and neutralized piece by piece rather than sheet by sheet.

Owns: the tokenizer of CSS Syntax Level 3 (section 4, "Tokenization", followed step by step so
that we see the tokens the agent's browser will see), the block structure a browser builds from
them (simple blocks close only on their own closer), and the sanitizing of a stylesheet or a
``style`` attribute: every construct the policy forbids is cut out at the smallest unit that
holds it (one ``url()``, one declaration, one rule or at-rule), and everything else is kept byte
for byte. Its JavaScript twin is ``renderer/css.js`` (used by ``sanitizer.js``); the golden cases
in ``tests/renderer/fixtures/css.json`` keep them in agreement.

What is forbidden (each a token, never a substring: ``scroll-behavior`` is not ``behavior``, and
``.bi-javascript`` is not ``javascript:``):

- a declaration of a property that runs code or binds behaviour in some engine
  (``FORBIDDEN_PROPERTIES``), or of any name while it holds a forbidden function;
- a function that runs code or fetches from a bare string (``FORBIDDEN_FUNCTIONS``);
- ``@namespace``, and an ``@import`` whose target is not an allowed resource;
- a ``url()`` whose target is not empty, a ``#fragment``, an http(s) URL on a brand origin, or a
  base64 ``data:`` PNG/JPEG/GIF/WebP image (which ``renderer.images`` re-encodes before the
  agent's browser sees it): it becomes ``url()``, and the declaration stays;
- a bad string or bad URL token (the browser drops them; we drop their declaration);
- outside selectors, ``javascript:``/``vbscript:`` as an identifier before a colon or at the
  start of a string (inert in today's engines; refused as defense in depth).

If the output, read again, still holds anything forbidden, the whole text is refused: the pieces
we cut must never join into something new. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

# Names compared after escapes are decoded and ASCII letters lowered (CSS is ASCII
# case-insensitive for property, function and at-rule names).
FORBIDDEN_PROPERTIES: Final = frozenset(
    {"behavior", "-ms-behavior", "-moz-binding", "-o-link", "-o-link-source"}
)
FORBIDDEN_FUNCTIONS: Final = frozenset(
    {
        "expression",  # IE CSS expressions
        "image-set",  # fetches from bare strings, which url() checks would not see
        "-webkit-image-set",
        "image",  # CSS Images 4 image("..."): a fetch from a bare string
        "src",  # CSS Values 4 src("..."): a fetch from a bare string
    }
)
FORBIDDEN_AT_RULES: Final = frozenset({"namespace"})
SCRIPT_SCHEMES: Final = ("javascript:", "vbscript:")
# Deeper nesting than this is refused whole: no real sheet comes near it, and every reader of
# the text (ours, the agent's browser) then stays within its own limits.
MAX_DEPTH: Final = 256

# Token kinds.
IDENT: Final = "ident"
FUNCTION: Final = "function"
AT: Final = "at"
HASH: Final = "hash"
STRING: Final = "string"
BAD_STRING: Final = "bad-string"
URL: Final = "url"
BAD_URL: Final = "bad-url"
DELIM: Final = "delim"
NUMBER: Final = "number"
WS: Final = "ws"
COMMENT: Final = "comment"
CDO: Final = "cdo"
CDC: Final = "cdc"
# Punctuation tokens are their own kind: ":", ";", ",", "(", ")", "[", "]", "{", "}".
OPENERS: Final = {"(": ")", "[": "]", "{": "}", FUNCTION: ")"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    start: int
    end: int
    value: str = ""  # the decoded name (ident, function, at, hash), string, URL or delim


def preprocess(text: str) -> str:
    """CSS Syntax 3.3: CR LF, CR and FF are LF; NUL and surrogates are U+FFFD."""
    text = re.sub(r"\r\n?|\f", "\n", text)
    return re.sub(r"[\x00\ud800-\udfff]", "\ufffd", text)


_WS: Final = " \t\n"
_HEX: Final = "0123456789abcdefABCDEF"
_DIGITS: Final = "0123456789"
_EOF: Final = "\x00"  # never in preprocessed text (NUL is U+FFFD there)
_NAME_RUN: Final = re.compile(r"[A-Za-z0-9_\-\u0080-\U0010ffff]+")
_WS_RUN: Final = re.compile(r"[ \t\n]+")
_PLAIN_STRING: Final = {'"': re.compile(r'[^"\\\n]+'), "'": re.compile(r"[^'\\\n]+")}
_NON_PRINTABLE: Final = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")


def _ident_start(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_" or ord(c) >= 0x80


def _ident_char(c: str) -> bool:
    return _ident_start(c) or c in _DIGITS or c == "-"


class _Reader:
    """A cursor over preprocessed text; ``at`` answers ``_EOF`` past the end."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.n = len(text)
        self.kind = ""  # the kind of the last string or URL read

    def at(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else _EOF

    def valid_escape(self, k: int = 0) -> bool:
        return self.at(k) == "\\" and self.at(k + 1) != "\n"

    def starts_ident(self, k: int = 0) -> bool:
        c = self.at(k)
        if c == "-":
            d = self.at(k + 1)
            return _ident_start(d) or d == "-" or self.valid_escape(k + 1)
        return _ident_start(c) or self.valid_escape(k)

    def starts_number(self, k: int = 0) -> bool:
        c = self.at(k)
        if c in "+-":
            d = self.at(k + 1)
            return d in _DIGITS or (d == "." and self.at(k + 2) in _DIGITS)
        if c == ".":
            return self.at(k + 1) in _DIGITS
        return c in _DIGITS

    def escaped(self) -> str:
        # Just after the backslash (CSS Syntax 4.3.7).
        c = self.at()
        if c == _EOF:
            return "\ufffd"
        if c in _HEX:
            j = self.i
            while j < self.n and j - self.i < 6 and self.s[j] in _HEX:
                j += 1
            code = int(self.s[self.i : j], 16)
            self.i = j
            if self.at() in _WS:
                self.i += 1
            if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                return "\ufffd"
            return chr(code)
        self.i += 1
        return c

    def name(self) -> str:
        out: list[str] = []
        while True:
            m = _NAME_RUN.match(self.s, self.i)
            if m:
                out.append(m.group())
                self.i = m.end()
            if not self.valid_escape():
                return "".join(out)
            self.i += 1
            out.append(self.escaped())

    def digits(self) -> None:
        while self.at() in _DIGITS:
            self.i += 1

    def number(self) -> None:
        if self.at() in "+-":
            self.i += 1
        self.digits()
        if self.at() == "." and self.at(1) in _DIGITS:
            self.i += 1
            self.digits()
        if self.at() in "eE":
            if self.at(1) in _DIGITS:
                self.i += 1
                self.digits()
            elif self.at(1) in "+-" and self.at(2) in _DIGITS:
                self.i += 2
                self.digits()

    def string(self, quote: str) -> str:
        # Just after the opening quote (CSS Syntax 4.3.5); sets self.kind.
        out: list[str] = []
        plain = _PLAIN_STRING[quote]
        while True:
            m = plain.match(self.s, self.i)
            if m:
                out.append(m.group())
                self.i = m.end()
            c = self.at()
            if c == quote or c == _EOF:
                self.i += c == quote
                self.kind = STRING
                return "".join(out)
            if c == "\n":
                self.kind = BAD_STRING  # the newline is left for the next token
                return "".join(out)
            self.i += 1  # a backslash
            if self.at() == "\n":
                self.i += 1
            elif self.at() != _EOF:
                out.append(self.escaped())

    def url(self) -> str:
        # After "url(" and its whitespace (CSS Syntax 4.3.6); sets self.kind.
        out: list[str] = []
        while True:
            c = self.at()
            if c == ")" or c == _EOF:
                self.i += c == ")"
                self.kind = URL
                return "".join(out)
            if c in _WS:
                self.skip_ws()
                if self.at() in (")", _EOF):
                    self.i += self.at() == ")"
                    self.kind = URL
                    return "".join(out)
                return self.bad_url()
            if c in "\"'(" or _NON_PRINTABLE.match(c):
                return self.bad_url()
            if c == "\\":
                if not self.valid_escape():
                    return self.bad_url()
                self.i += 1
                out.append(self.escaped())
                continue
            out.append(c)
            self.i += 1

    def bad_url(self) -> str:
        # The remnants of a bad URL (CSS Syntax 4.3.14).
        self.kind = BAD_URL
        while True:
            c = self.at()
            if c == _EOF:
                return ""
            if c == ")":
                self.i += 1
                return ""
            if self.valid_escape():
                self.i += 1
                self.escaped()
            else:
                self.i += 1

    def skip_ws(self) -> None:
        m = _WS_RUN.match(self.s, self.i)
        if m:
            self.i = m.end()


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of preprocessed CSS text (``preprocess``), comments included as tokens."""
    r = _Reader(text)
    s = text
    while r.i < r.n:
        start = r.i
        c = s[start]
        if c == "/" and r.at(1) == "*":
            end = s.find("*/", start + 2)
            r.i = r.n if end < 0 else end + 2
            yield Token(COMMENT, start, r.i)
        elif c in _WS:
            r.skip_ws()
            yield Token(WS, start, r.i)
        elif c in "\"'":
            r.i += 1
            value = r.string(c)
            yield Token(r.kind, start, r.i, value)
        elif c == "#" and (_ident_char(r.at(1)) or r.valid_escape(1)):
            r.i += 1
            yield Token(HASH, start, *_named(r))
        elif c in "(),:;[]{}":
            r.i += 1
            yield Token(c, start, r.i, c)
        elif c in "+-." and r.starts_number():
            yield _numeric(r, start)
        elif c == "-" and r.at(1) == "-" and r.at(2) == ">":
            r.i += 3
            yield Token(CDC, start, r.i)
        elif c == "<" and s.startswith("!--", start + 1):
            r.i += 4
            yield Token(CDO, start, r.i)
        elif c == "@" and r.starts_ident(1):
            r.i += 1
            yield Token(AT, start, *_named(r))
        elif c in _DIGITS:
            yield _numeric(r, start)
        elif r.starts_ident():  # a name start, "-" then a name start, or an escape
            yield _ident_like(r, start)
        else:
            r.i += 1
            yield Token(DELIM, start, r.i, c)


def _named(r: _Reader) -> tuple[int, str]:
    name = r.name()
    return r.i, name


def _numeric(r: _Reader, start: int) -> Token:
    r.number()
    if r.starts_ident():
        r.name()  # a dimension's unit
    elif r.at() == "%":
        r.i += 1
    return Token(NUMBER, start, r.i)


def _ident_like(r: _Reader, start: int) -> Token:
    # CSS Syntax 4.3.4.
    name = r.name()
    if r.at() != "(":
        return Token(IDENT, start, r.i, name)
    r.i += 1
    if _lower(name) != "url":
        return Token(FUNCTION, start, r.i, name)
    while r.at() in _WS and r.at(1) in _WS:
        r.i += 1
    if r.at() in "\"'" or (r.at() in _WS and r.at(1) in "\"'"):
        return Token(FUNCTION, start, r.i, name)
    r.skip_ws()
    value = r.url()
    return Token(r.kind, start, r.i, value)


def _lower(name: str) -> str:
    # ASCII case-insensitive, as CSS compares names (not str.lower: "K" (Kelvin) is not "k").
    return re.sub(r"[A-Z]+", lambda m: m.group().lower(), name)


# -------------------------------------------------------------------------- sanitizing

# Whether a url() (``is_import`` False) or @import (True) target, escapes decoded, may stay.
UrlJudge = Callable[[str, bool], bool]

_SKIPPED: Final = frozenset({WS, COMMENT})


@dataclass(frozen=True, slots=True)
class _Cut:
    start: int  # text offsets
    end: int
    replacement: str


def sanitize(text: str, judge: UrlJudge, *, declarations: bool = False) -> tuple[str, bool]:
    """``text`` (a stylesheet, or with ``declarations`` a ``style`` attribute's declaration
    list) with every forbidden construct cut out, and whether anything was. Preprocessed as a
    browser would (``preprocess``); otherwise untouched where nothing is forbidden. Text whose
    nesting passes ``MAX_DEPTH``, or whose cut output would still hold anything forbidden, is
    refused whole (``""``)."""
    text = preprocess(text)
    cuts = _cuts(text, judge, declarations)
    if cuts is None:
        return "", True
    if not cuts:
        return text, False
    out: list[str] = []
    at = 0
    for cut in cuts:
        out.append(text[at : cut.start])
        out.append(cut.replacement)
        at = cut.end
    out.append(text[at:])
    result = "".join(out)
    if _cuts(result, judge, declarations) != []:
        return "", True
    return result, True


def allowed(text: str, judge: UrlJudge, *, declarations: bool = False) -> bool:
    """Whether ``sanitize`` would keep ``text`` as it is (nothing forbidden in it)."""
    return _cuts(preprocess(text), judge, declarations) == []


def _match(tokens: list[Token]) -> list[int] | None:
    """For each opener (``(``, ``[``, ``{``, a function), the index of the token that closes it
    (``len(tokens)`` when the text ends first); a closer that is not the innermost opener's is
    an ordinary token, as in a browser. None when nesting passes ``MAX_DEPTH``."""
    match = [-1] * len(tokens)
    stack: list[int] = []
    for i, t in enumerate(tokens):
        if t.kind in OPENERS:
            stack.append(i)
            if len(stack) > MAX_DEPTH:
                return None
        elif stack and t.kind == OPENERS[tokens[stack[-1]].kind]:
            match[stack.pop()] = i
    for i in stack:
        match[i] = len(tokens)
    return match


def _cuts(text: str, judge: UrlJudge, declarations: bool) -> list[_Cut] | None:
    tokens = list(tokenize(text))
    match = _match(tokens)
    if match is None:
        return None
    cuts: list[_Cut] = []
    ranges = [(0, len(tokens), not declarations)]
    while ranges:
        a, b, top = ranges.pop()
        i = a
        while i < b:
            kind = tokens[i].kind
            if kind in _SKIPPED or kind == ";" or (top and kind in (CDO, CDC)):
                i += 1
                continue
            start, block, end = i, -1, b
            while i < b:
                kind = tokens[i].kind
                if kind == ";":
                    end = i + 1
                    break
                if kind == "{":
                    block, end = i, min(match[i] + 1, b)
                    break
                i = min(match[i] + 1, b) if kind in OPENERS else i + 1
            i = end
            item_cuts = _judge_item(tokens, match, start, block if block >= 0 else end, judge)
            if item_cuts is None:
                last = tokens[end - 1]
                cuts.append(_Cut(tokens[start].start, last.end, ""))
                continue
            cuts.extend(item_cuts)
            if block >= 0:
                ranges.append((block + 1, min(match[block], b), False))
    cuts.sort(key=lambda c: c.start)
    return cuts


def _judge_item(
    tokens: list[Token], match: list[int], start: int, stop: int, judge: UrlJudge
) -> list[_Cut] | None:
    """The url() replacements in an item (a declaration, a rule's or at-rule's prelude: the
    tokens ``start:stop``, its own ``{}`` block excluded), or None when the whole item must go."""
    head = tokens[start]
    rule_like = stop < len(tokens) and tokens[stop].kind == "{" and head.kind != AT
    name = _lower(head.value)
    if head.kind == AT:
        if name in FORBIDDEN_AT_RULES:
            return None
        if name == "import":
            target = _import_target(tokens, match, start + 1, stop)
            if target is None or not judge(target, True):
                return None
    else:
        # "behavior:", "beh/**/avior :" (old engines drop comments first): a declaration's name
        prop, after = _glued(tokens, start, stop)
        if prop in FORBIDDEN_PROPERTIES and _colon_after(tokens, after, stop):
            return None
    cuts: list[_Cut] = []
    i = start
    while i < stop:
        t = tokens[i]
        kind = t.kind
        if kind in (BAD_STRING, BAD_URL):
            return None
        if kind == IDENT:
            glued, after = _glued(tokens, i, stop)
            if glued in FORBIDDEN_FUNCTIONS and _opens_after(tokens, after, stop):
                return None  # "expression (", "expr/**/ession (": a name, then a parenthesis
            if after < stop and tokens[after].kind == FUNCTION:
                if glued + _lower(tokens[after].value) in FORBIDDEN_FUNCTIONS:
                    return None  # "expr/**/ession("
        if kind == FUNCTION:
            fname = _lower(t.value)
            if fname in FORBIDDEN_FUNCTIONS:
                return None
            if fname == "url":
                close = match[i]
                target = _single_string(tokens, i + 1, min(close, stop))
                if target is None or not judge(target, False):
                    end = tokens[close].end if close < len(tokens) else tokens[-1].end
                    cuts.append(_Cut(t.start, end, "url()"))
                i = close + 1
                continue
        elif kind == URL and not judge(t.value, False):
            cuts.append(_Cut(t.start, t.end, "url()"))
        elif not rule_like and (
            (
                kind == IDENT
                and _lower(t.value) in _SCRIPT_NAMES
                and _colon_after(tokens, i + 1, stop)
            )
            or (kind == STRING and _script_url(t.value))
        ):
            return None
        i += 1
    return cuts


_SCRIPT_NAMES: Final = frozenset(s[:-1] for s in SCRIPT_SCHEMES)


def _glued(tokens: list[Token], i: int, stop: int) -> tuple[str, int]:
    """The names from ``i`` run together across comments (not whitespace), lowercased, and
    the index after them."""
    names: list[str] = []
    while i < stop and tokens[i].kind in (IDENT, COMMENT):
        if tokens[i].kind == IDENT:
            names.append(_lower(tokens[i].value))
        i += 1
    return "".join(names), i


def _colon_after(tokens: list[Token], i: int, stop: int) -> bool:
    return _next_kind(tokens, i, stop) == ":"


def _opens_after(tokens: list[Token], i: int, stop: int) -> bool:
    return _next_kind(tokens, i, stop) == "("


def _next_kind(tokens: list[Token], i: int, stop: int) -> str:
    while i < stop and tokens[i].kind in _SKIPPED:
        i += 1
    return tokens[i].kind if i < stop else ""


# What a browser strips from both ends of a URL: C0 controls and space.
URL_SPACE: Final = "".join(map(chr, range(0x21)))


def _script_url(value: str) -> bool:
    # As a browser reads a URL: tab/CR/LF dropped anywhere, C0 controls and space at the ends.
    url = re.sub(r"[\t\n\r]", "", value).lstrip(URL_SPACE)
    return _lower(url).startswith(SCRIPT_SCHEMES)


def _single_string(tokens: list[Token], i: int, stop: int) -> str | None:
    """The value of the one string token between ``i`` and ``stop`` (whitespace around it
    allowed), else None."""
    values = [t for t in tokens[i:stop] if t.kind not in _SKIPPED]
    if len(values) == 1 and values[0].kind == STRING:
        return values[0].value
    return None


def _import_target(tokens: list[Token], match: list[int], i: int, stop: int) -> str | None:
    while i < stop and tokens[i].kind in _SKIPPED:
        i += 1
    if i >= stop:
        return None
    t = tokens[i]
    if t.kind in (STRING, URL):
        return t.value
    if t.kind == FUNCTION and _lower(t.value) == "url":
        return _single_string(tokens, i + 1, min(match[i], stop))
    return None


def each_target(text: str) -> Iterator[tuple[int, int, str, str]]:
    """``(start, end, target, where)`` of every URL in preprocessed text: a ``url()`` (an
    unquoted URL token or ``url("...")``) or an ``@import`` string; ``where`` is ``"import"``
    for an ``@import``'s, ``"font-face"`` inside an ``@font-face`` block, else ``""``. The span
    is the whole ``url(...)``, or the string. For ``renderer.images`` (which re-encodes the
    ``data:`` ones) and the relay's resource proxy (which points them at itself)."""
    tokens = list(tokenize(text))
    match = _match(tokens)
    if match is None:
        return
    font_until = -1  # the index of the closing brace of the @font-face block we are in
    import_head = False  # the last significant token was an @import keyword
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == AT and _lower(t.value) == "font-face":
            nxt = i + 1
            while nxt < len(tokens) and tokens[nxt].kind in _SKIPPED:
                nxt += 1
            if nxt < len(tokens) and tokens[nxt].kind == "{":
                font_until = max(font_until, match[nxt])
        where = "import" if import_head else ("font-face" if i < font_until else "")
        if t.kind == URL:
            yield t.start, t.end, t.value, where
        elif t.kind == FUNCTION and _lower(t.value) == "url":
            close = match[i]
            target = _single_string(tokens, i + 1, close)
            if target is not None and close < len(tokens):
                yield t.start, tokens[close].end, target, where
                i = close
        elif t.kind == STRING and import_head:
            yield t.start, t.end, t.value, where
        if t.kind not in _SKIPPED:
            import_head = t.kind == AT and _lower(t.value) == "import"
        i += 1


def string(value: str) -> str:
    """``value`` as a CSS string token that reads back as exactly ``value``."""
    escaped = re.sub(
        r'[\\"\x00-\x1f\x7f]', lambda m: f"\\{ord(m.group()):x} ", value.replace("\x00", "\ufffd")
    )
    return f'"{escaped}"'
