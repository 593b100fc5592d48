"""Tests of the owners: the roster, assignment within capacity and acknowledgement."""
