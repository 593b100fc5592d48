"""The codec server for the Temporal Web UI and CLI, mounted by the HTTP service at /codec.

    POST /codec/encode   {"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}
    POST /codec/decode   the same shape back: Temporal's remote codec protocol (Payloads as
                         protobuf JSON, bytes in base64), 400 on bad JSON or a payload that
                         does not decrypt, 401 without a valid token.

Who may decrypt: a request with `Authorization: Bearer <token>` for one of the tokens in
ONBOARDING_CODEC_TOKEN (the CLI's `--codec-auth`, scripts), or a browser that signed in at
/codec/session with such a token (an HttpOnly session cookie, sent by the Web UI when its
codec setting "include cross-origin credentials" is on). Everyone else gets 401, and the UI
then shows the ciphertext. CORS answers only the configured UI origins, with credentials and
the UI's `X-Namespace` header allowed. Nothing decrypted is ever logged.

The same sign-in opens the service's other staff pages (`also_for`: the customer lookup at
/support/find), by the same cookie sent to those paths only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import time
from collections.abc import Sequence
from urllib.parse import parse_qs

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.middleware.cors import CORSMiddleware
from temporalio.api.common.v1 import Payloads

from privacy.codec import EncryptionCodec, PayloadDecryptionError

log = structlog.get_logger("privacy.codec_server")

SESSION_COOKIE = "onboarding_codec_session"
SESSION_SECONDS = 12 * 3600
MAX_BODY_BYTES = 8 * 1024 * 1024
# What the Web UI sends: its fetch() carries these headers, so the preflight must allow them.
ALLOWED_HEADERS = ["Content-Type", "X-Namespace", "Authorization", "Authorization-Extras"]


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


class CodecAccess:
    """Bearer tokens, and the session cookies made from them."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [t.encode() for t in tokens if t]

    @property
    def configured(self) -> bool:
        return bool(self._tokens)

    def token_ok(self, presented: str) -> bool:
        candidate = presented.encode()
        # Compare against every token, always: the time taken does not tell which matched.
        return any([hmac.compare_digest(candidate, t) for t in self._tokens])

    def new_session(self, presented: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + SESSION_SECONDS)
        return f"{expires}.{self._mac(presented.encode(), expires)}"

    def session_ok(self, cookie: str, now: float | None = None) -> bool:
        # A cookie is anyone's text: only ASCII digits and bytes are compared (a str with
        # non-ASCII characters makes compare_digest raise; "²".isdigit() is True, int() fails).
        expires_text, _, mac = cookie.partition(".")
        if not (expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12):
            return False
        expires = int(expires_text)
        if expires < (time.time() if now is None else now):
            return False
        presented = mac.encode("utf-8", "surrogateescape")
        return any([hmac.compare_digest(presented, self._mac(t, expires).encode()) for t in self._tokens])

    @staticmethod
    def _mac(token: bytes, expires: int) -> str:
        digest = hmac.new(token, f"codec-session:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def allowed(self, request: Request) -> bool:
        if not self._tokens:
            return False
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and presented and self.token_ok(presented.strip()):
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and self.session_ok(cookie)


def create_codec_app(
    codec: EncryptionCodec | None,
    tokens: Sequence[str],
    ui_origins: Sequence[str],
    namespace: str,
    *,
    also_for: Sequence[str] = (),
) -> FastAPI:
    """The /codec sub-application. `codec` None: the deployment runs unencrypted, and the
    endpoints hand payloads back unchanged. `also_for`: the service's other staff pages the
    session signs in to (paths beside the mount, e.g. "/support"); its cookie goes to those
    paths too, and nowhere else."""
    access = CodecAccess(tokens)
    app = FastAPI(
        title="Onboarding codec server",
        description="Temporal remote codec: /encode and /decode for the Web UI and the CLI.",
        docs_url=None, redoc_url=None, openapi_url=None,
    )  # fmt: skip
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(ui_origins),
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=ALLOWED_HEADERS,
        max_age=600,
    )

    async def transform(request: Request, direction: str) -> Response:
        if not access.allowed(request):
            log.info(
                "codec.refused", direction=direction, reason="no valid token or session", configured=access.configured
            )
            return _problem(
                401,
                "Unauthorized",
                "a codec token is needed: Authorization: Bearer <token>, or sign in at /codec/session",
                headers={"WWW-Authenticate": "Bearer"},
            )
        asked = request.headers.get("x-namespace")
        if asked and asked != namespace:
            log.info("codec.refused", direction=direction, reason="other namespace")
            return _problem(403, "Forbidden", f"this codec server serves namespace {namespace!r}")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _problem(413, "Payload Too Large", f"at most {MAX_BODY_BYTES} bytes")
        payloads = Payloads()
        try:
            json_format.Parse(body or b"{}", payloads)
        except (json_format.ParseError, DecodeError, UnicodeDecodeError, ValueError):
            log.info("codec.bad_request", direction=direction)
            return _problem(400, "Bad Request", 'the body must be {"payloads": [...]} (Payloads as protobuf JSON)')
        try:
            if codec is None:
                result = list(payloads.payloads)
            elif direction == "decode":
                result = await codec.decode(payloads.payloads)
            else:
                result = await codec.encode(payloads.payloads)
        except PayloadDecryptionError as err:
            log.info("codec.undecryptable", direction=direction, error=str(err))
            return _problem(400, "Bad Request", str(err))
        out = json_format.MessageToDict(Payloads(payloads=result))
        out.setdefault("payloads", [])
        log.info("codec.done", direction=direction, payloads=len(result))
        return Response(json.dumps(out), media_type="application/json")

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await transform(request, "encode")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await transform(request, "decode")

    @app.get("/session", response_class=HTMLResponse)
    async def session_page(request: Request) -> HTMLResponse:
        signed_in = access.allowed(request)
        return HTMLResponse(_page(signed_in, error=None))

    @app.post("/session")
    async def sign_in(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(errors="replace"))
        presented = (form.get("token") or [""])[0].strip()
        if not (presented and access.token_ok(presented)):
            log.info("codec.sign_in_refused")
            return HTMLResponse(_page(False, error="That token is not valid."), status_code=401)
        response = RedirectResponse(_session_path(request), status_code=303)
        secure = request.url.scheme == "https"
        session = access.new_session(presented)
        for path in _cookie_paths(request, also_for):
            response.set_cookie(
                SESSION_COOKIE,
                session,
                max_age=SESSION_SECONDS,
                httponly=True,
                secure=secure,
                # Cross-site UIs need None (and so https); on one site (localhost ports) Lax does.
                samesite="none" if secure else "lax",
                path=path,
            )
        log.info("codec.signed_in")
        return response

    @app.post("/session/end")
    async def sign_out(request: Request) -> Response:
        response = RedirectResponse(_session_path(request), status_code=303)
        for path in _cookie_paths(request, also_for):
            response.delete_cookie(SESSION_COOKIE, path=path)
        return response

    return app


def _cookie_paths(request: Request, also_for: Sequence[str]) -> list[str]:
    """The mount's own path first, then each staff page beside it."""
    own = request.scope.get("root_path", "") or "/"
    beside = own.rstrip("/").rpartition("/")[0]
    return [own, *(f"{beside}{path}" for path in also_for)]


def _session_path(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}/session"


def _page(signed_in: bool, error: str | None) -> str:
    if signed_in:
        body = (
            "<p>Signed in: the Temporal Web UI in this browser can read decrypted journey data "
            "(its codec server setting must include cross-origin credentials).</p>"
            '<form method="post" action="session/end"><button type="submit">Sign out</button></form>'
        )
    else:
        message = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        body = (
            f"{message}<p>Staff with a codec token can read decrypted journey data in the Temporal Web UI.</p>"
            '<form method="post" action="session"><label>Codec token '
            '<input type="password" name="token" autocomplete="off" required></label> '
            '<button type="submit">Sign in</button></form>'
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Onboarding codec server</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><h1>Onboarding codec server</h1>{body}</body></html>"
    )
