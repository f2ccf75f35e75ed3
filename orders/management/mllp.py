"""The results interface over MLLP (HL7 v2's Minimal Lower Layer Protocol, the laboratory systems'
usual link): each message framed as 0x0B <message> 0x1C 0x0D on a long-lived TCP connection, each
handed to the same service as POST /hl7/v2 (orders/services/results.py) and answered with its ACK in
the same frame. An asyncio server: many connections at once, several messages on each, the
synchronous service run in a worker thread with its database connection checked before and after
each message, as Django does per request. Bytes before a start block are ignored; a message over
the size limit is answered AR and its connection closed; an idle connection is closed. Nothing a
sender does ends in a traceback, and the log holds no patient data: sizes, ACK codes, control ids.

The framing reader is ours, not python-hl7's hl7.mllp: that one refuses a block with bytes before
its start character (InvalidBlockError, the message lost with them) and hands back parsed messages,
where the service wants the text; the reader here is small. The service runs in the listener's own
thread pool (as asyncio.to_thread would, but bounded, and able to close each worker's database
connection when the listener stops)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections, connections
from django.utils import timezone

from orders.rules.hl7 import ack
from orders.services.results import Answer, results_receive

logger = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE_BYTES = 1_000_000
IDLE_SECONDS = 300.0
STOP_GRACE_SECONDS = 10.0  # a message being filed when asked to stop is finished and answered
DISCARD_SECONDS = 2.0  # the rest of an oversized message is read and dropped so the AR reaches its sender
HEAD_BYTES = 4096  # enough of an oversized message to read its MSH for the ACK
CHUNK = 65536


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_MESSAGE_BYTES
    idle_seconds: float = IDLE_SECONDS
    workers: int = 8  # messages filed at once (each worker thread holds a database connection)


class TooLarge(Exception):
    def __init__(self, head: bytes) -> None:
        super().__init__("message too large")
        self.head = head


def frame(text: str) -> bytes:
    return START + text.encode("utf-8") + END


class FrameReader:
    """Reads MLLP blocks off a stream: what comes before a start block is dropped (line noise, a
    sender's stray bytes), a block longer than `max_bytes` raises TooLarge."""

    def __init__(self, reader: asyncio.StreamReader, *, max_bytes: int, idle_seconds: float) -> None:
        self._reader, self._max, self._idle = reader, max_bytes, idle_seconds
        self._buffer = bytearray()
        self._scanned = 1  # where the search for the end block resumes, so a slow sender costs no rescans

    async def next(self) -> bytes | None:
        """The next message's bytes; None when the sender closed. TimeoutError when idle too long."""
        while True:
            block = self._take()
            if block is not None:
                return block
            chunk = await asyncio.wait_for(self._reader.read(CHUNK), self._idle)
            if not chunk:
                return None
            self._buffer += chunk

    def _take(self) -> bytes | None:
        start = self._buffer.find(START)
        if start < 0:
            self._buffer.clear()
            self._scanned = 1
            return None
        if start:
            del self._buffer[:start]
            self._scanned = 1
        end = self._buffer.find(END, max(1, self._scanned - 1))
        if end < 0:
            self._scanned = len(self._buffer)
            if len(self._buffer) - 1 > self._max + 1:
                raise TooLarge(bytes(self._buffer[1 : 1 + HEAD_BYTES]))
            return None
        block = bytes(self._buffer[1:end])
        del self._buffer[: end + len(END)]
        self._scanned = 1
        if len(block) > self._max:
            raise TooLarge(block[:HEAD_BYTES])
        return block


def header_of(text: str) -> dict[str, str]:
    """What an ACK echoes, read from the MSH by hand: for a message not read whole (too large) or
    one the service failed on, where there is no parsed header to use."""
    first = re.split(r"[\r\n]", text.lstrip("\r\n\x0b"), maxsplit=1)[0]
    if not first.startswith("MSH") or len(first) < 4:
        return {}
    fields = first.split(first[3])

    def msh(n: int) -> str:  # MSH-1 is the separator itself, so MSH-n is fields[n - 1]
        return fields[n - 1].replace("|", "")[:100] if len(fields) >= n else ""

    return {
        "sending_application": msh(3),
        "sending_facility": msh(4),
        "receiving_application": msh(5),
        "receiving_facility": msh(6),
        "control_id": msh(10),
        "processing_id": msh(11) or "P",
        "version": msh(12),
    }


def control_id_of(ack_text: str) -> str:
    """MSA-2 of one of our ACKs, printable and short: safe for the log."""
    for segment in ack_text.split("\r"):
        if segment.startswith("MSA|"):
            fields = segment.split("|")
            value = fields[2] if len(fields) > 2 else ""
            return "".join(ch for ch in value if ch.isprintable())[:50]
    return ""


def refusal(head: str, code: str, text: str) -> Answer:
    return Answer(code, ack(header_of(head), code, text, error_segment="MSH", now=timezone.now()))


def receive(block: bytes, client: str) -> Answer:
    """File one message (run in a worker thread). The service answers every bad message itself; an
    exception here is ours or the database's, so the sender is told to send again (AE)."""
    text = block.decode("utf-8", errors="replace")
    close_old_connections()  # a connection broken or past CONN_MAX_AGE is not reused
    try:
        return results_receive(text, channel="mllp", client=client)
    except Exception as exc:
        # The class only: an exception's text may quote the message, and the log holds no patient data.
        logger.error("MLLP message from %s not filed: %s", client, exc.__class__.__name__)
        return refusal(text, "AE", "Not filed: an error in this system. Send the message again.")
    finally:
        close_old_connections()


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return ""


class Listener:
    """The MLLP server. `serve()` runs until `stop()` (callable from any thread or a signal handler)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None) -> None:
        self.host, self.port = host, port
        self.limits = limits or Limits()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._busy: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=self.limits.workers, thread_name_prefix="mllp")

    async def serve(self, ready: Callable[[int], None] | None = None) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]  # the port chosen when asked for port 0
        logger.info("MLLP listening on %s:%s", self.host, self.port)
        if ready is not None:
            ready(self.port)
        try:
            await self._stop.wait()
        finally:
            self._stopping = True
            server.close()
            await server.wait_closed()
            await self._end_connections()
            await self._close_worker_connections()
            self._executor.shutdown(wait=True)
            logger.info("MLLP listener stopped")

    def stop(self) -> None:
        self._stopping = True
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def _end_connections(self) -> None:
        # Idle connections are closed at once; one filing a message is given time to answer it. Closed,
        # not cancelled: its reader sees the end of the stream and the connection ends as if the
        # sender had hung up (and Python 3.11's stream server logs a traceback for a cancelled one).
        for task, writer in self._connections.items():
            if task not in self._busy:
                writer.close()
        if self._busy:
            await asyncio.wait(set(self._busy), timeout=STOP_GRACE_SECONDS)
        for writer in self._connections.values():
            writer.close()
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=STOP_GRACE_SECONDS)

    async def _close_worker_connections(self) -> None:
        # Django's connections are per thread and kept for CONN_MAX_AGE: each worker closes its own.
        # The barrier holds every worker on its job, so each of them takes exactly one.
        barrier = threading.Barrier(self.limits.workers, timeout=5)

        def close() -> None:
            connections.close_all()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, close) for _ in range(self.limits.workers))
        )

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:  # always a task under start_server; typed as optional
            return
        self._connections[task] = writer
        peer, answered = _peer(writer), 0
        try:
            answered = await self._messages(reader, writer, peer, task)
        except OSError:
            pass  # the sender went away; nothing to answer
        except Exception as exc:  # never a traceback from a connection (nor patient data in the log)
            logger.error("MLLP connection from %s ended: %s", peer, exc.__class__.__name__)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            logger.info("MLLP connection from %s closed after %d messages", peer, answered)

    async def _messages(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str, task: asyncio.Task[None]
    ) -> int:
        frames = FrameReader(reader, max_bytes=self.limits.max_bytes, idle_seconds=self.limits.idle_seconds)
        answered = 0
        while not self._stopping:
            try:
                block = await frames.next()
            except TimeoutError:
                logger.info("MLLP connection from %s idle: closed", peer)
                break
            except TooLarge as big:
                await self._too_large(reader, writer, peer, big)
                break
            if block is None:
                break
            self._busy.add(task)
            try:
                await self._answer(block, writer, peer)
            finally:
                self._busy.discard(task)
            answered += 1
        return answered

    async def _answer(self, block: bytes, writer: asyncio.StreamWriter, peer: str) -> None:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._executor, receive, block, peer)
        writer.write(frame(answer.ack))
        await writer.drain()
        logger.info(
            "MLLP message from %s: %d bytes, control id %s, ACK %s%s",
            peer,
            len(block),
            control_id_of(answer.ack),
            answer.code,
            " (repeated)" if answer.repeated else "",
        )

    async def _too_large(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str, big: TooLarge
    ) -> None:
        limit = self.limits.max_bytes
        answer = refusal(
            big.head.decode("utf-8", errors="replace"), "AR", f"Not filed: larger than {limit} bytes."
        )
        writer.write(frame(answer.ack))
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        logger.warning("MLLP message from %s over %d bytes: ACK AR, connection closed", peer, limit)
        # Closing with unread bytes would reset the connection and could lose the AR on its way.
        with contextlib.suppress(OSError):  # TimeoutError is one
            async with asyncio.timeout(DISCARD_SECONDS):
                while await reader.read(CHUNK):
                    pass
