"""The relay process's log lines: ``text`` (as before) or ``json`` (one object a line).

Owns: the node id (``COBROWSE_NODE_ID``, else host name and process id), the two formatters,
``configure`` for the serve command, and ``ids`` for a log call's structured fields. A JSON
line carries time, level, logger, message, node and the ids of the call: those of ``ids(...)``
and those written ``name=%s`` in the call's format (``log.info("agent.login agent=%s", id)``).
Must not: add anything to a line that the call did not pass (never a message's content: the
call sites pass ids, codes and counts only).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
from collections.abc import Mapping
from typing import Any, Final

FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
_FIELDS: Final = "cobrowse_ids"  # the LogRecord attribute ``ids`` sets
# A named printf placeholder in a format string: ``conversation=%s`` (named) or ``%s`` (not).
_PLACEHOLDER: Final = re.compile(r"(?:\b([a-z_][a-z0-9_]*)=)?%[-#0 +]*\d*(?:\.\d+)?[sdrifx%]")
# A JSON line's own keys: a call's ids never overwrite them.
_BASE_KEYS: Final = frozenset({"time", "level", "logger", "message", "node", "exception"})


def node_id(environ: Mapping[str, str] = os.environ) -> str:
    """This relay node's id in logs and metrics: ``COBROWSE_NODE_ID``, else ``host-pid``."""
    return environ.get("COBROWSE_NODE_ID") or f"{socket.gethostname()}-{os.getpid()}"


def ids(**values: str | int | None) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.info("visitor.connected", extra=ids(conversation=c))``.

    JSON lines get each as a field; text lines get `` name=value`` after the message.
    """
    return {_FIELDS: values}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ids a record carries: its ``ids(...)``, then its ``name=%s`` placeholders' values."""
    found: dict[str, Any] = {}
    if isinstance(record.msg, str) and isinstance(record.args, tuple) and record.args:
        placeholders = [m.group(1) for m in _PLACEHOLDER.finditer(record.msg) if m.group() != "%%"]
        if len(placeholders) == len(record.args):
            for name, value in zip(placeholders, record.args, strict=True):
                if name:
                    found[name] = value if isinstance(value, int | float | bool) else str(value)
    found.update(getattr(record, _FIELDS, None) or {})
    return found


class TextFormatter(logging.Formatter):
    """Today's text lines, with a call's ``ids(...)`` appended as `` name=value``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = getattr(record, _FIELDS, None) or {}
        return line + "".join(f" {name}={value}" for name, value in extra.items())


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ms), level, logger, message, node and the ids."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "node": self._node,
        }
        for name, value in fields_of(record).items():
            if name not in _BASE_KEYS:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: str, level: str, node: str) -> None:
    """Send every logger's records (ours and uvicorn's) to stderr in ``log_format``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(node) if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's loggers keep no handlers of their own: their records reach the root's.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
