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
from monitor.web.protocol import HTTP_PROTOCOL, MAX_REQUESTS_PER_CONNECTION, NoDelayHttpToolsProtocol


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


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _responses_on_one_connection(requests: int) -> tuple[list[bytes], bool]:
    """Send ``requests`` GETs one after another on one keep-alive connection; the response heads, and
    whether the server closed the connection after the last one."""
    loop = asyncio.get_running_loop()
    config = uvicorn.Config(_hello, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    server = await loop.create_server(
        lambda: NoDelayHttpToolsProtocol(config=config, server_state=state, app_state={}), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    heads: list[bytes] = []
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(requests):
            writer.write(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
            heads.append((await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).lower())
            assert await reader.readexactly(2) == b"ok"
        closed = await asyncio.wait_for(reader.read(1), 5) == b""
        writer.close()
        return heads, closed
    finally:
        server.close()


def test_a_busy_connection_is_closed_after_the_cap_so_clients_spread_over_the_workers() -> None:
    heads, closed = asyncio.run(_responses_on_one_connection(MAX_REQUESTS_PER_CONNECTION))
    assert closed
    assert b"connection: close" in heads[-1]
    assert not any(b"connection: close" in head for head in heads[:-1])


def test_a_connection_below_the_cap_stays_open() -> None:
    async def probe() -> bool:
        loop = asyncio.get_running_loop()
        config = uvicorn.Config(_hello, lifespan="off", log_level="warning")
        config.load()
        server = await loop.create_server(
            lambda: NoDelayHttpToolsProtocol(config=config, server_state=ServerState(), app_state={}), "127.0.0.1", 0
        )
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
            for _ in range(MAX_REQUESTS_PER_CONNECTION - 1):
                writer.write(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert b"connection: close" not in head.lower()
                await reader.readexactly(2)
            try:
                await asyncio.wait_for(reader.read(1), 0.3)
            except TimeoutError:
                return True  # still open: nothing to read, no EOF
            finally:
                writer.close()
            return False
        finally:
            server.close()

    assert asyncio.run(probe())
