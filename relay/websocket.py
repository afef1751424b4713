"""uvicorn's WebSocket protocol with the compression a DOM stream wants.

Owns: the permessage-deflate parameters of every socket the relay serves.
Must not: change anything else of uvicorn's protocol (framing, limits, keepalive).

uvicorn's own choice (a 4 KB window both ways) suits chat-sized messages. A visitor's snapshot
repeats itself over far more than 4 KB (the same row markup, class names and URLs every few
hundred bytes), so the visitor's browser compresses with the full 32 KB window: that costs the
relay 32 KB of inflate window per visitor socket and nothing per message. What the relay itself
sends stays on uvicorn's small window and memory level, so that thousands of idle visitor
sockets do not each hold a 256 KB compressor.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

SERVER_WINDOW_BITS = 12  # what the relay compresses with (uvicorn's default)
SERVER_MEM_LEVEL = 5


class CobrowseWebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass as ``uvicorn.run(..., ws=CobrowseWebSocketProtocol)``."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if config.ws_per_message_deflate:
            # client_max_window_bits left out: the client keeps its full window (RFC 7692 7.1.2.2).
            deflate = ServerPerMessageDeflateFactory(
                server_max_window_bits=SERVER_WINDOW_BITS,
                compress_settings={"memLevel": SERVER_MEM_LEVEL},
            )
            self.conn = ServerProtocol(
                extensions=[deflate], max_size=config.ws_max_size, logger=self.logger
            )
