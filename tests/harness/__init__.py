"""Shared test helpers: deals, journey workers, HTTP peers, fixtures and checks used across the tests."""
