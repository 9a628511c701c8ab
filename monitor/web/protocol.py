"""The HTTP protocol the dashboard's worker processes serve with: uvicorn's httptools one, with TCP_NODELAY.

With ``--workers`` > 1, uvicorn binds the listening socket itself as ``socket.socket(family)``,
whose ``proto`` is 0; the connections each worker accepts inherit that, and asyncio switches
Nagle's algorithm off only for sockets whose ``proto`` is TCP. So a multi-worker dashboard kept
Nagle on: on a keep-alive connection, the last part of every response larger than one segment
waited for the browser's delayed ACK, about 40 ms (measured: a 44 KB issue page took 50-80 ms
instead of 7-9 ms). A single process (``create_server`` with host and port) never had this.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that turns Nagle's algorithm off for every connection it serves."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # not a TCP socket (a Unix socket): nothing to turn off
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


HTTP_PROTOCOL = f"{__name__}:{NoDelayHttpToolsProtocol.__name__}"
"""The import string for uvicorn's ``--http`` option."""
