"""Agent sign-in: sessions held by the store, ``/agent/login``, ``/agent/logout``, ``/agent/me``,
the device cookie, and the same-origin checks that go with a cookie.

Owns: the cookies (names, lifetimes, signing), sign-in sessions (a random id in the cookie, its
digest in the store: ``relay.store.SignInStore``), password checks, and asking the sign-in rate
limits (per client address, and per account name beside it; a ``Limiter``: this process's, or
the fleet's in Redis). A session holds while its record does, the account is in the settings
and its password is the one it signed in with: sign-out, a new password and a removed account
end it at once (open sockets: ``signed_in``, asked each tick). Which origin is "ours".
Must not: tell a caller whether a name exists (an unknown name is checked and limited as a
known one), keep a cookie value or password hash in the store (digests only), or log a name,
password or cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Collection, Mapping

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.broker import BrokerUnavailable
from relay.live_settings import LiveSettings
from relay.passwords import verify_password
from relay.ratelimit import Limiter, LocalLimiter
from relay.settings import AgentLogin
from relay.store import SignInRecord, SignInStore, SqliteStore, StoreError

log = logging.getLogger("cobrowse.relay")

COOKIE = "cobrowse_agent"  # the sign-in session's id, signed
COOKIE_MAX_AGE = 12 * 3600  # a sign-in session's lifetime (seconds), in the store and the cookie
# OWASP's "device cookie": a browser that signed in as an account before is exempt from that
# account's failure limit, so guesses from elsewhere cannot lock the real agent out.
DEVICE_COOKIE = "cobrowse_device"
DEVICE_COOKIE_MAX_AGE = 90 * 24 * 3600
LOGIN_PATH = "/agent/login"
LOGIN_BODY_BYTES = 4096  # {name, password} with a 1 KB password fits many times
_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


def now_ms() -> int:
    return int(time.time() * 1000)


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


class _Refused(Exception):
    """A sign-in refused before its password was checked: the answer to send."""

    def __init__(self, response: Response) -> None:
        self.response = response


class SignIn:
    """``routes()`` for the sign-in endpoints; ``agent(cookie)`` and ``signed_in(cookies)`` for
    everything else.

    ``limiter`` counts sign-in attempts per client address: by default this process's
    (``limits.login_attempts_per_minute``); a fleet passes its ``RedisLimiter``.
    ``account_limiter`` counts attempts per account name that carry no device cookie of that
    account (``limits.login_attempts_per_account_per_minute``; a fleet's is in Redis too).
    ``store`` keeps the sessions (default: a private in-memory SQLite database); ``clock`` is
    the time in ms."""

    def __init__(
        self,
        live: LiveSettings,
        limiter: Limiter | None = None,
        *,
        account_limiter: Limiter | None = None,
        store: SignInStore | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._live = live
        key = live.current.secret_key
        self._signer = TimestampSigner(key, salt="cobrowse.agent.session")
        self._device_signer = TimestampSigner(key, salt="cobrowse.agent.device")
        self._print_key = hashlib.sha256(f"cobrowse.password-print:{key}".encode()).digest()
        limits = live.current.limits
        self._limiter = (
            limiter if limiter is not None else LocalLimiter(limits.login_attempts_per_minute)
        )
        self._account_limiter = (
            account_limiter
            if account_limiter is not None
            else LocalLimiter(limits.login_attempts_per_account_per_minute)
        )
        # A refused client may try again once its bucket holds one more token.
        self._retry_after = str(math.ceil(60 / max(1, limits.login_attempts_per_minute)))
        self._account_retry_after = str(
            math.ceil(60 / max(1, limits.login_attempts_per_account_per_minute))
        )
        self._store: SignInStore = store if store is not None else SqliteStore()
        self._clock = clock

    def routes(self) -> list[Route]:
        return [
            Route("/agent/me", self.me),
            Route(LOGIN_PATH, self.login, methods=["POST"]),
            Route("/agent/logout", self.logout, methods=["POST"]),
        ]

    # ------------------------------------------------------------ sessions

    def agent(self, cookie: str | None) -> str | None:
        """The signed-in agent's id, or None: no cookie, a bad or old one, a session signed out,
        expired, of a removed account or of a changed password, or the store unreachable (a
        sign-in that cannot be checked does not hold)."""
        try:
            return self.checked_agent(cookie)
        except StoreError as lost:
            log.error("agent.session_unavailable error=%s", type(lost).__name__)
            return None

    def checked_agent(self, cookie: str | None) -> str | None:
        """As ``agent``, but raises ``relay.store.StoreError`` when the store cannot answer: an
        endpoint answers 503 then, rather than "sign in" to an agent who is signed in."""
        session = self._session_of(cookie)
        if session is None:
            return None
        agent_id, digest = session
        if self._live.login(agent_id) is None:
            return None  # a removed account: no query
        records = self._store.sign_ins([digest], self._clock())
        return agent_id if any(self._holds(r, agent_id) for r in records) else None

    def signed_in(self, cookies: Collection[str]) -> set[str]:
        """The cookie values among ``cookies`` whose sessions still hold (see ``agent``), in
        one store query: for closing the open sockets of sessions that ended.

        Raises ``relay.store.StoreError`` when the store cannot answer: close nothing then
        (an outage is not a sign-out)."""
        asked: dict[str, tuple[str, str]] = {}  # digest -> (cookie, agent id)
        for cookie in cookies:
            session = self._session_of(cookie)
            if session is not None and self._live.login(session[0]) is not None:
                asked[session[1]] = (cookie, session[0])
        if not asked:
            return set()
        records = self._store.sign_ins(list(asked), self._clock())
        return {asked[r.digest][0] for r in records if self._holds(r, asked[r.digest][1])}

    def _session_of(self, cookie: str | None) -> tuple[str, str] | None:
        """The agent id a session cookie names and the store's key for it (the digest of its
        session id), or None when we did not sign it."""
        if not cookie:
            return None
        try:
            signed = self._signer.unsign(cookie, max_age=COOKIE_MAX_AGE).decode()
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None
        agent_id, _, session_id = signed.rpartition(":")
        if not agent_id or not session_id:
            return None
        return agent_id, _digest(session_id)

    def _password_print(self, login: AgentLogin) -> str:
        return hmac.new(self._print_key, login.password_hash.encode(), hashlib.sha256).hexdigest()

    def _holds(self, record: SignInRecord, agent_id: str) -> bool:
        """The session is ``agent_id``'s, whose account is still in the settings with the
        password it signed in with."""
        login = self._live.login(record.agent)
        return (
            record.agent == agent_id
            and login is not None
            and hmac.compare_digest(record.password_print, self._password_print(login))
        )

    def _start_session(self, login: AgentLogin) -> str:
        """A new session for ``login`` in the store; its cookie value. Raises StoreError."""
        now = self._clock()
        # Expired sessions go with each sign-in: the table holds live ones and a day's worth.
        self._store.drop_expired_sign_ins(now)
        session_id = secrets.token_urlsafe(32)
        self._store.add_sign_in(
            SignInRecord(
                digest=_digest(session_id),
                agent=login.id,
                created_at=now,
                expires_at=now + COOKIE_MAX_AGE * 1000,
                password_print=self._password_print(login),
            )
        )
        # The agent's id beside the session's: a removed account is refused without a query.
        return self._signer.sign(f"{login.id}:{session_id}").decode()

    # ------------------------------------------------------------ endpoints

    async def me(self, request: Request) -> Response:
        try:
            agent_id = self.checked_agent(request.cookies.get(COOKIE))
        except StoreError as lost:
            log.error("agent.session_unavailable error=%s", type(lost).__name__)
            return _unavailable()
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
            await self._allow(self._limiter, client, "address", self._retry_after)
            name, password = await self._credentials(request)
            # Limited before the password is checked, known name or not: no timing oracle, and
            # no scrypt run for a guess over the limit.
            if not self._has_device_cookie(request, name):
                await self._allow(self._account_limiter, name, "account", self._account_retry_after)
        except _Refused as refused:
            return refused.response
        account = self._live.login(name)
        # Verify against a hash even for unknown names, so timing does not reveal accounts.
        stored = account.password_hash if account else _DUMMY_HASH
        if not verify_password(password, stored) or account is None:
            log.info("agent.login_failed client=%s", client)
            return error_response(401, "unauthenticated", "wrong name or password")
        try:
            session = self._start_session(account)
        except StoreError as lost:
            log.error("agent.login_unavailable client=%s error=%s", client, type(lost).__name__)
            return _unavailable()
        response = JSONResponse({"id": account.id, "name": account.name})
        secure = self._live.current.secure_cookies
        # The session first: a client reading one Set-Cookie reads this one.
        response.set_cookie(
            COOKIE,
            session,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )
        response.set_cookie(
            DEVICE_COOKIE,
            self._device_signer.sign(account.id).decode(),
            max_age=DEVICE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=secure,
            path=LOGIN_PATH,  # sent with sign-ins only
        )
        log.info("agent.login agent=%s", account.id)
        return response

    async def logout(self, request: Request) -> Response:
        if not same_origin(request.url.scheme, request.headers):
            return error_response(403, "forbidden", "cross-origin request refused")
        session = self._session_of(request.cookies.get(COOKIE))
        if session is not None:
            try:
                self._store.drop_sign_in(session[1])
            except StoreError as lost:
                # The session still holds: say so rather than pretend it ended.
                log.error("agent.logout_unavailable error=%s", type(lost).__name__)
                return _unavailable()
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------ sign-in steps

    async def _allow(self, limiter: Limiter, key: str, scope: str, retry_after: str) -> None:
        """Count an attempt by ``key``; raises ``_Refused`` (429 with Retry-After) over the limit,
        or 503 when the fleet's limiter cannot count: an outage must not lift the limit."""
        try:
            allowed = await limiter.allow(key)
        except BrokerUnavailable as error:
            log.error("agent.login_unavailable scope=%s error=%s", scope, error)
            raise _Refused(_unavailable()) from None
        if not allowed:
            log.info("agent.login_limited scope=%s", scope)
            refused = error_response(
                429, "rate_limited", "too many sign-in attempts; wait a minute"
            )
            refused.headers["Retry-After"] = retry_after
            raise _Refused(refused)

    async def _credentials(self, request: Request) -> tuple[str, str]:
        """``{name, password}`` from the body, which must arrive within
        ``http_body_timeout_seconds`` (else 408: a slow body holds nothing) and be small."""
        body = bytearray()
        try:
            async with asyncio.timeout(self._live.current.limits.http_body_timeout_seconds):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > LOGIN_BODY_BYTES:
                        raise _Refused(error_response(413, "too_big", "the request is too big"))
        except TimeoutError:
            raise _Refused(
                error_response(408, "timeout", "the request's body did not arrive in time")
            ) from None
        except ClientDisconnect:
            raise _Refused(error_response(400, "invalid", "the request was cut")) from None
        try:
            fields = json.loads(body)
            name, password = fields["name"], fields["password"]
            if not isinstance(name, str) or not isinstance(password, str):
                raise TypeError
            if len(name) > 256 or len(password) > 1024:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise _Refused(error_response(400, "invalid", "send JSON {name, password}")) from None
        return name, password

    def _has_device_cookie(self, request: Request, name: str) -> bool:
        """Whether this browser signed in as ``name`` before (its device cookie says so)."""
        cookie = request.cookies.get(DEVICE_COOKIE)
        if not cookie:
            return False
        try:
            signed_name = self._device_signer.unsign(cookie, max_age=DEVICE_COOKIE_MAX_AGE)
        except (BadSignature, SignatureExpired):
            return False
        return hmac.compare_digest(signed_name, name.encode("utf-8", "surrogatepass"))


def _digest(session_id: str) -> str:
    """What the store keeps of a session id: a copy of the database opens nothing."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _unavailable() -> JSONResponse:
    return error_response(
        503, "unavailable", "sign-in is unavailable for a moment; try again shortly"
    )
