"""The `onboarding` command (main.py): one front door for the engine's tools."""
