"""The engine's tests, laid out like the packages they test; shared helpers in tests/harness/."""
