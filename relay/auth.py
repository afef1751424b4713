"""Agent sign-in: the signed cookie, ``/agent/login``, ``/agent/logout``, ``/agent/me``, and the
same-origin checks that go with a cookie.

Owns: the cookie (name, lifetime, signing), password checks, asking the sign-in rate limit per
client (a ``Limiter``: this process's, or the fleet's in Redis), and which origin is "ours".
Must not: keep sessions of its own (the cookie is the state), tell a caller whether a name
exists, or log a password.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.broker import BrokerUnavailable
from relay.live_settings import LiveSettings
from relay.passwords import verify_password
from relay.ratelimit import Limiter, LocalLimiter

log = logging.getLogger("cobrowse.relay")

COOKIE = "cobrowse_agent"
COOKIE_MAX_AGE = 12 * 3600
_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


def origin_of(scheme: str, host: str) -> str:
    """The origin a request or socket was addressed to (``ws``/``wss`` read as http/https)."""
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{host}".lower()


def same_origin(scheme: str, headers: Mapping[str, str]) -> bool:
    """Whether the request comes from one of our own pages (its ``Origin`` is ours)."""
    origin = headers.get("origin")
    return origin is not None and origin.lower() == origin_of(scheme, headers.get("host", ""))


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class SignIn:
    """``routes()`` for the sign-in endpoints; ``agent(cookie)`` for everything else.

    ``limiter`` counts sign-in attempts per client address: by default this process's
    (``limits.login_attempts_per_minute``); a fleet passes its ``RedisLimiter``."""

    def __init__(self, live: LiveSettings, limiter: Limiter | None = None) -> None:
        self._live = live
        self._signer = TimestampSigner(live.current.secret_key, salt="cobrowse.agent")
        self._limiter = (
            limiter
            if limiter is not None
            else LocalLimiter(live.current.limits.login_attempts_per_minute)
        )

    def routes(self) -> list[Route]:
        return [
            Route("/agent/me", self.me),
            Route("/agent/login", self.login, methods=["POST"]),
            Route("/agent/logout", self.logout, methods=["POST"]),
        ]

    def agent(self, cookie: str | None) -> str | None:
        """The signed-in agent's id, or None (no cookie, a bad or old one, a removed account)."""
        if not cookie:
            return None
        try:
            agent_id = self._signer.unsign(cookie, max_age=COOKIE_MAX_AGE).decode()
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None
        return agent_id if self._live.login(agent_id) is not None else None

    async def me(self, request: Request) -> Response:
        agent_id = self.agent(request.cookies.get(COOKIE))
        login = self._live.login(agent_id) if agent_id else None
        if login is None:
            return error_response(401, "unauthenticated", "sign in first")
        return JSONResponse({"id": login.id, "name": login.name})

    async def login(self, request: Request) -> Response:
        # Cross-site request forgery: a state-changing request must come from our own pages.
        if not same_origin(request.url.scheme, request.headers):
            return error_response(403, "forbidden", "cross-origin request refused")
        client = request.client.host if request.client else "?"
        try:
            allowed = await self._limiter.allow(client)
        except BrokerUnavailable as error:
            # Not counted is not allowed: an outage must not lift the brute-force limit.
            log.error("agent.login_unavailable client=%s error=%s", client, error)
            return error_response(
                503, "unavailable", "sign-in is unavailable for a moment; try again shortly"
            )
        if not allowed:
            return error_response(429, "rate_limited", "too many sign-in attempts; wait a minute")
        try:
            body = json.loads(await request.body())
            name, password = body["name"], body["password"]
            if not isinstance(name, str) or not isinstance(password, str) or len(password) > 1024:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return error_response(400, "invalid", "send JSON {name, password}")
        account = self._live.login(name)
        # Verify against a hash even for unknown names, so timing does not reveal accounts.
        stored = account.password_hash if account else _DUMMY_HASH
        if not verify_password(password, stored) or account is None:
            log.info("agent.login_failed client=%s", client)
            return error_response(401, "unauthenticated", "wrong name or password")
        response = JSONResponse({"id": account.id, "name": account.name})
        response.set_cookie(
            COOKIE,
            self._signer.sign(account.id).decode(),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=self._live.current.secure_cookies,
            path="/",
        )
        log.info("agent.login agent=%s", account.id)
        return response

    async def logout(self, request: Request) -> Response:
        if not same_origin(request.url.scheme, request.headers):
            return error_response(403, "forbidden", "cross-origin request refused")
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response
