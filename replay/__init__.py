"""Replay tooling: the recorded history corpus, the replay gate and `onboarding replay`."""
