"""Tests of the journey workflow: its decisions, business hours, follow-ups, escalations, holds and defects."""
