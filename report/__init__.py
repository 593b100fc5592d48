"""The friction report: what the journeys' moments say about where customers wait, what
moves them, how often humans are needed, and which playbook variant wins (docs/report.md)."""
