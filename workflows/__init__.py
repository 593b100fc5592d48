"""Deterministic journey logic: the OnboardingWorkflow, its models and pure decisions."""
