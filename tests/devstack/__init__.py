"""Tests of the local stack: docker-compose, the demo stack and the SMTP sink."""
