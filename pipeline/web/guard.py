"""What the studio lets in: who may ask (a token off loopback), which pages may post (CSRF),
which Host it answers (DNS rebinding), and which files it serves (only the series folder's).

- On 127.0.0.1 only this machine can connect, and no token is asked. On any other host every
  request needs the token printed at start: `?token=...` once (the studio then sets a cookie and
  redirects to the same page without it) or the cookie.
- Every POST carries the CSRF token the studio put in its pages (the `X-CSRF-Token` header htmx
  sends with every request) and, when the browser sends one, an Origin of the studio itself.
  A page on another site can make a browser post to 127.0.0.1, but cannot read the token.
- On loopback the Host header must be a loopback name: a DNS name rebound to 127.0.0.1 is not
  the studio.
- Files are served from the series folder only: a path that is absolute, climbs with '..', or
  resolves outside the folder through a symlink is refused (the same rule as series.yaml's
  references, core/paths.py); state/ (checkpoints, lock, call log) is never served.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..core.paths import reference_problem

TOKEN_COOKIE = "microdrama_studio_token"
CSRF_HEADER = "x-csrf-token"
LOOPBACK_NAMES = ("localhost",)
NOT_SERVED = ("state",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Guard:
    """The studio's secrets, made once per start."""

    host: str
    token: str | None  # None on loopback
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @classmethod
    def for_host(cls, host: str) -> Guard:
        return cls(host, None if is_loopback(host) else secrets.token_urlsafe(24))

    def refusal(self, request: Request) -> Response | None:
        """Why this request is refused (a response to send instead), or None to let it in."""
        hostname = (request.url.hostname or "").lower()
        if self.token is None and not is_loopback(hostname):
            return PlainTextResponse(f"refused: the studio answers on 127.0.0.1, not {hostname!r}", status_code=421)
        if self.token is not None:
            offered = request.query_params.get("token")
            if offered is not None and _same(offered, self.token):
                clean = request.url.remove_query_params("token")
                response = RedirectResponse(str(clean), status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return response
            if not _same(request.cookies.get(TOKEN_COOKIE, ""), self.token):
                return PlainTextResponse("refused: this studio needs its token; open the URL it printed at start "
                                         "(…/?token=…)", status_code=401)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != request.url.netloc:
                return PlainTextResponse(f"refused: a post from another site ({origin})", status_code=403)
            if not _same(request.headers.get(CSRF_HEADER, ""), self.csrf):
                return PlainTextResponse("refused: the page's CSRF token is missing or stale; reload the page",
                                         status_code=403)
        return None


def _same(offered: str, expected: str) -> bool:
    return hmac.compare_digest(offered.encode(), expected.encode())


class GuardMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, guard: Guard):
        super().__init__(app)
        self.guard = guard

    async def dispatch(self, request: Request, call_next):
        return self.guard.refusal(request) or await call_next(request)


def served_file(root: Path, relative: str) -> Path | None:
    """The file `relative` names inside the series folder, or None when it may not be served:
    outside the folder (absolute, '..', a symlink that leaves), under state/, or not a file."""
    if not relative or reference_problem(root, relative) is not None:
        return None
    parts = PurePosixPath(relative).parts
    if parts and parts[0] in NOT_SERVED:
        return None
    path = (Path(root) / relative).resolve()
    return path if path.is_file() else None
