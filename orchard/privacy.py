"""The installation's secret and what is derived from it: pseudonymous plot labels and signing keys.

The secret is 32 random bytes in ``ORCHARD_HOME/secret.key`` (hex, readable by its owner only), created by
``orchard init`` (:func:`ensure_secret`) and, should an older home lack it, on first use. It never lives in
the code or the database, so a copy of the database or of the source reveals neither the sign-in cookies'
key nor how plot labels were made. Each use gets its own key, derived with HMAC-SHA256 from the secret and
a purpose name (:func:`derived_key`), so one key can never be replayed in another role.

Pseudonymous plot labels
------------------------
Extension and aggregate views (the extension pages, the weekly risk-map exports) show a plot's pseudonymous
label, never its name: names such as 李家湾1号地 or 王家坡2号地 point to families. The label is ``P-`` and 8 characters
of base32 (RFC 4648) of ``HMAC-SHA256(derived_key("plot-label"), plot_id)``: 40 bits, so among 100,000 plots
two share a label with a chance of about 0.5 %. It is stable: the same plot gets the same label in every
week's export and on every page of one installation, so extension staff can follow a plot over the season and
talk about it with the agronomist, who finds it with :func:`plot_label`. Without the secret a label cannot be
turned back into a plot id or a name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from orchard.config import orchard_home
from orchard.errors import StorageError

__all__ = ["SECRET_FILE", "ensure_secret", "secret_key", "derived_key", "plot_label", "PLOT_LABEL_PREFIX"]

#: File of the installation's secret, inside ORCHARD_HOME.
SECRET_FILE = "secret.key"
#: Random bytes in the secret (256 bits, the HMAC-SHA256 key size).
SECRET_BYTES = 32
#: Every pseudonymous plot label starts with this.
PLOT_LABEL_PREFIX = "P-"
#: Characters of base32 in a label (5 bits each: 40 bits).
PLOT_LABEL_CHARS = 8


def ensure_secret(home: Path | None = None) -> Path:
    """Create ``home/secret.key`` with a fresh random secret unless it exists; return its path.

    The file is created exclusively (``O_EXCL``) with mode 0600, so two processes starting at once agree on
    one secret and other users of the machine cannot read it.
    """
    home = Path(home) if home is not None else orchard_home()
    path = home / SECRET_FILE
    if path.is_file():
        return path
    try:
        home.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    except OSError as exc:
        raise StorageError(f"cannot create the secret {path} ({exc.strerror}); check that ORCHARD_HOME is "
                           "writable.") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as f:
        f.write(os.urandom(SECRET_BYTES).hex() + "\n")
    _cached_secret.cache_clear()
    return path


@lru_cache(maxsize=8)
def _cached_secret(path: str, mtime_ns: int) -> bytes:
    text = Path(path).read_text(encoding="ascii").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise StorageError(f"the secret {path} is damaged; delete it and run `orchard init` (users then sign "
                           "in again and plot labels change).")
    return secret


def secret_key(home: Path | None = None) -> bytes:
    """The installation's secret (created first if ``ORCHARD_HOME`` has none yet)."""
    path = ensure_secret(home)
    return _cached_secret(str(path.resolve()), path.stat().st_mtime_ns)


def derived_key(purpose: str, home: Path | None = None) -> bytes:
    """A key for one purpose (``"plot-label"``, ``"sign-in-cookie"`` …): HMAC-SHA256(secret, purpose)."""
    return hmac.new(secret_key(home), purpose.encode("utf-8"), hashlib.sha256).digest()


def plot_label(plot_id: str, key: bytes | None = None) -> str:
    """The pseudonymous label of a plot (``P-`` and 8 base32 characters; see the module notes).

    Parameters
    ----------
    plot_id : str
    key : bytes, optional
        ``derived_key("plot-label")`` (looked up when not given; pass it when labelling many plots).
    """
    key = derived_key("plot-label") if key is None else key
    digest = hmac.new(key, str(plot_id).encode("utf-8"), hashlib.sha256).digest()
    return PLOT_LABEL_PREFIX + base64.b32encode(digest[:5]).decode("ascii")[:PLOT_LABEL_CHARS]
