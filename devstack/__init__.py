"""The local stack of `make run` and `make demo`: dev server, SMTP sink, worker and HTTP starters
on this machine, with the fixed development webhook key."""

import base64 as _base64

# A fixed, public key so signed requests can be made by hand against the local stack.
# Never valid anywhere else: deployments set ONBOARDING_WEBHOOK_SECRET themselves.
DEV_WEBHOOK_SECRET = "whsec_" + _base64.b64encode(b"onboarding-engine-local-dev-key!").decode()
