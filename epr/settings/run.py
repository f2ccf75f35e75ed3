"""`make run`: try the app on this machine with DEBUG off, as a ward would meet it (a 500 shows the
NHS error page, not local variables and settings). Plain HTTP on localhost, so no HTTPS redirect or
secure-only cookies; static files by WhiteNoise after collectstatic. `make dev` keeps DEBUG on."""

import os
import secrets
from pathlib import Path

_data_dir = Path(os.environ.get("EPR_DATA_DIR", Path(__file__).resolve().parents[2] / ".data"))
if not os.environ.get("SECRET_KEY"):
    # Generated once per machine and kept in the data folder (never committed), so sessions survive a restart.
    _key_file = _data_dir / "secret_key"
    if not _key_file.exists():
        _data_dir.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    os.environ["SECRET_KEY"] = _key_file.read_text().strip()
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

from epr.settings.base import *  # noqa: E402, F403

# Served over plain HTTP on this machine: cookies marked Secure would never be sent back.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
