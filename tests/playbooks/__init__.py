"""Tests of the playbooks: schema, selection, variants, caches and the playbooks command."""
