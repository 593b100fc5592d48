"""Frozen copies of earlier workflow versions, so tests can run a journey on old code and
hand it to a worker running the current code (what a deploy does to journeys in flight)."""
