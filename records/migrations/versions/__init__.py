"""Revisions, oldest first: 0001 the sent-ledger as it was, 0002 deliveries, tasks, moments."""
