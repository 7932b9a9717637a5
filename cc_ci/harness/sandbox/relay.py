"""A TCP relay: the one way out of a run's tests network, to Traefik's HTTPS port.

It runs in the run's relay container (cc_ci/harness/sandbox/network.py), attached to the
run's own tests network and to the shared `cc-ci-tests` network Traefik is on, and copies
bytes both ways between a client and `TARGET:PORT`. TLS passes through untouched: the
tests still check the wildcard certificate. Standard library only: the container runs it
with `python3 -c` from this file's text.

    python3 relay.py LISTEN_PORT TARGET_HOST TARGET_PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

CONNECT_TIMEOUT = 10
CHUNK = 65536
READY = "relay ready"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (half-close) where the socket can."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, asyncio.IncompleteReadError):
        pass


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def handler(host: str, port: int):
    async def handle(creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        try:
            ureader, uwriter = await asyncio.wait_for(
                asyncio.open_connection(host, port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            await _close(cwriter)
            return
        try:
            await asyncio.gather(_pipe(creader, uwriter), _pipe(ureader, cwriter))
        finally:
            await _close(uwriter)
            await _close(cwriter)

    return handle


async def serve(listen: int, host: str, port: int, bind: str = "0.0.0.0") -> None:
    server = await asyncio.start_server(handler(host, port), bind, listen)
    print(READY, flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: relay.py LISTEN_PORT TARGET_HOST TARGET_PORT", file=sys.stderr)
        return 2
    asyncio.run(serve(int(argv[0]), argv[1], int(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
