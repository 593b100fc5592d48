"""Tests of the replay tooling: the history corpus, the replay gate and `onboarding replay`."""
