"""Orders out (orders/services/outbound.py) through their transports: MLLP to a real, tiny fake
department system on a free port (answering AA, AE or AR, hanging up without answering, or not
there at all), and the default folder outbox. A message is sent once, its ACK kept; a failure is
recorded and committed before SendFailed is raised, then sent by a later try; a refusal is kept with
its reason; a cancellation waits for its new-order message."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest
from django.db import connection

from epr.accounts.roles import Role
from orders.models import OrderableTest, OrderStatus, OutboundMessage, SendState
from orders.services.catalogue import catalogue_load
from orders.services.outbound import SendFailed, message_send
from orders.services.requests import order_cancel, orders_place
from tests.factories import PatientFactory, UserFactory

START, END = b"\x0b", b"\x1c\r"


class FakeDepartment:
    """A department system: reads one framed message per connection and answers as `mode` says
    (AA, AE, AR, or "close" to hang up without answering), keeping what it received."""

    def __init__(self, mode: str = "AA", text: str = "") -> None:
        self.mode, self.text = mode, text
        self.received: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)  # so the accepting thread notices it should stop
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                self._one(conn)

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while not data.endswith(END):
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        assert data.startswith(START)
        message = data[1:-2].decode()
        self.received.append(message)
        if self.mode == "close":
            return
        control = message.split("\r")[0].split("|")[9]
        ack = (
            f"MSH|^~\\&|LAB|RXX|EPR|RXX|20260101120000||ACK^O21^ACK|A{control}|P|2.4\r"
            f"MSA|{self.mode}|{control}|{self.text}\r"
        )
        conn.sendall(START + ack.encode() + END)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._sock.close()


@pytest.fixture
def department() -> Iterator[FakeDepartment]:
    fake = FakeDepartment()
    yield fake
    fake.stop()


@pytest.fixture
def doctor(db):
    return UserFactory(username="drcore", role=Role.DOCTOR, grade="core")


@pytest.fixture
def fbc(db):
    catalogue_load()
    return OrderableTest.objects.get(code="FBC")


def place(doctor, fbc, **kwargs):
    (order,) = orders_place(requested_by=doctor, patient=PatientFactory(), tests=[fbc], **kwargs)
    return order


def nothing_listening() -> str:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return f"127.0.0.1:{sock.getsockname()[1]}"  # free now, and nobody listens once closed


# Under the `db` fixture the test's transaction never commits, so placing an order queues its
# message without the after-commit send: each test sends it itself.


def test_aa_marks_the_message_and_the_order_sent_with_the_ack_kept(settings, department, doctor, fbc):
    settings.EPR_ORDERS_MLLP = department.address
    order = place(doctor, fbc)
    message = order.messages.get()
    assert message.state == SendState.QUEUED

    assert message_send(message_id=message.pk) == SendState.SENT

    message.refresh_from_db()
    order.refresh_from_db()
    assert department.received == [message.raw]
    assert (message.state, message.ack_code, message.transport, message.attempts) == ("sent", "AA", "mllp", 1)
    assert f"MSA|AA|{message.control_id}" in message.ack_raw and message.sent_at is not None
    assert (order.send_state, order.status) == (SendState.SENT, OrderStatus.SENT)


@pytest.mark.django_db(transaction=True)
def test_ae_is_a_failure_committed_and_a_later_aa_sends_it(settings, department, doctor, fbc):
    department.mode, department.text = "AE", "Database busy"
    settings.EPR_ORDERS_MLLP = department.address
    order = place(doctor, fbc)  # committed: the eager task tries at once, is answered AE
    message = order.messages.get()
    assert len(department.received) == 1

    with pytest.raises(SendFailed, match="answered AE: Database busy"):
        message_send(message_id=message.pk)

    # Seen from another connection: the failure was committed before SendFailed was raised.
    seen: dict[str, object] = {}

    def look() -> None:
        try:
            row = OutboundMessage.objects.select_related("order").get(pk=message.pk)
            seen.update(
                state=row.state, attempts=row.attempts, order=row.order.send_state, why=row.last_error
            )
        finally:
            connection.close()

    looker = threading.Thread(target=look)
    looker.start()
    looker.join()
    assert seen == {
        "state": "failed",
        "attempts": 2,
        "order": "failed",
        "why": "The department system answered AE: Database busy",
    }

    department.mode = "AA"
    assert message_send(message_id=message.pk) == SendState.SENT
    message.refresh_from_db()
    order.refresh_from_db()
    assert (message.state, message.ack_code, message.attempts, message.last_error) == ("sent", "AA", 3, "")
    assert (order.send_state, order.status) == (SendState.SENT, OrderStatus.SENT)


def test_ar_is_a_refusal_kept_with_its_reason_and_not_sent_again(settings, department, doctor, fbc):
    department.mode, department.text = "AR", "Unknown test code FBC"
    settings.EPR_ORDERS_MLLP = department.address
    order = place(doctor, fbc)
    message = order.messages.get()

    assert message_send(message_id=message.pk) == SendState.REJECTED
    assert message_send(message_id=message.pk) == SendState.REJECTED  # sending again would be refused again

    message.refresh_from_db()
    order.refresh_from_db()
    assert len(department.received) == 1
    assert (message.state, message.ack_code, message.last_error) == (
        "rejected",
        "AR",
        "Unknown test code FBC",
    )
    assert "MSA|AR|" in message.ack_raw
    assert (order.send_state, order.status) == (SendState.REJECTED, OrderStatus.PLACED)


def test_a_department_that_hangs_up_without_answering_is_a_failure(settings, department, doctor, fbc):
    department.mode = "close"
    settings.EPR_ORDERS_MLLP = department.address
    order = place(doctor, fbc)
    message = order.messages.get()

    with pytest.raises(SendFailed, match="closed the connection before it acknowledged"):
        message_send(message_id=message.pk)

    message.refresh_from_db()
    assert (message.state, message.attempts, message.ack_raw) == ("failed", 1, "")
    assert len(department.received) == 1


def test_a_department_not_listening_is_a_failure_counted_each_try(settings, doctor, fbc):
    settings.EPR_ORDERS_MLLP = nothing_listening()
    order = place(doctor, fbc)
    message = order.messages.get()

    for _ in range(2):
        with pytest.raises(SendFailed, match="Could not reach the department system"):
            message_send(message_id=message.pk)

    message.refresh_from_db()
    order.refresh_from_db()
    assert (message.state, message.attempts, message.transport) == ("failed", 2, "mllp")
    assert "Could not reach" in message.last_error and message.last_attempt_at is not None
    assert (order.send_state, order.status) == (SendState.FAILED, OrderStatus.PLACED)


def test_a_message_sent_is_not_sent_again(settings, department, doctor, fbc):
    settings.EPR_ORDERS_MLLP = department.address
    message = place(doctor, fbc).messages.get()

    assert message_send(message_id=message.pk) == SendState.SENT
    assert message_send(message_id=message.pk) == SendState.SENT  # a retried task

    message.refresh_from_db()
    assert len(department.received) == 1 and message.attempts == 1


def test_a_cancellation_waits_for_its_new_order_message(settings, department, doctor, fbc):
    settings.EPR_ORDERS_MLLP = department.address
    order = place(doctor, fbc)
    order_cancel(order=order, by=doctor, reason="Ordered for the wrong patient")
    new, cancel = order.messages.order_by("pk")
    assert (new.event, cancel.event) == ("NW", "CA")

    with pytest.raises(SendFailed, match="earlier message of this order"):
        message_send(message_id=cancel.pk)
    cancel.refresh_from_db()
    assert department.received == [] and (cancel.state, cancel.attempts) == ("queued", 0)

    assert message_send(message_id=new.pk) == SendState.SENT
    assert message_send(message_id=cancel.pk) == SendState.SENT

    order.refresh_from_db()
    assert department.received == [new.raw, cancel.raw]
    assert hl7.parse(cancel.raw).extract_field("ORC", 1, 1) == "CA"
    assert (order.status, order.send_state) == (OrderStatus.CANCELLED, SendState.SENT)


def test_the_folder_outbox_gets_the_whole_message_and_no_partial_file(settings, tmp_path, doctor, fbc):
    settings.EPR_ORDERS_MLLP = ""
    settings.EPR_ORDERS_OUTBOX = str(tmp_path / "outbox")
    order = place(doctor, fbc)
    message = order.messages.get()

    assert message_send(message_id=message.pk) == SendState.SENT

    message.refresh_from_db()
    order.refresh_from_db()
    outbox = Path(settings.EPR_ORDERS_OUTBOX)
    assert [p.name for p in outbox.iterdir()] == [f"{message.control_id}.hl7"]  # no .part left
    assert (outbox / f"{message.control_id}.hl7").read_bytes() == message.raw.encode()
    assert (message.state, message.transport, message.ack_code) == ("sent", "folder", "")
    assert (order.send_state, order.status) == (SendState.SENT, OrderStatus.SENT)

    parsed = hl7.parse(message.raw)
    assert (parsed.extract_field("MSH", 1, 9, 1, 1), parsed.extract_field("MSH", 1, 9, 1, 2)) == (
        "OML",
        "O21",
    )
    assert parsed.extract_field("MSH", 1, 10) == message.control_id
    assert parsed.extract_field("PID", 1, 3, 1, 1) == order.patient.nhs_number
    assert parsed.extract_field("PID", 1, 3, 1, 4) == "NHS"
    assert parsed.extract_field("PID", 1, 3, 1, 5) == "NH"
    assert parsed.extract_field("PID", 1, 3, 2, 1) == order.patient.hospital_number
    assert parsed.extract_field("ORC", 1, 1) == "NW"
    assert parsed.extract_field("ORC", 1, 2, 1, 1) == order.number
    assert parsed.extract_field("OBR", 1, 2, 1, 1) == order.number
    assert parsed.extract_field("OBR", 1, 4, 1, 1) == "FBC"


def test_the_order_is_not_shown_sent_while_its_cancellation_waits(settings, department, doctor, fbc):
    settings.EPR_ORDERS_MLLP = department.address
    order = place(doctor, fbc)
    order_cancel(order=order, by=doctor, reason="Ordered for the wrong patient")
    new = order.messages.get(event="NW")

    message_send(message_id=new.pk)

    order.refresh_from_db()
    assert order.send_state != SendState.SENT


def test_an_empty_mllp_answer_is_not_an_acknowledgement(settings, doctor, fbc):
    with socket.create_server(("127.0.0.1", 0)) as server:
        settings.EPR_ORDERS_MLLP = f"127.0.0.1:{server.getsockname()[1]}"
        message = place(doctor, fbc).messages.get()

        def answer_empty() -> None:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                data = b""
                while not data.endswith(END):
                    data += conn.recv(65536)
                conn.sendall(START + END)

        thread = threading.Thread(target=answer_empty, daemon=True)
        thread.start()
        try:
            state = message_send(message_id=message.pk)
        except SendFailed:
            state = "failed"
        thread.join(5)
    assert state != SendState.SENT
