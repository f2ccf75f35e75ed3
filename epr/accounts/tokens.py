"""Bearer tokens checked without a database query on every API call.

django-oauth-toolkit reads the token's row (with its application and user) on each request. Here each
worker keeps the rows it has read for EPR_TOKEN_CACHE_SECONDS. What the row says is still checked on
every request: its expiry, its scopes, its audience. A token revoked or deleted in this worker is
forgotten at once (the row's signals); in another worker, within EPR_TOKEN_CACHE_SECONDS. A token that
is not found is never remembered, so a new token works at once."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from django.conf import settings
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator

MAX_TOKENS = 10_000  # a bound on each worker's memory: past it the cache starts again

_rows: dict[str, tuple[float, AccessToken]] = {}
_lock = threading.Lock()


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()  # as django-oauth-toolkit stores it


class CachingOAuth2Validator(OAuth2Validator):  # type: ignore[misc]  # the toolkit ships no types
    def _load_access_token(self, token: str) -> AccessToken | None:
        key = checksum(token)
        now = time.monotonic()
        held = _rows.get(key)
        if held is not None and now - held[0] < settings.EPR_TOKEN_CACHE_SECONDS:
            return held[1]
        row: AccessToken | None = super()._load_access_token(token)
        if row is not None and settings.EPR_TOKEN_CACHE_SECONDS > 0:
            with _lock:
                if len(_rows) >= MAX_TOKENS:
                    _rows.clear()
                _rows[key] = (now, row)
        return row


def forget_token(sender: Any, instance: AccessToken, **kwargs: Any) -> None:
    """A token's row changed or went (revoked, deleted with its application): read it again next time."""
    with _lock:
        _rows.pop(instance.token_checksum, None)


def forget_all_tokens() -> None:
    with _lock:
        _rows.clear()
