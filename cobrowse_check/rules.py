"""The thresholds and patterns `cobrowse check` judges pages by (policy as data).

Owns: every number and pattern behind a pass / warning / fail. Must not: run anything.
Documented, entry by entry, in docs/compatibility.md.
"""

from __future__ import annotations

# The reference product: "Large rendered websites > 2 MB (DOM tree) can lead to a significant
# delay"; we stream large snapshots in slices, so a larger DOM is reported as handled.
DOM_LIMIT_BYTES = 2 * 1024 * 1024

# Change batches per second while nobody acts. The tag sends at most one batch per animation
# frame, so a page animating through the DOM reaches ~60; a clock ticking every second, 1.
IDLE_BATCHES_PER_S_WARNING = 2.0

# The replica's content against the visitor's (``cobrowse_qa.fidelity``: ``blank`` is the share of
# the visitor's content areas the replica leaves blank). A blank replica fails whatever its pixel
# score (a blank copy of a mostly white page scores 0.98 on pixels alone); a quarter or more
# blank is a half-blank replica, a warning.
BLANK_REPLICA_FAIL = 0.9
BLANK_REPLICA_WARNING = 0.25

# A frame's, canvas's or plugin object's box in the replica differs from the visitor's when a
# side differs by more than this many CSS pixels and this share of the visitor's side (an
# iframe's default 2 px border is not a difference).
BOX_TOLERANCE_PX = 6.0
BOX_TOLERANCE_SHARE = 0.1
# Two plugin placeholders sharing this much of the smaller one's area are stacked: the agent
# sees one box where the page has several.
STACKED_OVERLAP = 0.25

# Names, ids, labels, placeholders and autocomplete tokens of fields that look like they hold
# secrets or payment data. A field matching this that the tag does not mask is reported.
SENSITIVE_NAMES = (
    r"\b(ssn|social[\s_-]?security|national[\s_-]?id|tax[\s_-]?id|iban|bic|swift|"
    r"sort[\s_-]?code|routing|account[\s_-]?(number|no)|cvv|cvc|csc|security[\s_-]?code|"
    r"card[\s_-]?(number|no)?|credit[\s_-]?card|cc[\s_-]?(num|number|csc|exp)|pin|"
    r"passport|one[\s_-]?time[\s_-]?(code|password)|otp|secret|password|passcode)\b"
    r"|ssn|iban|cvv|cvc"
)

# A canary typed into masked fields; a distinct suffix per field names the field that leaked.
CANARY = "CBCHECK-CANARY-7731"

# Resources the agent's browser loads again to show the replica (scripts never are).
REPLAYED_RESOURCES = frozenset({"image", "stylesheet", "font", "media"})
MAX_RESOURCES = 200  # reloaded per page at most

# How long the tag may take to send a whole page (a large one comes in chunks) and the agent to
# receive its replica, before the check gives up on the page.
STREAM_TIMEOUT_S = 90.0

# Chromium's network error codes, in words for the report.
NAVIGATION_ERRORS = {
    "ERR_CERT_AUTHORITY_INVALID": "TLS error: the certificate is not from a known authority",
    "ERR_CERT_COMMON_NAME_INVALID": "TLS error: the certificate is for another host name",
    "ERR_CERT_DATE_INVALID": "TLS error: the certificate has expired or is not valid yet",
    "ERR_CERT_": "TLS error: the certificate was refused",
    "ERR_SSL_": "TLS error: the secure connection failed",
    "ERR_CONNECTION_REFUSED": "unreachable: the connection was refused",
    "ERR_NAME_NOT_RESOLVED": "unreachable: the host name does not resolve",
    "ERR_ADDRESS_UNREACHABLE": "unreachable: no route to the host",
    "ERR_CONNECTION_TIMED_OUT": "unreachable: the connection timed out",
    "ERR_CONNECTION_RESET": "unreachable: the connection was reset",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without an answer",
    "ERR_TOO_MANY_REDIRECTS": "the page redirects in a loop",
    "ERR_INTERNET_DISCONNECTED": "unreachable: no network",
    "ERR_UNSAFE_PORT": "unreachable: browsers refuse this port",
}
