"""The MLLP listener: python-hl7's asyncio server; each block is stored, then answered.

The database work runs in a thread (Django is synchronous); one connection's messages are
answered in order. A block that cannot be read (too large for the buffer, no start byte)
is answered AR and the connection closed; nothing a client sends stops the listener.
"""

import asyncio
import logging

from django.db import close_old_connections
from hl7.mllp import InvalidBlockError, start_hl7_server

from . import hl7v2
from .inbox import receive_hl7
from .models import Channel

log = logging.getLogger(__name__)

BUFFER_LIMIT = 16 * 1024 * 1024  # a block larger than this cannot even be stored


def _receive(raw):
    close_old_connections()
    try:
        _row, answer = receive_hl7(raw, Channel.MLLP)
        return answer
    finally:
        close_old_connections()


async def _serve_client(reader, writer):
    try:
        while not reader.at_eof():
            try:
                raw = await reader.readblock()
            except asyncio.IncompleteReadError:
                break
            except (ValueError, InvalidBlockError) as exc:
                writer.writeblock(hl7v2.ack(None, "AR", f"Unreadable MLLP block: {exc}"))
                await writer.drain()
                break
            try:
                answer = await asyncio.to_thread(_receive, raw)
            except Exception:
                log.exception("could not store an inbound message")
                answer = hl7v2.ack(None, "AE", "Could not store the message; send it again.")
            writer.writeblock(answer)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve(host, port, ready=None, stop=None):
    """Serve until `stop` (an asyncio.Event) is set, or forever."""
    server = await start_hl7_server(_serve_client, host, port, limit=BUFFER_LIMIT)
    if ready is not None:
        ready(server.sockets[0].getsockname()[1])
    async with server:
        if stop is None:
            await server.serve_forever()
        else:
            await stop.wait()
