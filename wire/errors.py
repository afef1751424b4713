"""Errors that are part of the protocol, and the WebSocket close codes, named once.

A ``ProtocolError`` is answered with an ``error`` message (``code``, human ``message``, whose
``fault`` it was); a breach of a transport limit closes the socket with a code from here.
"""

from __future__ import annotations

from typing import Final, Literal

Fault = Literal["client", "server"]

# WebSocket close codes (RFC 6455, section 7.4.1).
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_POLICY: Final = 1008  # bad origin, bad credentials, repeated abuse
CLOSE_TOO_BIG: Final = 1009  # a frame over the socket's size limit
CLOSE_INTERNAL: Final = 1011  # the relay lost its store or its fleet's Redis: reconnect
CLOSE_RESTART: Final = 1012  # the node is draining (SIGTERM): reconnect, to another node
CLOSE_TRY_AGAIN: Final = 1013  # the socket fell too far behind: reconnect and resync

ERROR_CODES: Final = frozenset(
    {
        "bad_json",
        "unknown_type",
        "invalid",
        "forbidden",
        "not_found",
        "conflict",
        "rate_limited",
        "out_of_order",
        "too_large",
        "internal",
    }
)


class ProtocolError(Exception):
    """A message the relay refuses: the sender's fault unless ``fault`` says otherwise."""

    def __init__(self, code: str, message: str, *, fault: Fault = "client", ref: str | None = None):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fault: Fault = fault
        self.ref = ref

    def body(self) -> dict[str, str]:
        """The fields of the ``error`` message that reports this."""
        body = {"code": self.code, "message": self.message, "fault": self.fault}
        if self.ref is not None:
            body["ref"] = self.ref
        return body
