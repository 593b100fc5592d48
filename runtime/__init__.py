"""The worker process's plumbing beside worker.py: the workflow sandbox's settings
(sandbox.py, context_free.py) and the one client connection (client.py)."""
