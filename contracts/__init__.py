"""Every shape that crosses a boundary, once, by concept: what starts a journey and what it
carries (journey.py), the deal (deal.py), signals, staff updates, the status query, owners,
messages, escalation tasks, moments, the playbook a journey runs, search attributes and start
options. Plain data: these modules import pydantic, the standard library and the SDK's types
(Jinja2 only to check a message template's syntax), never another package of this project,
so the workflow sandbox passes them through as they are (runtime/sandbox.py)."""
