"""Tests of the engine's records: the delivery ledger, moments, the records command and crash recovery."""
