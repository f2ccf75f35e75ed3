"""manage.py hl7_listen --port N [--host 127.0.0.1]: receive HL7 v2 results over MLLP, each message
filed as POST /hl7/v2 files it and answered with its ACK (orders/management/mllp.py). Runs until SIGTERM
or SIGINT, then finishes the messages being filed and stops."""

from __future__ import annotations

import argparse
import asyncio
import signal

from django.core.management.base import BaseCommand, CommandParser

from orders.management.mllp import IDLE_SECONDS, MAX_MESSAGE_BYTES, Limits, Listener


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535; 0 picks a free one)")
    return port


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("give a number above 0")
    return number


class Command(BaseCommand):
    help = "Receive HL7 v2 ORU^R01 results over MLLP and answer each with its ACK."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=_port, required=True, help="TCP port; 0 picks a free one")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument(
            "--max-bytes", type=int, default=MAX_MESSAGE_BYTES, help="largest message accepted"
        )
        parser.add_argument(
            "--idle-timeout",
            type=_positive,
            default=IDLE_SECONDS,
            help="seconds before an idle connection closes",
        )
        parser.add_argument("--workers", type=int, default=8, help="messages filed at once")

    def handle(
        self,
        *args: object,
        port: int,
        host: str,
        max_bytes: int,
        idle_timeout: float,
        workers: int,
        **options: object,
    ) -> None:
        limits = Limits(max_bytes=max(1, max_bytes), idle_seconds=idle_timeout, workers=max(1, workers))
        listener = Listener(host, port, limits)
        asyncio.run(self._run(listener))
        self.stdout.write("Stopped.")

    async def _run(self, listener: Listener) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, listener.stop)  # a graceful stop, not a KeyboardInterrupt
        await listener.serve(ready=lambda port: self._ready(listener.host, port))

    def _ready(self, host: str, port: int) -> None:
        self.stdout.write(f"Listening for MLLP on {host}:{port}")
        self.stdout.flush()
