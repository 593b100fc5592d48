"""The suppression list's file: lookups see every unsubscribe at once, from any process's
writes, never wait for a writer, and follow the file when it is replaced."""

import asyncio
import sqlite3
from datetime import UTC, datetime

from privacy.suppressions import FileSuppressionList, Suppression


def suppression(contact: str, journey: str = "onboarding-D-1") -> Suppression:
    return Suppression(contact_hash=contact, at=datetime(2026, 12, 6, 9, 30, tzinfo=UTC), workflow_id=journey)


async def test_a_lookup_sees_an_unsubscribe_written_elsewhere_at_once(tmp_path):
    reader = FileSuppressionList.in_data_dir(tmp_path)  # as the HTTP service holds it
    writer = FileSuppressionList.in_data_dir(tmp_path)  # as the worker's process would
    assert await reader.find("a" * 64) is None  # no file yet
    assert await writer.add(suppression("a" * 64))
    found = await reader.find("a" * 64)
    assert found == suppression("a" * 64)
    assert await reader.find("b" * 64) is None
    assert await writer.add(suppression("b" * 64, "onboarding-D-2"))
    assert (await reader.find("b" * 64)) == suppression("b" * 64, "onboarding-D-2")
    assert not await writer.add(suppression("a" * 64, "onboarding-D-3"))  # the first record stays
    assert (await reader.find("a" * 64)).workflow_id == "onboarding-D-1"


async def test_a_lookup_does_not_wait_for_a_writer_mid_transaction(tmp_path):
    shared = FileSuppressionList.in_data_dir(tmp_path)
    await shared.add(suppression("a" * 64))
    other = sqlite3.connect(tmp_path / "suppressions.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO suppressions VALUES (?, ?, ?, ?)", ("c" * 64, "2026-12-06T10:00:00+00:00", "j", "s"))
        # the committed state, at once: neither the open write nor its lock holds it up
        found = await asyncio.wait_for(shared.find("a" * 64), timeout=1)
        assert found is not None and await shared.find("c" * 64) is None
        other.execute("COMMIT")
        assert (await shared.find("c" * 64)).workflow_id == "j"
    finally:
        other.close()


async def test_a_replaced_or_removed_file_is_followed(tmp_path):
    reader = FileSuppressionList.in_data_dir(tmp_path)
    await FileSuppressionList.in_data_dir(tmp_path).add(suppression("a" * 64))
    assert await reader.find("a" * 64) is not None

    def remove() -> None:
        for leftover in tmp_path.glob("suppressions.sqlite3*"):
            leftover.unlink()

    remove()
    assert await reader.find("a" * 64) is None  # removed: nothing suppressed, no stale answer
    await FileSuppressionList.in_data_dir(tmp_path).add(suppression("a" * 64))
    assert await reader.find("a" * 64) is not None
    # replaced between two lookups (a restored backup, say): the new file's answers
    remove()
    await FileSuppressionList.in_data_dir(tmp_path).add(suppression("b" * 64))
    assert await reader.find("a" * 64) is None
    assert await reader.find("b" * 64) is not None
