"""Worker processes serve with Nagle's algorithm off (uvicorn's multi-worker socket leaves it on)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from monitor.web.app import worker_command
from monitor.web.protocol import HTTP_PROTOCOL, NoDelayHttpToolsProtocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:  # never called: no request is sent
    raise AssertionError("no request expected")


async def _nodelay_of_served_connection(protocol_class: type[HttpToolsProtocol]) -> int:
    """TCP_NODELAY of the server side of one connection, accepted the way a uvicorn worker does."""
    loop = asyncio.get_running_loop()
    config = uvicorn.Config(_app, lifespan="off", log_level="warning")
    config.load()
    made: asyncio.Future[asyncio.Transport] = loop.create_future()

    def factory() -> HttpToolsProtocol:
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
        original = protocol.connection_made

        def connection_made(transport: asyncio.Transport) -> None:
            original(transport)
            made.set_result(transport)

        protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol

    # As uvicorn binds it for several workers: socket.socket(family), so proto is 0, not IPPROTO_TCP.
    listener = socket.socket(socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = await loop.create_server(factory, sock=listener)
    try:
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        transport = await asyncio.wait_for(made, 5)
        value = int(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        transport.close()
        return value
    finally:
        server.close()


def test_uvicorn_leaves_nagle_on_for_a_worker_socket_and_ours_turns_it_off() -> None:
    assert asyncio.run(_nodelay_of_served_connection(HttpToolsProtocol)) == 0  # the behaviour worked around
    assert asyncio.run(_nodelay_of_served_connection(NoDelayHttpToolsProtocol)) == 1


def test_worker_processes_are_started_with_that_protocol(tmp_path: Path) -> None:
    cmd, _env = worker_command(tmp_path / "config.yaml", "127.0.0.1", 8080, 2)
    assert cmd[cmd.index("--http") + 1] == HTTP_PROTOCOL
    assert import_from_string(HTTP_PROTOCOL) is NoDelayHttpToolsProtocol
