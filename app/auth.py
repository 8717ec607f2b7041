"""Sign-in: the app's own users table (scrypt hashes, ``orchard.store.authenticate``), optionally OIDC.

Password sign-in works offline. A failed attempt shows one sentence that never says whether the user id
exists.

Failed sign-ins are stored in the database (``orchard.store.record_sign_in_failure``), so a restart forgets
nothing, and slow a key down instead of locking it: each failure beyond a few free ones doubles the wait of
the user id from this client, of this client, and (by far the least) of the user id from everywhere, so typing
wrong passwords for a grower's id costs the typist hours but keeps the grower, on their own phone, waiting a
minute at most (``orchard.store.SIGN_IN_THROTTLE``). A client is the connection's IP address (behind a
reverse proxy on the same machine, the address the proxy adds to ``X-Forwarded-For``: else every grower would
share the proxy's address and its throttle), or this browser session when no address is known.

A sign-in survives a reload of the page: a signed, expiring cookie (:data:`COOKIE_NAME`, :func:`make_token`)
holds the user id and the expiry, with an HMAC-SHA256 over them and the user's password hash, keyed by the
installation's secret in ``ORCHARD_HOME`` (``orchard.privacy.derived_key``; never in the code). Changing a
password therefore ends every sign-in of that account; signing out deletes the cookie. Streamlit cannot set
cookies from the server, so a tiny script in the page writes it (``SameSite=Strict``, ``Secure`` over HTTPS);
the server reads it back from ``st.context.cookies`` when a new browser session starts.

OIDC (optional): when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``, needs
``Authlib``: ``pip install "streamlit[auth]"``), a second button signs in with the identity provider. The
provider's e-mail address is mapped to an account of the users table by the ``[orchard.oidc_users]`` table of
the same file (``"li.ming@example.org" = "grower_li"``); an address not listed there gets no access.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable

import streamlit as st
from i18n import t
from session import engine_for

from orchard import config, store
from orchard.privacy import derived_key

#: Longest user id and password accepted by the form (longer input is refused without hashing it).
MAX_FIELD_CHARS = 128
#: Name of the sign-in cookie.
COOKIE_NAME = "orchard_signin"
#: How long a sign-in lasts without signing in again [s]: a week, so a grower on a phone is not asked every
#: day, short enough that a lost phone's sign-in runs out.
COOKIE_MAX_AGE_S = 7 * 24 * 3600
#: Purpose name of the cookie's key (orchard.privacy.derived_key).
COOKIE_KEY_PURPOSE = "sign-in-cookie"


# ----------------------------------------------------------------------------------------------------------
# Failed sign-ins, stored in the database
# ----------------------------------------------------------------------------------------------------------
def client_address(peer: str | None, forwarded_for: str | None) -> str | None:
    """The client's IP address: the connection's peer, or, when the peer is this machine (Streamlit then
    reports None: a reverse proxy here, as ``orchard app`` binds 127.0.0.1), the address that proxy appended
    last to ``X-Forwarded-For``. Earlier entries of that header come from the client and are not trusted."""
    if isinstance(peer, str) and peer:
        return peer
    if isinstance(forwarded_for, str) and forwarded_for.strip():
        return forwarded_for.split(",")[-1].strip() or None
    return None


def client_id() -> str:
    """Who is signing in, as far as the server can tell: the IP address, else this browser session."""
    try:
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no browser (a bare script run): no headers
        forwarded = None
    address = client_address(getattr(st.context, "ip_address", None), forwarded)
    if address:
        return f"ip:{address}"
    token = st.session_state.get("_signin_client")
    if not isinstance(token, str):
        token = st.session_state["_signin_client"] = secrets.token_hex(16)
    return f"session:{token}"


def throttle_keys(user_id: str, client: str) -> dict[str, str]:
    """The keys a sign-in counts against: the account (ids are case-folded), the client and the pair."""
    account = user_id.strip().lower()
    return {"account": account, "client": client, "pair": f"{account}\n{client}"}


def password_sign_in(user_id: str, password: str, url: str | None = None,
                     client: str | None = None) -> tuple[dict | None, float]:
    """Check a user id and password against the users table, under the stored throttle.

    Returns
    -------
    (user, wait_s)
        ``user`` is ``{user_id, display_name, role}`` or None; ``wait_s`` > 0 means the attempt was not
        even checked because of failures before (try again after that many seconds).
    """
    user_id = (user_id or "").strip()
    password = password or ""
    keys = throttle_keys(user_id[:MAX_FIELD_CHARS + 1], client or client_id())
    engine = engine_for(url or config.database_url())
    with store.session_scope(engine) as session:
        wait = store.sign_in_wait_s(session, keys)
    if wait > 0:
        return None, wait
    user = None
    if 0 < len(user_id) <= MAX_FIELD_CHARS and 0 < len(password) <= MAX_FIELD_CHARS:
        with store.session_scope(engine) as session:
            user = store.authenticate(session, user_id, password)
    with store.session_scope(engine) as session:
        if user is None:
            store.record_sign_in_failure(session, keys)
        else:
            store.clear_sign_in_failures(session, {k: keys[k] for k in ("account", "pair")})
    return user, 0.0


# ----------------------------------------------------------------------------------------------------------
# The sign-in cookie
# ----------------------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str, password_hash: str) -> str:
    return _b64(hmac.new(key, f"{payload}\n{password_hash}".encode(), hashlib.sha256).digest())


def make_token(user_id: str, password_hash: str, *, now: float | None = None,
               max_age_s: float = COOKIE_MAX_AGE_S, key: bytes | None = None) -> str:
    """The cookie value ``<user id, base64url>.<expiry, Unix s>.<HMAC-SHA256, base64url>``.

    The MAC covers the id, the expiry and the user's current password hash (which the cookie does not
    carry), keyed by :data:`COOKIE_KEY_PURPOSE`'s key: it cannot be forged or prolonged without the
    installation's secret, and a new password makes it worthless.
    """
    key = derived_key(COOKIE_KEY_PURPOSE) if key is None else key
    expires = int((time.time() if now is None else now) + max_age_s)
    payload = f"{_b64(user_id.encode())}.{expires}"
    return f"{payload}.{_mac(key, payload, password_hash)}"


def token_user_id(token: str | None, password_hash_of: Callable[[str], str | None], *,
                  now: float | None = None, key: bytes | None = None) -> str | None:
    """The user id of a valid, unexpired token, else None (``password_hash_of(id)``: the stored hash)."""
    try:
        id_part, expires_text, mac = (token or "").split(".")
        user_id = _unb64(id_part).decode()
        expires = int(expires_text)
    except (ValueError, UnicodeDecodeError):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    stored = password_hash_of(user_id)
    if not stored:
        return None
    key = derived_key(COOKIE_KEY_PURPOSE) if key is None else key
    return user_id if hmac.compare_digest(mac, _mac(key, f"{id_part}.{expires_text}", stored)) else None


def browser_cookie() -> str | None:
    """The sign-in cookie the browser sent when this session started (None without one)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser (a bare script run): no cookie
        return None
    return value if isinstance(value, str) and value else None


def cookie_user(url: str | None = None) -> dict | None:
    """The user of a valid sign-in cookie, as ``{user_id, display_name, role}`` read fresh from the database;
    None without a cookie, with an invalid or expired one, or after signing out in this session."""
    token = browser_cookie()
    if not token or st.session_state.get("_cookie_refused") == token:
        return None
    with store.session_scope(engine_for(url or config.database_url())) as session:
        def password_hash_of(user_id: str) -> str | None:
            row = session.get(store.User, user_id)
            return row.password_hash if row is not None else None

        user_id = token_user_id(token, password_hash_of)
        if user_id is None:
            st.session_state["_cookie_refused"] = token
            return None
        row = session.get(store.User, user_id)
        return {"user_id": row.user_id, "display_name": row.display_name, "role": row.role}


def _cookie_script(value: str, max_age_s: int) -> str:
    # json.dumps makes the value a safe JavaScript string; only base64url, digits and dots occur in it anyway.
    return ("<script>(function(){var secure = location.protocol === 'https:' ? '; Secure' : '';"
            f"document.cookie = {json.dumps(COOKIE_NAME)} + '=' + {json.dumps(value)} + "
            f"'; Max-Age={int(max_age_s)}; Path=/; SameSite=Strict' + secure;}})();</script>")


def remember_sign_in(user_id: str, url: str | None = None) -> None:
    """After a password sign-in: queue the cookie for :func:`write_cookie` (the page reruns first)."""
    with store.session_scope(engine_for(url or config.database_url())) as session:
        row = session.get(store.User, user_id)
        if row is not None and row.password_hash:
            st.session_state["_cookie_value"] = make_token(user_id, row.password_hash)
            st.session_state.pop("_cookie_forget", None)


def write_cookie() -> None:
    """Write (signed in) or delete (signed out in this session) the sign-in cookie with a hidden script.

    Rendered on every run of the session, not once: a run right after the sign-in may be cut short by a
    page switch, and its elements with it; an unchanged element is not mounted again, so the browser runs
    the script once.
    """
    value = st.session_state.get("_cookie_value") if st.session_state.get("user") else None
    if value is None and not st.session_state.get("_cookie_forget"):
        return
    script = _cookie_script(value, COOKIE_MAX_AGE_S) if value is not None else _cookie_script("", 0)
    with st.container(key="signin_cookie"):
        st.html("<style>.st-key-signin_cookie {display: none}</style>" + script, unsafe_allow_javascript=True)


# ----------------------------------------------------------------------------------------------------------
# OIDC through st.login (optional)
# ----------------------------------------------------------------------------------------------------------
def _secrets_section(name: str):
    try:
        return st.secrets[name] if name in st.secrets else None
    except Exception:  # no secrets.toml at all: Streamlit raises its own "not found" error
        return None


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section for ``st.login``."""
    return _secrets_section("auth") is not None


def oidc_provider() -> str | None:
    """The provider name to pass to ``st.login``: None for a flat ``[auth]``, else its one sub-section."""
    section = _secrets_section("auth") or {}
    named = [k for k, v in section.items() if hasattr(v, "keys")]
    return named[0] if len(named) == 1 and "client_id" not in section else None


def oidc_user_id(email: str | None) -> str | None:
    """The user id mapped to an identity provider's e-mail address by ``[orchard.oidc_users]``."""
    section = _secrets_section("orchard") or {}
    table = section.get("oidc_users", {}) if hasattr(section, "get") else {}
    if not email:
        return None
    lowered = {str(k).strip().lower(): str(v) for k, v in dict(table).items()}
    return lowered.get(email.strip().lower())


def oidc_user(url: str | None = None) -> dict | None:
    """The account of the user signed in with OIDC (``st.user``), or None (not signed in / not mapped)."""
    if not oidc_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    user_id = oidc_user_id(st.user.get("email"))
    if user_id is None:
        return None
    with store.session_scope(engine_for(url or config.database_url())) as session:
        known = {u["user_id"]: u for u in store.list_users(session)}
    return known.get(user_id)


# ----------------------------------------------------------------------------------------------------------
# The form and the sign-out button
# ----------------------------------------------------------------------------------------------------------
def wait_text(wait_s: float, lang: str) -> str:
    """The sentence for a sign-in that must wait: in seconds up to a minute and a half, else in minutes."""
    if wait_s <= 90:
        return t("auth.locked", lang, seconds=math.ceil(wait_s))
    return t("auth.locked_minutes", lang, minutes=math.ceil(wait_s / 60))


def sign_in_form(lang: str) -> None:
    """The sign-in page: user id and password (and the identity provider's button when configured)."""
    st.title(t("app.title", lang))
    st.subheader(t("auth.title", lang))
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        # signed in at the identity provider, but no account is mapped to the address
        st.error(t("auth.oidc_unknown", lang))
        st.button(t("auth.sign_out", lang), key="oidc_sign_out", on_click=st.logout)
        return
    with st.form("sign_in", border=False):
        user_id = st.text_input(t("auth.user_id", lang), key="signin_user", max_chars=MAX_FIELD_CHARS,
                                autocomplete="username")
        password = st.text_input(t("auth.password", lang), type="password", key="signin_password",
                                 max_chars=MAX_FIELD_CHARS, autocomplete="current-password")
        submitted = st.form_submit_button(t("auth.submit", lang), type="primary", width="stretch")
    if submitted:
        user, wait = password_sign_in(user_id, password)
        if wait > 0:
            st.error(wait_text(wait, lang))
        elif user is None:
            st.error(t("auth.failed", lang))
        else:
            st.session_state["user"] = user
            remember_sign_in(user["user_id"])
            st.rerun()
    if oidc_configured():
        st.divider()
        if st.button(t("auth.oidc", lang), key="oidc_sign_in", width="stretch"):
            try:
                st.login(oidc_provider())
            except Exception:  # Authlib missing or a broken [auth] section: say so in one sentence
                st.error(t("auth.oidc_error", lang))
    st.caption(t("auth.help", lang))


def sign_out() -> None:
    """Forget the user (a button callback: it runs before the next script run); :func:`finish_sign_out`
    then clears the rest of the session but the language. A user signed in through the identity provider is
    also signed out there."""
    st.session_state.pop("user", None)
    st.session_state["_signed_out"] = True
    st.session_state["_cookie_forget"] = True
    # The browser sent its cookie when this session started; it must not sign the user in again.
    if browser_cookie():
        st.session_state["_cookie_refused"] = browser_cookie()
    st.session_state["_oidc_sign_out"] = bool(getattr(st.user, "is_logged_in", False))


#: Session values a sign-out keeps: the language, this session's client id (for the stored throttle) and
#: what the sign-in cookie needs (the refused cookie, the order to delete it).
KEPT_ON_SIGN_OUT = ("lang", "_signin_client", "_cookie_refused", "_cookie_forget")


def finish_sign_out() -> None:
    """After :func:`sign_out`: drop every other value of the session but :data:`KEPT_ON_SIGN_OUT` (widgets'
    values can only be removed during a script run, not in their callbacks), and end the identity provider's
    session (``st.logout`` cannot run in a callback either)."""
    if not st.session_state.pop("_signed_out", False):
        return
    oidc = st.session_state.pop("_oidc_sign_out", False)
    for key in list(st.session_state.keys()):
        if key not in KEPT_ON_SIGN_OUT and not str(key).startswith("$$"):  # not Streamlit's own
            del st.session_state[key]
    if oidc:
        st.logout()
