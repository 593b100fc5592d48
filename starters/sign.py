"""Send a JSON body to a Standard Webhooks endpoint, signed as a CRM or the product would.

    python -m starters.sign --url http://localhost:8000/webhooks/deal-closed --body examples/deal-closed.json

The secret comes from ONBOARDING_WEBHOOK_SECRET (the first one if several), else the
development secret `make run` uses."""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import httpx

from devstack import DEV_WEBHOOK_SECRET
from starters.signatures import sign_standard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m starters.sign", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, type=Path, help="a JSON file")
    args = parser.parse_args(argv)
    secret = (os.environ.get("ONBOARDING_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET).replace(",", " ").split()[0]
    body = args.body.read_bytes()
    headers = sign_standard(secret, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    response = httpx.post(args.url, content=body, headers={**headers, "content-type": "application/json"}, timeout=30)
    print(response.status_code, response.text)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
