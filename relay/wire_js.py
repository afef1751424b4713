"""``GET /static/wire-nodes.js``: the wire's JavaScript node reader for the agent's workspace.

Owns: serving ``wire/nodes.js`` with the grammar inlined (``wire.grammar.nodes_js``), the same
text the renderer's page runs, so the replica reads the compact node form with the reader the
sanitizer used. Must not: build it any other way (one build, in ``wire``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wire import grammar


async def wire_nodes_js(request: Request) -> Response:
    """The built reader, cached by the browser like the other static files."""
    return Response(
        grammar.nodes_js(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


# Listed before the /static mount: a route of its own, as the file is built, not on disk.
ROUTE = Route("/static/wire-nodes.js", wire_nodes_js)
