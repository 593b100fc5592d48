"""Playbooks (YAML data) and the owner roster, with their validating loaders."""
