"""Bearer tokens (JWT, HS256): a token names exactly one customer and a scope."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jwt

from advisor.errors import Unauthorized
from advisor.settings import Settings

ISSUER = "trusted-advisor"
ALGORITHM = "HS256"
SCOPES = ("customer", "admin", "service", "ops")
# A service token (core banking posting events) names no customer: its subject is this.
SERVICE_SUBJECT = "service"
# An ops token (monitoring: /metrics) names no customer either.
OPS_SUBJECT = "ops"
# Scopes that act for no customer, and the subject their tokens carry.
NO_CUSTOMER_SUBJECTS = {"service": SERVICE_SUBJECT, "ops": OPS_SUBJECT}


@dataclass(frozen=True)
class Principal:
    """Who is calling: one customer, with a scope."""

    customer_id: str
    scope: str = "customer"


def signing_secret(settings: Settings) -> str:
    """The secret from the environment, else a development secret kept under the var dir."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.var_dir) / "jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def issue_token(
    settings: Settings, customer_id: str, scope: str = "customer", ttl_s: int | None = None
) -> str:
    """A signed token for one customer."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": customer_id,
        "scope": scope,
        "iss": ISSUER,
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl_s if ttl_s is not None else settings.token_ttl_s),
    }
    return jwt.encode(claims, signing_secret(settings), algorithm=ALGORITHM)


def verify_token(settings: Settings, token: str) -> Principal:
    """The principal a token names; Unauthorized when it is bad or expired."""
    try:
        claims = jwt.decode(
            token,
            signing_secret(settings),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    scope = claims.get("scope", "customer")
    if not isinstance(claims["sub"], str) or scope not in SCOPES:
        raise Unauthorized("invalid token claims")
    return Principal(claims["sub"], scope)
