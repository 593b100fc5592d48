"""Tests of the worker: its start-up, sandbox imports, caches, crashes and deployment."""
