"""HL7 v2 results over MLLP (orders/management/mllp.py, manage.py hl7_listen): the real listener on a free
port in a thread, real ORU messages over real sockets. Each message is answered with its ACK in an
MLLP frame and filed once; several messages on a connection and several connections at once; noise
before a start block ignored; a bad message answered AR, an oversized one AR and the connection
closed, an idle connection closed; the log names no patient."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from orders.management.commands.hl7_listen import Command
from orders.management.mllp import Limits, Listener, header_of
from orders.models import InboundMessage, ResultReport
from orders.samples import oru_for
from tests.factories import PatientFactory

START, END = b"\x0b", b"\x1c\r"
ROOT = Path(__file__).resolve().parents[2]


def framed(text: str | bytes) -> bytes:
    return START + (text.encode() if isinstance(text, str) else text) + END


def read_frames(sock: socket.socket, count: int) -> list[bytes]:
    """`count` whole MLLP frames, each checked to start and end as MLLP says."""
    data = b""
    while data.count(END) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    frames = [part + END for part in data.split(END) if part]
    assert len(frames) == count, data
    for one in frames:
        assert one.startswith(START) and one.endswith(END)
    return frames


def msa(frame: bytes) -> list[str]:
    text = frame.strip(START + END).decode()
    line = next(s for s in text.split("\r") if s.startswith("MSA|"))
    return line.split("|")


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def start_listener(limits: Limits) -> tuple[Listener, threading.Thread]:
    listener = Listener("127.0.0.1", 0, limits)
    ready = threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(listener.serve(ready=lambda _port: ready.set())), daemon=True
    )
    thread.start()
    assert ready.wait(10), "the listener did not start"
    return listener, thread


@pytest.fixture
def listener(transactional_db) -> Iterator[Listener]:
    server, thread = start_listener(Limits(idle_seconds=5.0, workers=4))
    yield server
    server.stop()
    thread.join(20)
    assert not thread.is_alive()


@pytest.fixture
def patient(transactional_db):
    return PatientFactory()


def connect(listener: Listener) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", listener.port), timeout=10)
    return sock


def test_a_result_is_answered_aa_in_an_mllp_frame_and_filed(listener, patient, caplog):
    caplog.set_level(logging.INFO, logger="orders.management.mllp")
    with connect(listener) as sock:
        sock.sendall(framed(oru_for(patient, "FBC", control_id="MLLP0001")))
        (ack,) = read_frames(sock, 1)
        port = sock.getsockname()[1]
    assert msa(ack)[1:3] == ["AA", "MLLP0001"]
    assert ack.startswith(b"\x0bMSH|") and ack.endswith(b"\x1c\x0d")
    report = ResultReport.objects.get()
    assert report.patient == patient and report.name == "Full blood count"
    inbound = InboundMessage.objects.get()
    assert (inbound.channel, inbound.client) == ("mllp", f"127.0.0.1:{port}")
    # The log says what happened without naming the patient.
    assert "MLLP0001" in caplog.text and "ACK AA" in caplog.text
    for private in (patient.family_name, patient.nhs_number, patient.hospital_number):
        assert private not in caplog.text


def test_two_messages_on_one_connection_are_both_answered(listener, patient):
    with connect(listener) as sock:
        sock.sendall(framed(oru_for(patient, control_id="ONE")) + framed(oru_for(patient, control_id="TWO")))
        first, second = read_frames(sock, 2)
    assert msa(first)[1:3] == ["AA", "ONE"] and msa(second)[1:3] == ["AA", "TWO"]
    assert ResultReport.objects.filter(patient=patient).count() == 2


def test_the_same_message_twice_files_once(listener, patient):
    message = oru_for(patient, "CRP", control_id="TWICE")
    with connect(listener) as sock:
        sock.sendall(framed(message))
        (first,) = read_frames(sock, 1)
        sock.sendall(framed(message))
        (second,) = read_frames(sock, 1)
    assert first == second and msa(first)[1] == "AA"
    assert ResultReport.objects.count() == 1 and InboundMessage.objects.count() == 1


def test_connections_are_served_at_once(listener, patient):
    with connect(listener) as waiting, connect(listener) as other:
        waiting.sendall(b"\x0bMSH|^~\\&|")  # half a message: this connection waits for the rest
        other.sendall(framed(oru_for(patient, control_id="OTHER")))
        assert msa(read_frames(other, 1)[0])[1:3] == ["AA", "OTHER"]
        waiting.sendall(b"A|B|C|D|20260101||ORU^R01|HALF|P|2.4\rOBR|1\r" + END)
        assert msa(read_frames(waiting, 1)[0])[1:3] == ["AR", "HALF"]  # no PID


def test_bytes_before_the_start_block_are_ignored(listener, patient):
    with connect(listener) as sock:
        sock.sendall(b"\r\nnoise\x00\xff\x1c\r" + framed(oru_for(patient, control_id="AFTERNOISE")))
        (ack,) = read_frames(sock, 1)
    assert msa(ack)[1:3] == ["AA", "AFTERNOISE"]
    assert ResultReport.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        b"PID|||1\r",
        b"\xff\xfe not utf-8 and not HL7",
        b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X1|P|2.4\rPID|||1\r",
        b"",
    ],
)
def test_a_malformed_message_is_answered_ar_and_the_connection_stays_open(listener, patient, body):
    with connect(listener) as sock:
        sock.sendall(framed(body))
        (refused,) = read_frames(sock, 1)
        sock.sendall(framed(oru_for(patient, control_id="GOODAFTER")))
        (good,) = read_frames(sock, 1)
    assert msa(refused)[1] == "AR" and b"ERR|" in refused
    assert msa(good)[1:3] == ["AA", "GOODAFTER"]
    assert ResultReport.objects.count() == 1


def test_an_oversized_message_is_answered_ar_and_the_connection_closed(listener, patient):
    message = oru_for(patient, control_id="TOOBIG") + "NTE|1||" + "x" * 1_100_000 + "\r"
    with connect(listener) as sock:
        sock.sendall(framed(message))
        (ack,) = read_frames(sock, 1)
        assert closed_by_server(sock)
    assert msa(ack)[1:3] == ["AR", "TOOBIG"] and "larger than 1000000 bytes" in msa(ack)[3]
    assert not ResultReport.objects.exists() and not InboundMessage.objects.exists()


def test_an_unexpected_error_is_answered_ae(listener, patient, monkeypatch, caplog):
    def broken(text, **kwargs):
        raise RuntimeError(f"database gone while filing {text[:200]}")

    monkeypatch.setattr("orders.management.mllp.results_receive", broken)
    with connect(listener) as sock:
        sock.sendall(framed(oru_for(patient, control_id="BROKEN")))
        (ack,) = read_frames(sock, 1)
    assert msa(ack)[1:3] == ["AE", "BROKEN"]
    assert "RuntimeError" in caplog.text and patient.family_name not in caplog.text


def test_the_header_of_a_message_not_read_whole_is_read_by_hand():
    head = "MSH#^~\\&#LAB#RXX01#EPR#RXX#20260101##ORU^R01#C42|X#P#2.5\rPID#"
    assert header_of(head)["control_id"] == "C42X"  # never a | that would break the ACK's MSA
    assert header_of(head)["version"] == "2.5" and header_of("PID|1") == {} and header_of("") == {}


def test_an_idle_connection_is_closed(transactional_db):
    server, thread = start_listener(Limits(idle_seconds=0.3, workers=1))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"\x0bMSH|")  # started, never finished
            assert closed_by_server(sock)
    finally:
        server.stop()
        thread.join(10)


def test_the_command_reads_its_arguments():
    parser = Command().create_parser("manage.py", "hl7_listen")
    options = parser.parse_args(["--port", "2575"])
    assert (options.port, options.host, options.max_bytes) == (2575, "127.0.0.1", 1_000_000)
    assert (
        parser.parse_args(["--port", "0", "--host", "127.0.0.2", "--idle-timeout", "30"]).idle_timeout == 30
    )
    for wrong in (["--port", "70000"], ["--port", "x"], [], ["--port", "1", "--idle-timeout", "0"]):
        with pytest.raises(CommandError):
            parser.parse_args(wrong)


def test_the_command_stops_gracefully_on_sigterm():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "epr.settings.test", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # our own manage.py, fixed arguments
        [sys.executable, "manage.py", "hl7_listen", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Listening for MLLP on 127.0.0.1:"), line + (
            process.stderr.read() if process.stderr else ""
        )
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "Stopped." in out
    assert "Traceback" not in err
