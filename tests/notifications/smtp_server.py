"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, or refuses."""

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    at: float

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def outbox_id(self) -> str:
        return str(self.message["X-Outbox-Id"])

    def part(self, content_type: str):
        return next((p for p in self.message.walk() if p.get_content_type() == content_type), None)

    def text(self) -> str:
        return self.part("text/plain").get_content()

    def html(self) -> str:
        return self.part("text/html").get_content()


class RecordingHandler:
    """Accepts everything (`mode="accept"`), or refuses recipients with a reply code."""

    def __init__(self) -> None:
        self.mode = "accept"
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "refuse":
            return "550 5.1.1 No such mailbox here"
        if self.mode == "tempfail":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message, time.time())
            )
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def refuse(self, mode: str = "refuse") -> None:
        self.handler.mode = mode

    def accept(self) -> None:
        self.handler.mode = "accept"

    def start(self) -> "SmtpServer":
        self.controller = Controller(self.handler, hostname=HOST, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} messages arrived, {count} expected")
