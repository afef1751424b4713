"""The sanitizing policy of the renderer: allowlists as frozen data, and the check functions.

This module owns *what* may reach an agent's replica. It holds no state and does no I/O. The
same data is handed, as JSON (:func:`policy_json`), to the in-browser sanitizer
(``renderer/sanitizer.js``), which implements the same decisions; the golden file
``tests/renderer/fixtures/decisions.json`` is checked against both so they cannot drift.

Everything not listed here is denied: an element, attribute, URL scheme or CSS construct is
kept only when a rule below says so ("anything else is presumed unsafe", as DOMPurify's
``_isValidAttribute`` ends). Names are compared case-sensitively, as the tag sends
``localName``: an HTML ``"SCRIPT"`` is not ``"script"`` and is therefore not allowed either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from renderer import css
from wire import grammar

HTML_NS: Final = grammar.HTML
SVG_NS: Final = grammar.SVG
MATHML_NS: Final = grammar.MATH

# The fixed text that replaces a masked value: the wire's, the same string the tag writes.
MASK_PLACEHOLDER: Final = grammar.MASK_PLACEHOLDER


@dataclass(frozen=True)
class BrandPolicy:
    """What one brand lets into its agents' replicas.

    ``origins``: the only origins (``scheme://host[:port]``) the agent's browser may *fetch*
    from: images, media, stylesheets (``link``, ``@import``, CSS ``url()``). Links the agent
    may follow (``a href``) may point anywhere http(s). Iframes are never loaded (see
    ``element_action``). ``mask_selectors``: CSS selectors whose elements are masked again in
    the renderer (second line behind the tag).
    """

    origins: tuple[str, ...] = ()
    mask_selectors: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- elements

# fmt: off  (the allowlists stay grouped and commented, one group per line)

HTML_ELEMENTS: Final = frozenset(
    {
        # Document structure: the replica is a whole document.
        "html",
        "head",
        "body",
        "title",
        # Sectioning and text.
        "address",
        "article",
        "aside",
        "footer",
        "header",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hgroup",
        "main",
        "nav",
        "section",
        "search",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "hr",
        "li",
        "menu",
        "ol",
        "p",
        "pre",
        "ul",
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "dfn",
        "em",
        "i",
        "kbd",
        "mark",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
        "wbr",
        "del",
        "ins",
        "details",
        "summary",
        "dialog",
        # Legacy presentational elements still found on real pages; none can run code.
        "acronym",
        "big",
        "blink",
        "center",
        "dir",
        "font",
        "marquee",
        "nobr",
        "strike",
        "tt",
        # Embedded content that only ever fetches through a checked URL attribute.
        "img",
        "picture",
        "source",
        "video",
        "audio",
        "track",
        "map",
        "area",
        "canvas",
        # Tables.
        "caption",
        "col",
        "colgroup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        # Forms: kept so the agent sees them; `action`/`formaction` are never allowed.
        "form",
        "fieldset",
        "legend",
        "label",
        "input",
        "button",
        "select",
        "datalist",
        "optgroup",
        "option",
        "textarea",
        "output",
        "progress",
        "meter",
        # <style> is kept and its text goes through css_allowed / the CSS neutralizer.
        "style",
        # <link> and <meta> are kept only in their harmless forms (element_action, ATTRS below).
        "link",
        "meta",
        # <iframe> is never loaded; element_action turns it into a placeholder <div>.
        "iframe",
        # Shadow roots reach the agent (#shadow): without its <slot>s a host's light children
        # would not be drawn. A slot loads and runs nothing (DOMPurify allows it too).
        "slot",
    }
)
# Deliberately absent (each is an attack in the agent's browser): script, noscript (its
# content is parsed differently with scripting on: mXSS), object, embed, applet (plugins:
# placeholders, see PLUGIN_ELEMENTS), frame and frameset (never built: a frame becomes a
# placeholder like an iframe's, a frameset the <div> that lays them out, see element_action),
# base (re-targets every relative URL),
# portal, template (inert content that a later innerHTML could revive),
# xmp/noembed/noframes/plaintext (raw-text parsing: mXSS).

# Plugin content (Flash, Java, PDF and media plugins): never built in the agent's browser, where
# it would load and run with the agent's privileges. Each becomes a placeholder labelled
# "plugin object" (issue #5: the agent is told where it cannot see, and why) that carries nothing
# of the object: no data/src/type/codebase, no <param> or fallback children.
PLUGIN_ELEMENTS: Final = frozenset({"object", "embed", "applet"})

SVG_ELEMENTS: Final = frozenset(
    {
        "svg",
        "a",
        "circle",
        "clipPath",
        "defs",
        "desc",
        "ellipse",
        "g",
        "image",
        "line",
        "linearGradient",
        "marker",
        "mask",
        "metadata",
        "mpath",
        "path",
        "pattern",
        "polygon",
        "polyline",
        "radialGradient",
        "rect",
        "stop",
        "style",
        "switch",
        "symbol",
        "text",
        "textPath",
        "title",
        "tspan",
        "use",
        "view",
        # Children of <foreignObject> are HTML again and go through the HTML rules.
        "foreignObject",
        # Animation is kept, but `attributeName` may never name href/src/style/on*: a
        # <set attributeName=href to=javascript:...> turns a harmless link into script.
        "animate",
        "animateMotion",
        "animateTransform",
        "set",
        # Filter primitives.
        "filter",
        "feBlend",
        "feColorMatrix",
        "feComponentTransfer",
        "feComposite",
        "feConvolveMatrix",
        "feDiffuseLighting",
        "feDisplacementMap",
        "feDistantLight",
        "feDropShadow",
        "feFlood",
        "feFuncA",
        "feFuncB",
        "feFuncG",
        "feFuncR",
        "feGaussianBlur",
        "feImage",
        "feMerge",
        "feMergeNode",
        "feMorphology",
        "feOffset",
        "fePointLight",
        "feSpecularLighting",
        "feSpotLight",
        "feTile",
        "feTurbulence",
    }
)
# Absent: script, handler, listener, discard, cursor (fetches), font/glyph (obsolete).

MATHML_ELEMENTS: Final = frozenset(
    {
        "math",
        "menclose",
        "merror",
        "mfenced",
        "mfrac",
        "mi",
        "mmultiscripts",
        "mn",
        "mo",
        "mover",
        "mpadded",
        "mphantom",
        "mprescripts",
        "mroot",
        "mrow",
        "ms",
        "mspace",
        "msqrt",
        "mstyle",
        "msub",
        "msubsup",
        "msup",
        "mtable",
        "mtd",
        "mtext",
        "mtr",
        "munder",
        "munderover",
        "none",
        "semantics",
        "annotation",
    }
)
# Absent: annotation-xml (an HTML integration point: namespace confusion, DOMPurify
# 2.0.x mXSS bypasses), maction (legacy actiontype=statusline + href), mglyph (fetches).

ELEMENTS: Final = {HTML_NS: HTML_ELEMENTS, SVG_NS: SVG_ELEMENTS, MATHML_NS: MATHML_ELEMENTS}

# rel tokens a kept <link> may carry; anything else (import, preload, prefetch, modulepreload,
# dns-prefetch, manifest, serviceworker...) fetches or runs something: the link is dropped.
LINK_RELS: Final = frozenset({"stylesheet", "icon", "shortcut", "apple-touch-icon"})

# ---------------------------------------------------------------------------- attributes

# Allowed on every element of every namespace. slot/part: shadow DOM's slot assignment and
# ::part() styling (plain tokens).
GLOBAL_ATTRS: Final = frozenset(
    {"id", "class", "style", "lang", "dir", "title", "tabindex", "slot", "part"}
)

HTML_ATTRS: Final = frozenset(
    {
        "abbr",
        "accept",
        "align",
        "alt",
        "autocomplete",
        "axis",
        "bgcolor",
        "border",
        "cellpadding",
        "cellspacing",
        "char",
        "charoff",
        "charset",
        "checked",
        "cite",
        "clear",
        "color",
        "cols",
        "colspan",
        "content",
        "controls",
        "coords",
        "datetime",
        "decoding",
        "default",
        "disabled",
        "enterkeyhint",
        "face",
        "for",
        "frame",
        "headers",
        "frameborder",  # presentational: a third-party iframe placeholder's border
        "height",
        "hidden",
        "high",
        "href",
        "hreflang",
        "inputmode",
        "label",
        "list",
        "loading",
        "loop",
        "low",
        "max",
        "maxlength",
        "media",
        "method",
        "min",
        "minlength",
        "multiple",
        "muted",
        "name",
        "noshade",
        "novalidate",
        "nowrap",
        "open",
        "optimum",
        "pattern",
        "placeholder",
        "playsinline",
        "poster",
        "preload",
        "pubdate",
        "radiogroup",
        "readonly",
        "rel",
        "required",
        "rev",
        "reversed",
        "role",
        "rows",
        "rowspan",
        "rules",
        "scope",
        "selected",
        "shape",
        "size",
        "sizes",
        "span",
        "spellcheck",
        "src",
        "srclang",
        "srcset",
        "start",
        "step",
        "summary",
        "translate",
        "type",
        "usemap",
        "valign",
        "value",
        "width",
        "wrap",
    }
)
# Deliberately absent: every on* handler; action/formaction (form submission from the
# replica); srcdoc (a whole document); http-equiv (meta refresh/set-cookie/CSP); target
# (new browsing contexts); ping/download; background/dynsrc/lowsrc (legacy fetches);
# autofocus/autoplay (focus/sound stealing in the workspace); is (customized built-ins);
# popover*; xmlns*; nonce/integrity/crossorigin.

SVG_ATTRS: Final = frozenset(
    {
        "accent-height",
        "accumulate",
        "additive",
        "alignment-baseline",
        "ascent",
        "attributeName",
        "attributeType",
        "azimuth",
        "baseFrequency",
        "baseline-shift",
        "begin",
        "bias",
        "by",
        "calcMode",
        "clip",
        "clipPathUnits",
        "clip-path",
        "clip-rule",
        "color",
        "color-interpolation",
        "color-interpolation-filters",
        "color-rendering",
        "cx",
        "cy",
        "d",
        "dx",
        "dy",
        "diffuseConstant",
        "direction",
        "display",
        "divisor",
        "dur",
        "edgeMode",
        "elevation",
        "end",
        "fill",
        "fill-opacity",
        "fill-rule",
        "filter",
        "filterUnits",
        "flood-color",
        "flood-opacity",
        "font-family",
        "font-size",
        "font-size-adjust",
        "font-stretch",
        "font-style",
        "font-variant",
        "font-weight",
        "from",
        "fx",
        "fy",
        "gradientTransform",
        "gradientUnits",
        "height",
        "href",
        "image-rendering",
        "in",
        "in2",
        "k",
        "k1",
        "k2",
        "k3",
        "k4",
        "kernelMatrix",
        "kernelUnitLength",
        "keyPoints",
        "keySplines",
        "keyTimes",
        "lengthAdjust",
        "letter-spacing",
        "lighting-color",
        "marker-end",
        "marker-mid",
        "marker-start",
        "markerHeight",
        "markerUnits",
        "markerWidth",
        "mask",
        "maskContentUnits",
        "maskUnits",
        "max",
        "media",
        "min",
        "mode",
        "numOctaves",
        "offset",
        "opacity",
        "operator",
        "order",
        "orient",
        "origin",
        "overflow",
        "paint-order",
        "path",
        "pathLength",
        "patternContentUnits",
        "patternTransform",
        "patternUnits",
        "points",
        "preserveAlpha",
        "preserveAspectRatio",
        "primitiveUnits",
        "r",
        "radius",
        "refX",
        "refY",
        "repeatCount",
        "repeatDur",
        "restart",
        "result",
        "rotate",
        "rx",
        "ry",
        "scale",
        "seed",
        "shape-rendering",
        "specularConstant",
        "specularExponent",
        "spreadMethod",
        "startOffset",
        "stdDeviation",
        "stitchTiles",
        "stop-color",
        "stop-opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "surfaceScale",
        "systemLanguage",
        "targetX",
        "targetY",
        "text-anchor",
        "text-decoration",
        "text-rendering",
        "textLength",
        "to",
        "transform",
        "type",
        "values",
        "vector-effect",
        "version",
        "viewBox",
        "visibility",
        "width",
        "word-spacing",
        "writing-mode",
        "x",
        "x1",
        "x2",
        "xChannelSelector",
        "xlink:href",
        "xml:space",
        "y",
        "y1",
        "y2",
        "yChannelSelector",
        "z",
        "zoomAndPan",
    }
)

MATHML_ATTRS: Final = frozenset(
    {
        "accent",
        "accentunder",
        "align",
        "bevelled",
        "close",
        "columnalign",
        "columnlines",
        "columnspacing",
        "columnspan",
        "denomalign",
        "depth",
        "display",
        "displaystyle",
        "encoding",
        "fence",
        "frame",
        "height",
        "largeop",
        "length",
        "linethickness",
        "lspace",
        "lquote",
        "mathbackground",
        "mathcolor",
        "mathsize",
        "mathvariant",
        "maxsize",
        "minsize",
        "movablelimits",
        "notation",
        "numalign",
        "open",
        "rowalign",
        "rowlines",
        "rowspacing",
        "rowspan",
        "rspace",
        "rquote",
        "scriptlevel",
        "scriptminsize",
        "scriptsizemultiplier",
        "selection",
        "separator",
        "separators",
        "stretchy",
        "subscriptshift",
        "supscriptshift",
        "symmetric",
        "voffset",
        "width",
    }
)
# Absent: href (MathML 2 allowed links on any element), xlink:*, actiontype.

ATTRS: Final = {HTML_NS: HTML_ATTRS, SVG_NS: SVG_ATTRS, MATHML_NS: MATHML_ATTRS}

# data-*/aria-* are free-form but named: lowercase ASCII only. The data-cobrowse-* space is
# reserved for the renderer's own markers: only the placeholder marker, with one of its fixed
# labels, may pass (so sanitizing our own output changes nothing).
DATA_ATTR_RE: Final = r"^data-(?!cobrowse)[a-z0-9_.\-]+$"
PLACEHOLDER_ATTR: Final = "data-cobrowse-placeholder"
# Marks the <div> a frameset is sent as (empty value): for tools that compare the replica with
# the visitor's page (the QA harness, the check), and for the agent's own reading.
FRAMESET_ATTR: Final = "data-cobrowse-frameset"
PLACEHOLDER_REASONS: Final = frozenset({"iframe", "third-party iframe", "plugin object"})
THIRD_PARTY_FRAME: Final = "third-party iframe"
# What a third-party iframe's placeholder keeps of the iframe: what gives it its box (with the
# page's CSS for iframes, which it still matches), nothing that loads or names content.
FRAME_BOX_ATTRS: Final = ("id", "class", "style", "width", "height", "frameborder", "align")
ARIA_ATTR_RE: Final = r"^aria-[a-z]+$"

# Which attributes hold URLs, and what kind of URL each may be, per (namespace, tag, attr).
#   "navigation": only followed when the agent clicks (http(s) anywhere, or a #fragment);
#   "resource": fetched by the agent's browser: http(s) on a brand origin only;
#   "image": like resource, or a data: raster image that the renderer re-encodes;
#   "fragment": a same-document reference (#id) only.
# A URL attribute on a tag not listed here is denied (e.g. src on <input>, href on <div>).
UrlKind = Literal["navigation", "resource", "image", "fragment"]
URL_ATTRS: Final = frozenset({"href", "src", "srcset", "poster", "cite", "xlink:href"})
URL_KINDS: Final[dict[tuple[str, str, str], UrlKind]] = {
    (HTML_NS, "a", "href"): "navigation",
    (HTML_NS, "area", "href"): "navigation",
    (HTML_NS, "blockquote", "cite"): "navigation",
    (HTML_NS, "q", "cite"): "navigation",
    (HTML_NS, "del", "cite"): "navigation",
    (HTML_NS, "ins", "cite"): "navigation",
    (HTML_NS, "link", "href"): "resource",
    (HTML_NS, "img", "src"): "image",
    (HTML_NS, "img", "srcset"): "resource",
    (HTML_NS, "source", "src"): "resource",
    (HTML_NS, "source", "srcset"): "resource",
    (HTML_NS, "video", "src"): "resource",
    (HTML_NS, "video", "poster"): "resource",
    (HTML_NS, "audio", "src"): "resource",
    (HTML_NS, "track", "src"): "resource",
    (SVG_NS, "a", "href"): "navigation",
    (SVG_NS, "a", "xlink:href"): "navigation",
    (SVG_NS, "image", "href"): "image",
    (SVG_NS, "image", "xlink:href"): "image",
    (SVG_NS, "feImage", "href"): "resource",
    (SVG_NS, "feImage", "xlink:href"): "resource",
    # <use> clones what it references into the page: an external or data: document would
    # bring markup this policy never judged (handlers, foreignObject HTML, more <use>).
    # Only same-document references (#id), whose target was judged like everything else.
    (SVG_NS, "use", "href"): "fragment",
    (SVG_NS, "use", "xlink:href"): "fragment",
    (SVG_NS, "textPath", "href"): "fragment",
    (SVG_NS, "textPath", "xlink:href"): "fragment",
    (SVG_NS, "mpath", "href"): "fragment",
    (SVG_NS, "mpath", "xlink:href"): "fragment",
    (SVG_NS, "linearGradient", "href"): "fragment",
    (SVG_NS, "linearGradient", "xlink:href"): "fragment",
    (SVG_NS, "radialGradient", "href"): "fragment",
    (SVG_NS, "radialGradient", "xlink:href"): "fragment",
    (SVG_NS, "pattern", "href"): "fragment",
    (SVG_NS, "pattern", "xlink:href"): "fragment",
    (SVG_NS, "filter", "href"): "fragment",
    (SVG_NS, "filter", "xlink:href"): "fragment",
}

# data: images the renderer accepts (then decodes and re-encodes with Pillow, so the agent's
# browser never parses attacker-chosen image bytes). Not SVG: an SVG image is a document.
DATA_IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# In CSS url() only (Bootstrap's form icons, icon sets): an SVG data: image, which the renderer
# rebuilds from the SVG allowlist (renderer/svgimage.py) before any agent's browser sees it.
CSS_SVG_IMAGE_RE: Final = r"^data:image/svg\+xml[;,]"

# SVG animation elements: attributeName may not animate these (set href to javascript:,
# animate on* handlers, or style into url(javascript:)).
ANIMATION_ELEMENTS: Final = frozenset({"animate", "animateMotion", "animateTransform", "set"})
ANIMATION_VALUE_ATTRS: Final = frozenset({"from", "to", "by", "values"})

# State entries the protocol defines (never real attributes), and what each may hold.
STATE_ENTRIES: Final = grammar.STATE_ENTRIES
# ":shadow" reaches the agent only as "closed" (the host of a closed shadow root, an area the
# agent cannot see), and only on an element that can host a shadow root.
SHADOW_STATES: Final = frozenset({"closed"})
# ":unseen" on an <img>: the page made the image (a blob: URL) and the tag could not send its
# pixels (not loaded yet, too big, unreadable); the agent is shown an area it cannot see.
UNSEEN_STATES: Final = frozenset({"image"})
# ":focus" on the element the visitor's page has focused (the deepest one): "visible" when it
# matches :focus-visible there (the visitor sees a focus ring), "focus" when not. It says which
# element, never what is in it: a masked field may have it too.
FOCUS_STATES: Final = frozenset({"focus", "visible"})
# ":cssom" on a <style>: its rules live in the CSSOM; the last text child is synthetic.
CSSOM_KINDS: Final = frozenset({"sheet", "adopted"})
MASK_REASONS: Final = frozenset({"password", "attribute", "selector", "autocomplete"})
# autocomplete tokens that mean "secret" even when the tag did not mask the field.
MASKED_AUTOCOMPLETE_RE: Final = (
    r"(^|[ \t\n\r\f])(cc-[a-z-]+|current-password|new-password|one-time-code)([ \t\n\r\f]|$)"
)

# fmt: on

# -------------------------------------------------------------------------------- CSS

# What CSS may never hold is decided token by token in ``renderer.css`` (and its twin
# ``renderer/css.js``), from these names; ``sanitize_css`` cuts each out at the smallest unit
# that holds it. Names are compared with escapes decoded, ASCII case-insensitively.
CSS_FORBIDDEN_PROPERTIES: Final = css.FORBIDDEN_PROPERTIES
CSS_FORBIDDEN_FUNCTIONS: Final = css.FORBIDDEN_FUNCTIONS
CSS_FORBIDDEN_AT_RULES: Final = css.FORBIDDEN_AT_RULES

# -------------------------------------------------------------------------- decisions


def _norm_url(value: str) -> str:
    # Browsers drop tab/CR/LF anywhere in a URL and C0/space at both ends (WHATWG URL), so
    # "java\tscript:" is javascript:; normalize first, then decide.
    value = re.sub(r"[\t\n\r]", "", value)
    return re.sub(r"^[\x00-\x20]+|[\x00-\x20]+$", "", value)


def _strip_ws(value: str) -> str:
    # ASCII whitespace only (HTML's definition), identically in sanitizer.js.
    return re.sub(r"^[ \t\n\r\f]+|[ \t\n\r\f]+$", "", value)


def _split_ws(value: str) -> list[str]:
    return [part for part in re.split(r"[ \t\n\r\f]+", value) if part]


_DEFAULT_PORTS: Final = {"http": "80", "https": "443"}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, or None when there is none.

    Only plain ASCII host names, IP literals and ports are understood: URLs with credentials
    (``https://brand@evil.example``), percent-escapes or anything else in the authority are
    refused outright rather than parsed cleverly (IDN hosts arrive as punycode from the tag).
    """
    m = re.match(r"^(https?)://([^/?#\\]*)", _norm_url(url), re.IGNORECASE)
    if not m:
        return None
    scheme, authority = m.group(1).lower(), m.group(2).lower()
    if not authority or re.search(r"[^A-Za-z0-9.\-_:\[\]]", authority):
        return None
    host, _, port = authority.partition(":")
    if not host or (port and not port.isdigit()):
        return None
    if port == _DEFAULT_PORTS[scheme] or port == "":
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def url_allowed(value: str, kind: UrlKind, origins: tuple[str, ...] = ()) -> bool:
    """Whether a URL attribute value of this kind may reach the replica. Deny by default."""
    url = _norm_url(value)
    if url.startswith("#"):
        # Same-document references never leave the replica.
        return kind in ("navigation", "fragment")
    if kind == "fragment":
        return False
    if kind == "image" and data_image_type(url) is not None:
        return True
    origin = origin_of(url)
    if origin is None:
        # Relative, scheme-relative, javascript:, data:, blob:, file:... all denied.
        return False
    if kind == "navigation":
        return True
    return origin in {origin_of(o) for o in origins}


def absolute_url(name: str, value: str, page_origin: str | None) -> str:
    """The value of URL attribute ``name`` with its origin-relative URLs made absolute.

    The tag sends a URL on the page's origin as a path starting with exactly one ``/``
    (docs/protocol.md, "Nodes", URLs); ``page_origin`` (``origin_of`` the snapshot's ``url``)
    is put back in front so the policy judges, and the agent receives, an absolute URL. ``//host``
    and ``/\\host`` name another host (browsers read ``\\`` as ``/``): they are left as they
    are, and refused like every other relative value. Each ``srcset`` candidate is resolved;
    a value that needs nothing is returned unchanged.
    """
    if page_origin is None or name not in URL_ATTRS:
        return value
    if name != "srcset":
        return _absolute(value, page_origin)
    candidates = [_split_ws(_strip_ws(c)) for c in value.split(",")]
    fresh = [[_absolute(c[0], page_origin), *c[1:]] if c else c for c in candidates]
    return value if fresh == candidates else ", ".join(" ".join(c) for c in fresh)


def _absolute(value: str, page_origin: str) -> str:
    # Judged after the browser's own clean-up (_norm_url): "/\t/evil.example" is "//evil...".
    url = _norm_url(value)
    if url[:1] == "/" and url[1:2] not in ("/", "\\"):
        return page_origin + url
    return value


def data_image_type(value: str) -> str | None:
    """The MIME type of a base64 data: raster image URL on the allowlist, else None."""
    m = re.match(
        r"^data:(image/[a-z]+);base64,[A-Za-z0-9+/= \f]*$", _norm_url(value), re.IGNORECASE
    )
    if not m or m.group(1).lower() not in DATA_IMAGE_TYPES:
        return None
    return m.group(1).lower()


def css_svg_image(value: str) -> bool:
    """Whether a CSS url() target is an SVG data: image (``CSS_SVG_IMAGE_RE``): kept by the
    sanitizer only to be rebuilt by ``renderer.svgimage`` before the agent's browser sees it."""
    return re.match(CSS_SVG_IMAGE_RE, _norm_url(value), re.IGNORECASE) is not None


def srcset_allowed(value: str, origins: tuple[str, ...]) -> bool:
    """Every candidate of a srcset must be an allowed resource (data: never is)."""
    candidates = [_strip_ws(c) for c in value.split(",")]
    if not any(candidates):
        return False
    return all(c and url_allowed(_split_ws(c)[0], "resource", origins) for c in candidates)


def normalize_css(text: str) -> str:
    """CSS as the checks see it: comments out, escapes decoded, no whitespace, lowercase."""
    text = re.sub(r"/\*[\s\S]*?(\*/|$)", "", text)

    def hex_escape(m: re.Match[str]) -> str:
        code = int(m.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    text = re.sub(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?", hex_escape, text)
    text = re.sub(r"\\([\s\S])", r"\1", text)
    text = re.sub(r"[\x00-\x20]+", "", text)
    return text.lower()


def css_url_judge(origins: tuple[str, ...], data_images: bool = True) -> css.UrlJudge:
    """What a ``url()`` or ``@import`` target in CSS may be: an ``@import`` an allowed resource
    (an http(s) URL on a brand origin); a ``url()`` that, empty, a ``#fragment`` (SVG paint
    servers, clip paths) or a base64 ``data:`` image on ``DATA_IMAGE_TYPES`` (re-encoded by
    ``renderer.images`` before the agent's browser sees it; not with ``data_images`` False:
    only ``style`` attributes and ``<style>`` text are re-encoded)."""

    def judge(target: str, is_import: bool) -> bool:
        url = _norm_url(target)
        if is_import:
            return url_allowed(url, "resource", origins)
        return (
            url == ""
            or url.startswith("#")
            or url_allowed(url, "resource", origins)
            or (data_images and (data_image_type(url) is not None or css_svg_image(url)))
        )

    return judge


def css_allowed(
    text: str, origins: tuple[str, ...] = (), declarations: bool = False, data_images: bool = True
) -> bool:
    """Whether CSS (``<style>`` text, or with ``declarations`` a ``style`` attribute) holds
    nothing the policy forbids (``renderer.css``), so that ``sanitize_css`` keeps it whole."""
    judge = css_url_judge(origins, data_images)
    return css.allowed(text, judge, declarations=declarations)


def sanitize_css(text: str, origins: tuple[str, ...] = (), declarations: bool = False) -> str:
    """CSS with every forbidden construct cut out at the smallest unit that holds it (one
    ``url()`` becomes ``url()``; a declaration, rule or at-rule goes), the rest kept as it is."""
    return css.sanitize(text, css_url_judge(origins), declarations=declarations)[0]


def element_allowed(tag: str, namespace: str = HTML_NS) -> bool:
    """Whether this element may appear at all (before any attribute-dependent rule)."""
    return tag in ELEMENTS.get(namespace, frozenset()) or (
        namespace == HTML_NS and is_custom_element(tag)
    )


# Autonomous custom elements (HTML namespace only): the hosts of most open shadow roots. In
# the agent's replica no definition exists, so one is an inert HTMLElement with the HTML
# attribute allowlist (URL attributes have no URL kind on it: denied). The name rule (the
# wire's) is the HTML spec's "valid custom element name" restricted to ASCII (as the tag sends
# localName); the reserved names are SVG/MathML elements the spec excludes. ``is`` stays denied (it
# upgrades built-ins). ``cobrowse-*`` is ours (the renderer's stand-in elements, the tag's UI),
# as ``data-cobrowse*`` is: a visitor may not forge it.
is_custom_element = grammar.is_custom_element


def can_host_shadow(tag: str, namespace: str = HTML_NS) -> bool:
    """Whether an element may have a shadow root: the wire's rule (``wire.grammar``)."""
    return grammar.can_host_shadow(tag, namespace)


# "layout": a <frameset>, sent as a <div> whose style (made by the renderer from its rows, cols,
# border and frameborder, nothing else of it) lays out its frames as the visitor's browser does.
ElementAction = Literal["keep", "drop", "placeholder", "layout"]


def element_action(
    tag: str, attrs: dict[str, str], namespace: str = HTML_NS, origins: tuple[str, ...] = ()
) -> ElementAction:
    """What becomes of an element (and its subtree): kept, dropped, a placeholder, or (a
    frameset) the layout of its frames."""
    if namespace == HTML_NS and tag in PLUGIN_ELEMENTS:
        return "placeholder"  # labelled "plugin object"; nothing of it reaches the agent
    if namespace == HTML_NS and tag == "frame":
        return "placeholder"  # a frameset's frame: as an iframe (below)
    if namespace == HTML_NS and tag == "frameset":
        return "layout"
    if not element_allowed(tag, namespace):
        return "drop"
    if namespace == HTML_NS and tag == "iframe":
        # Never load a frame in the agent's browser: its content is not mirrored, it would
        # load with the agent's cookies, and a third party would learn of the session.
        return "placeholder"
    if namespace == HTML_NS and tag == "link":
        rels = _split_ws(attrs.get("rel", "").lower())
        return "keep" if rels and all(r in LINK_RELS for r in rels) else "drop"
    return "keep"


def placeholder_reason(
    tag: str, attrs: dict[str, str], origins: tuple[str, ...], page_origin: str | None = None
) -> str:
    """The ``data-cobrowse-placeholder`` label of an HTML element whose action is
    ``placeholder``: a plugin object, or an iframe or frame (on a brand origin or a third
    party's: both are labelled ``iframe``, the agent's word for a frame)."""
    if tag in PLUGIN_ELEMENTS:
        return "plugin object"
    origin = origin_of(absolute_url("src", attrs.get("src", ""), page_origin))
    if origin is not None and origin in {origin_of(o) for o in origins}:
        return "iframe"
    return "third-party iframe"


def attribute_allowed(
    tag: str, name: str, value: str, namespace: str = HTML_NS, origins: tuple[str, ...] = ()
) -> bool:
    """Whether attribute ``name=value`` may stay on a kept ``tag``. Deny by default."""
    if name.lower().startswith("on"):
        # Every event handler, in every namespace, whatever its case.
        return False
    if name in STATE_ENTRIES or name.startswith(":"):
        return False  # state entries are not attributes; see state rules in the sanitizer
    if name == FRAMESET_ATTR:
        return namespace == HTML_NS and tag == "div" and value == ""
    if name == PLACEHOLDER_ATTR:
        # A third-party iframe's placeholder is an iframe (empty, sandboxed by the replica) so
        # that the page's CSS for iframes gives it the visitor's box; the others are divs.
        if namespace == HTML_NS and tag == "iframe":
            return value == THIRD_PARTY_FRAME
        return namespace == HTML_NS and tag == "div" and value in PLACEHOLDER_REASONS
    allowed = (
        name in GLOBAL_ATTRS
        or name in ATTRS.get(namespace, frozenset())
        or (
            namespace == HTML_NS
            and (
                re.match(DATA_ATTR_RE, name) is not None or re.match(ARIA_ATTR_RE, name) is not None
            )
        )
    )
    if not allowed:
        return False
    if name == "style":
        return css_allowed(value, origins, declarations=True)
    if name in URL_ATTRS:
        kind = URL_KINDS.get((namespace, tag, name))
        if kind is None:
            return False
        if name == "srcset":
            return srcset_allowed(value, origins)
        return url_allowed(value, kind, origins)
    if namespace == SVG_NS and name == "attributeName" and tag not in ANIMATION_ELEMENTS:
        # It means something only on an animation element; elsewhere it could only carry a
        # payload for later (found by the property test: <svg attributeName="javascript:...">).
        return False
    if namespace == SVG_NS and tag in ANIMATION_ELEMENTS:
        if name == "attributeName":
            target = _strip_ws(value)
            return (
                target in SVG_ATTRS
                and target not in URL_ATTRS
                and target != "style"
                and not target.lower().startswith("on")
            )
        if name in ANIMATION_VALUE_ATTRS and "javascript:" in normalize_css(value):
            return False
    if namespace != HTML_NS:
        # Presentation attributes (fill, filter, clip-path, mask, marker-*) are CSS: they take
        # url(), and no code-like value (javascript:, expression(...)) is kept in them, inert
        # or not (found by the property test: <svg fill="javascript:...">).
        if name not in GLOBAL_ATTRS and not css_allowed(value, origins, True, data_images=False):
            return False
    if namespace == HTML_NS and tag == "meta" and name == "content":
        # Harmless without http-equiv (never allowed); but refuse refresh-looking values
        # in case a later attribute change re-adds a name that acts on them.
        return "url=" not in value.lower().replace(" ", "")
    return True


def policy_json() -> dict[str, Any]:
    """The policy as plain JSON for ``sanitizer.js``: the one source of its allowlists."""
    return {
        "elements": {ns: sorted(tags) for ns, tags in ELEMENTS.items()},
        "attrs": {ns: sorted(names) for ns, names in ATTRS.items()},
        "globalAttrs": sorted(GLOBAL_ATTRS),
        "dataAttrRe": DATA_ATTR_RE,
        "placeholderAttr": PLACEHOLDER_ATTR,
        "framesetAttr": FRAMESET_ATTR,
        "placeholderReasons": sorted(PLACEHOLDER_REASONS),
        "thirdPartyFrame": THIRD_PARTY_FRAME,
        "frameBoxAttrs": list(FRAME_BOX_ATTRS),
        "pluginElements": sorted(PLUGIN_ELEMENTS),
        "ariaAttrRe": ARIA_ATTR_RE,
        "linkRels": sorted(LINK_RELS),
        "urlAttrs": sorted(URL_ATTRS),
        "urlKinds": [[ns, tag, attr, kind] for (ns, tag, attr), kind in sorted(URL_KINDS.items())],
        "dataImageTypes": sorted(DATA_IMAGE_TYPES),
        "cssSvgImageRe": CSS_SVG_IMAGE_RE,
        "animationElements": sorted(ANIMATION_ELEMENTS),
        "animationValueAttrs": sorted(ANIMATION_VALUE_ATTRS),
        "stateEntries": sorted(STATE_ENTRIES),
        "shadowStates": sorted(SHADOW_STATES),
        "unseenStates": sorted(UNSEEN_STATES),
        "focusStates": sorted(FOCUS_STATES),
        "cssomKinds": sorted(CSSOM_KINDS),
        "maskReasons": sorted(MASK_REASONS),
        "maskedAutocompleteRe": MASKED_AUTOCOMPLETE_RE,
        "cssForbiddenProperties": sorted(CSS_FORBIDDEN_PROPERTIES),
        "cssForbiddenFunctions": sorted(CSS_FORBIDDEN_FUNCTIONS),
        "cssForbiddenAtRules": sorted(CSS_FORBIDDEN_AT_RULES),
        "maskPlaceholder": MASK_PLACEHOLDER,
    }
