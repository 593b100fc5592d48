"""The local SMTP sink: real SMTP over loopback with aiosmtplib, on ephemeral ports."""

from __future__ import annotations

import asyncio
import email.policy
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import aiosmtplib
import pytest

from devstack.smtp_sink import SmtpSink, eml_filename

ROOT = Path(__file__).resolve().parents[2]


def _message(subject: str, to: str = "ana@acme.example", msgid: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Onboarding <onboarding@vendor.example>"
    msg["To"] = to
    msg["Subject"] = subject
    if msgid:
        msg["Message-ID"] = msgid
    msg.set_content(f"Body of {subject}: upload your first dataset.\n")
    return msg


async def test_receives_in_memory_without_directory() -> None:
    async with SmtpSink() as sink:
        assert sink.port != 0
        await aiosmtplib.send(_message("Hello"), hostname=sink.host, port=sink.port)
        [got] = await sink.wait_for(1, timeout=5)
    assert got["Subject"] == "Hello"
    assert got["To"] == "ana@acme.example"
    assert "upload your first dataset" in got.get_content()
    assert sink.received[0].path is None
    assert sink.received[0].rcpt_tos == ("ana@acme.example",)


async def test_writes_eml_files_named_by_time_and_message_id(tmp_path: Path) -> None:
    mail_dir = tmp_path / "mail"  # created by the sink
    async with SmtpSink(mail_dir) as sink:
        await aiosmtplib.send(_message("First", msgid="<abc.123@vendor.example>"), hostname=sink.host, port=sink.port)
        await aiosmtplib.send(_message("Second", msgid="<../../evil/\x01 id@x>"), hostname=sink.host, port=sink.port)
        await sink.wait_for(2, timeout=5)

    files = sorted(mail_dir.iterdir())
    assert [p.suffix for p in files] == [".eml", ".eml"]
    assert all(p.parent == mail_dir for p in files)  # nothing escapes the directory
    assert files[0].name.endswith("_abc.123@vendor.example.eml")
    assert "/" not in files[1].name and ".." not in files[1].name
    parsed = [BytesParser(policy=email.policy.default).parsebytes(p.read_bytes()) for p in files]
    assert [m["Subject"] for m in parsed] == ["First", "Second"]
    assert [r.path for r in sink.received] == files


async def test_envelope_recipients_include_bcc_and_credentials_are_accepted() -> None:
    async with SmtpSink() as sink:
        await aiosmtplib.send(
            _message("Bcc"),
            hostname=sink.host,
            port=sink.port,
            sender="bounce@vendor.example",
            recipients=["ana@acme.example", "owner@vendor.example"],
            username="any",
            password="thing",
        )
        await sink.wait_for(1, timeout=5)
    record = sink.received[0]
    assert record.mail_from == "bounce@vendor.example"
    assert record.rcpt_tos == ("ana@acme.example", "owner@vendor.example")


async def test_wait_for_counts_concurrent_senders_and_times_out_clearly() -> None:
    async with SmtpSink() as sink:
        waiter = asyncio.create_task(sink.wait_for(5, timeout=5))
        await asyncio.gather(
            *(aiosmtplib.send(_message(f"m{i}"), hostname=sink.host, port=sink.port) for i in range(5))
        )
        got = await waiter
        assert sorted(m["Subject"] for m in got) == [f"m{i}" for i in range(5)]
        with pytest.raises(TimeoutError, match="expected 6 message"):
            await sink.wait_for(6, timeout=0.2)


async def test_same_message_id_twice_keeps_both_files(tmp_path: Path) -> None:
    async with SmtpSink(tmp_path) as sink:
        for _ in range(2):
            await aiosmtplib.send(_message("Dup", msgid="<same@x>"), hostname=sink.host, port=sink.port)
        await sink.wait_for(2, timeout=5)
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_eml_filename_without_message_id() -> None:
    at = datetime(2026, 11, 20, 15, 4, 5, 123456, tzinfo=UTC)
    assert eml_filename(None, at, 7) == "20261120T150405.123456Z_no-message-id-7.eml"
    assert eml_filename("<a b/c@d>", at, 1) == "20261120T150405.123456Z_a_b_c@d.eml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_command_line_server_writes_files(tmp_path: Path) -> None:
    """`python -m devstack.smtp_sink`, as `make run` starts it, stops cleanly on SIGTERM."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.smtp_sink", "--port", str(port), "--dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
                await smtp.connect()
                break
            except (OSError, aiosmtplib.SMTPConnectError):
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "sink did not listen within 10 s"
                await asyncio.sleep(0.1)
        await smtp.send_message(_message("CLI", msgid="<cli@x>"))
        await smtp.quit()
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    [path] = list(tmp_path.glob("*_cli@x.eml"))
    assert b"Subject: CLI" in path.read_bytes()
    assert "'CLI'" in out and str(path.name) in out
