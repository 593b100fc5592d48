"""The journey lab: walk a playbook as customers would, on the real journey workflow in
virtual time, before it ships (`onboarding simulate`), and replay what real customers did
through a candidate playbook (`onboarding backtest`). See docs/lab.md."""
