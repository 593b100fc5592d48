"""The suite's payload keys, codec token and unsubscribe secret: fixed, public, test-only.

conftest puts them in the environment, so every worker, HTTP service and subprocess the tests
start encrypts with KEY_A, as a deployment configured the same way would."""

from __future__ import annotations

import base64

from temporalio.converter import DataConverter

from privacy.converter import data_converter_for
from privacy.keys import parse_keys

KEY_A = "test-a:" + base64.b64encode(b"onboarding-tests-key-A-32-bytes!").decode()
KEY_B = "test-b:" + base64.b64encode(b"onboarding-tests-key-B-32-bytes!").decode()
CODEC_KEYS = KEY_A
CODEC_TOKEN = "codec-token-for-tests-0123456789"
UNSUBSCRIBE_SECRET = "unsubscribe-secret-for-tests-0123456789"

ENV = {
    "ONBOARDING_CODEC_KEYS": CODEC_KEYS,
    "ONBOARDING_CODEC_TOKEN": CODEC_TOKEN,
    "ONBOARDING_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
}


def converter(spec: str = CODEC_KEYS) -> DataConverter:
    """The data converter the suite's servers and workers use (privacy.converter)."""
    return data_converter_for(parse_keys(spec))


CONVERTER = converter()
