"""A local SMTP server that accepts every message and keeps it, for development and tests.

Nothing is relayed. Each message is kept in memory as an `email.message.EmailMessage` and,
when a directory is given, written there as an `.eml` file named from the UTC receive time
and the sanitized Message-ID, so a developer can open it in any mail client.

Standalone (what `make run` starts):

    python -m devstack.smtp_sink --port 1025 --dir .data/mail

In-process, e.g. in a test, on an ephemeral port:

    async with SmtpSink() as sink:
        ...send to sink.host, sink.port (or sink.url)...
        [message] = await sink.wait_for(1)
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import itertools
import logging
import re
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Self

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")
_PARSER = BytesParser(policy=email.policy.default)


@dataclass(frozen=True)
class Received:
    """One accepted message with its SMTP envelope (which may differ from the headers: Bcc)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    path: Path | None


def eml_filename(message_id: str | None, received_at: datetime, seq: int) -> str:
    """`20261120T150405.123456Z_<message-id>.eml`, safe on every file system."""
    stamp = received_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    ident = _UNSAFE.sub("_", (message_id or "").strip().strip("<>")).strip("._")[:100]
    return f"{stamp}_{ident or f'no-message-id-{seq}'}.eml"


class SmtpSink:
    """An SMTP server on the running event loop that accepts any sender and recipient.

    `port=0` picks a free port; read `port` after `start()`. Credentials are accepted but
    not checked, so a sender configured with a user and password works against it too.
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        echo: bool = False,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.host = host
        self.port = port
        self.echo = echo
        self.received: list[Received] = []
        self._changed = asyncio.Condition()
        self._server: asyncio.AbstractServer | None = None
        self._seq = itertools.count(1)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        # aiosmtpd logs every envelope (MAIL FROM, RCPT TO) at INFO: customer addresses.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(
                self,
                hostname="localhost",  # skips socket.getfqdn(), which can stall on DNS
                enable_SMTPUTF8=True,
                auth_require_tls=False,
                authenticator=_accept_any_login,
                loop=loop,
            ),
            host=self.host,
            port=self.port,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    # --- what tests read -------------------------------------------------------------------

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    async def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Return the first `count` messages once that many have arrived."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.received) >= count), timeout)
            except TimeoutError:
                raise TimeoutError(f"expected {count} message(s) within {timeout}s, got {len(self.received)}") from None
            return self.messages[:count]

    # --- aiosmtpd handler hook -------------------------------------------------------------

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        # str only when decode_data=True, which we do not set
        raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        message = _PARSER.parsebytes(raw)
        assert isinstance(message, EmailMessage)
        path = None
        if self.directory is not None:
            path = self._write(raw, message.get("Message-ID"))
        record = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,
            raw=raw,
            path=path,
        )
        async with self._changed:
            self.received.append(record)
            self._changed.notify_all()
        if self.echo:
            where = f" -> {path}" if path else ""
            print(
                f"mail from {record.mail_from} to {', '.join(record.rcpt_tos)}: "
                f"{message.get('Subject', '(no subject)')!r}{where}",
                flush=True,
            )
        return "250 Message accepted for delivery"

    def _write(self, raw: bytes, message_id: str | None) -> Path:
        assert self.directory is not None
        seq = next(self._seq)
        name = eml_filename(message_id, datetime.now(UTC), seq)
        path = self.directory / name
        # "x" never overwrites: a resend with the same Message-ID in the same microsecond
        # still gets its own file.
        for attempt in itertools.count(2):
            try:
                with open(path, "xb") as fh:
                    fh.write(raw)
                return path
            except FileExistsError:
                path = self.directory / f"{name[:-4]}-{attempt}.eml"
        raise AssertionError("unreachable")


def _accept_any_login(*_args: Any) -> AuthResult:
    return AuthResult(success=True)


# --- command line ----------------------------------------------------------------------------


async def _serve(host: str, port: int, directory: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with SmtpSink(directory, host=host, port=port, echo=True) as sink:
        print(f"SMTP sink listening on {sink.url}, writing to {directory}/", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.smtp_sink",
        description="Accept all mail on a local port and store each message as an .eml file.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port, args.dir))
    except OSError as err:
        print(f"SMTP sink could not listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
