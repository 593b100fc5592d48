"""The codec server as the Web UI and the CLI call it: Temporal's /encode and /decode
protocol (Payloads as protobuf JSON), CORS for the UI origin with credentials and the
X-Namespace header, a bearer token or a signed-in session, 400/401/403 without leaking
anything (real uvicorn on loopback)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest_asyncio

from privacy.codec import EncryptionCodec
from privacy.codec_server import SESSION_COOKIE, create_codec_app
from privacy.keys import parse_keys
from tests.harness.privacy_keys import CODEC_TOKEN, KEY_A
from tests.harness.starters_fixtures import serve

UI = "http://127.0.0.1:8233"
AUTH = {"Authorization": f"Bearer {CODEC_TOKEN}", "X-Namespace": "default"}


def plain(value: object) -> dict:
    return {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(json.dumps(value).encode()).decode(),
    }


@pytest_asyncio.fixture
async def codec_http():
    from fastapi import FastAPI

    app = FastAPI()
    app.mount("/codec", create_codec_app(EncryptionCodec(parse_keys(KEY_A)), [CODEC_TOKEN], [UI], "default"))
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        yield http


async def test_encode_then_decode_round_trips_in_the_protocols_shape(codec_http):
    body = {"payloads": [plain({"email": "ana@acme.example"}), plain("Ana Ruiz")]}
    encoded = await codec_http.post("/codec/encode", json=body, headers=AUTH)
    assert encoded.status_code == 200 and encoded.headers["content-type"] == "application/json"
    payloads = encoded.json()["payloads"]
    assert [base64.b64decode(p["metadata"]["encoding"]) for p in payloads] == [b"binary/encrypted"] * 2
    assert {base64.b64decode(p["metadata"]["encryption-key-id"]) for p in payloads} == {b"test-a"}
    assert b"ana@acme.example" not in base64.b64decode(payloads[0]["data"])
    decoded = await codec_http.post("/codec/decode", json={"payloads": payloads}, headers=AUTH)
    assert decoded.status_code == 200
    assert decoded.json() == body
    # plain payloads (the recorded corpus, input typed without the codec) come back as they are
    assert (await codec_http.post("/codec/decode", json=body, headers=AUTH)).json() == body
    assert (await codec_http.post("/codec/decode", json={}, headers=AUTH)).json() == {"payloads": []}


async def test_without_a_valid_token_nothing_is_decoded(codec_http):
    encoded = (await codec_http.post("/codec/encode", json={"payloads": [plain("x")]}, headers=AUTH)).json()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {CODEC_TOKEN}"}):
        refused = await codec_http.post("/codec/decode", json=encoded, headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "x" not in refused.json().get("payloads", [])
    other_namespace = await codec_http.post("/codec/decode", json=encoded, headers={**AUTH, "X-Namespace": "other"})
    assert other_namespace.status_code == 403


async def test_bad_bodies_and_altered_payloads_are_400(codec_http):
    assert (await codec_http.post("/codec/decode", content=b"{not json", headers=AUTH)).status_code == 400
    assert (await codec_http.post("/codec/decode", json={"payloads": "x"}, headers=AUTH)).status_code == 400
    [payload] = (await codec_http.post("/codec/encode", json={"payloads": [plain("x")]}, headers=AUTH)).json()[
        "payloads"
    ]
    data = bytearray(base64.b64decode(payload["data"]))
    data[-1] ^= 1
    payload["data"] = base64.b64encode(bytes(data)).decode()
    altered = await codec_http.post("/codec/decode", json={"payloads": [payload]}, headers=AUTH)
    assert altered.status_code == 400 and "altered" in altered.json()["detail"]


async def test_cors_preflight_allows_the_ui_origin_with_credentials_and_namespace_header(codec_http):
    preflight = await codec_http.options("/codec/decode", headers={
        "Origin": UI, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    })  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI
    assert preflight.headers["access-control-allow-credentials"] == "true"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"x-namespace", "content-type", "authorization"} <= set(h.strip() for h in allowed.split(","))
    stranger = await codec_http.options("/codec/decode", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-namespace",
    })  # fmt: skip
    assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers
    answer = await codec_http.post("/codec/decode", json={"payloads": []}, headers={**AUTH, "Origin": UI})
    assert answer.headers["access-control-allow-origin"] == UI


async def test_a_signed_in_browser_decodes_with_its_session_cookie(codec_http):
    encoded = (await codec_http.post("/codec/encode", json={"payloads": [plain("Ana Ruiz")]}, headers=AUTH)).json()
    page = await codec_http.get("/codec/session")
    assert page.status_code == 200 and 'name="token"' in page.text
    wrong = await codec_http.post("/codec/session", data={"token": "nope"})
    assert wrong.status_code == 401 and SESSION_COOKIE not in wrong.cookies
    signed_in = await codec_http.post("/codec/session", data={"token": CODEC_TOKEN})
    assert signed_in.status_code == 303
    cookie = signed_in.cookies[SESSION_COOKIE]
    assert CODEC_TOKEN not in cookie  # a MAC of the token, not the token
    set_cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/codec" in set_cookie
    codec_http.cookies.clear()
    codec_http.cookies.set(SESSION_COOKIE, cookie)
    decoded = await codec_http.post("/codec/decode", json=encoded, headers={"X-Namespace": "default"})
    assert decoded.status_code == 200 and decoded.json()["payloads"][0] == plain("Ana Ruiz")
    codec_http.cookies.clear()
    codec_http.cookies.set(SESSION_COOKIE, "9999999999.forged")
    assert (await codec_http.post("/codec/decode", json=encoded)).status_code == 401


async def test_a_malformed_session_cookie_is_401_never_500(codec_http):
    encoded = (await codec_http.post("/codec/encode", json={"payloads": [plain("x")]}, headers=AUTH)).json()
    for cookie in ("9999999999.\u00e9", "\u00b2\u00b2.abc", "\u0661\u0662.abc", "9999999999.", ".", "x" * 5000):
        raw = f"{SESSION_COOKIE}={cookie}".encode()  # as a browser may send it: UTF-8 bytes
        refused = await codec_http.post(
            "/codec/decode", json=encoded, headers={"X-Namespace": "default", "Cookie": raw}
        )
        assert refused.status_code == 401, (cookie[:20], refused.status_code)


def test_session_cookies_expire_at_their_second_against_the_given_clock():
    from privacy.codec_server import SESSION_SECONDS, CodecAccess

    access = CodecAccess([CODEC_TOKEN])
    cookie = access.new_session(CODEC_TOKEN, now=0.0)  # an explicit 0 is a time, not "now"
    assert cookie.startswith(f"{SESSION_SECONDS}.")
    assert access.session_ok(cookie, now=SESSION_SECONDS)
    assert not access.session_ok(cookie, now=SESSION_SECONDS + 1)
    assert not CodecAccess(["other"]).session_ok(cookie, now=0.0)
