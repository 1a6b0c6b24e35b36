"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

``sink.reply = "451 4.3.0 Try again later"`` makes it refuse the next messages with that answer
(set it back to None to accept again). Messages are parsed with the ``email`` package.
"""
from __future__ import annotations

import email
import io
import socket
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on port 0 (a free port chosen by the system)."""

    def _trigger_server(self):
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None
        self.controller: _Controller | None = None
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        raw = envelope.original_content or envelope.content
        self.messages.append(email.message_from_bytes(raw, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_SECURITY": "none",
                "SMTP_TIMEOUT": 5.0, "MAIL_FROM": "eFaktura <efaktura@example.no>"}


def free_port() -> int:
    """A port nobody listens on (for 'the server is down')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_of(msg: EmailMessage) -> str | None:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else None


def pdf_attachments(msg: EmailMessage) -> list[tuple[str, bytes]]:
    return [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()
            if p.get_content_type() == "application/pdf"]


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def smtp_server():
    sink = SmtpSink().start()
    yield sink
    sink.stop()
