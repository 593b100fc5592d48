"""The one data converter every process uses: pydantic JSON payloads, encrypted by the codec.

Worker, HTTP service, `onboarding replay`, the benchmarks and the tests all build it here, so
what one writes the others read. Failure messages and stack traces go into the encoded
attributes of a failure (and so through the codec too): an error text that quotes a customer
is not left in plain text in history. A staff update's refusal is the one exception: it names
the field and the rule, never the customer, and is read by whoever sent it (privacy.failures).

Workers and replayers read with `privacy.undecodable.workflow_converter` of it: a payload
that does not decode reaches the workflow as something it can refuse, instead of failing
its workflow tasks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from privacy.codec import EncryptionCodec
from privacy.failures import RefusalsReadable
from privacy.keys import CodecKeys, load_keys


def data_converter_for(keys: CodecKeys | None) -> DataConverter:
    """The converter for these keys; None: no encryption (ONBOARDING_CODEC_KEYS=plaintext)."""
    if keys is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=RefusalsReadable,
    )


def data_converter(env: Mapping[str, str] | None = None) -> DataConverter:
    """The converter the environment configures (privacy.keys). Raises CodecConfigError when
    no key is configured."""
    return data_converter_for(load_keys(env))
