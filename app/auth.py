"""Sign-in: the app's own users table (scrypt hashes, ``orchard.store.authenticate``), optionally OIDC.

Password sign-in works offline. A failed attempt shows one sentence that never says whether the user id
exists. Failed attempts are rate-limited twice: per browser session (:data:`SESSION_MAX_FAILURES` failures
within :data:`FAILURE_WINDOW_S` → wait :data:`LOCKOUT_S`) and per user id across the whole server
(:data:`ACCOUNT_MAX_FAILURES`, so opening new sessions does not buy more guesses; unknown ids are throttled
the same way, so the lock reveals nothing either).

OIDC (optional): when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``, needs
``Authlib``: ``pip install "streamlit[auth]"``), a second button signs in with the identity provider. The
provider's e-mail address is mapped to an account of the users table by the ``[orchard.oidc_users]`` table of
the same file (``"li.ming@example.org" = "grower_li"``); an address not listed there gets no access.
"""

from __future__ import annotations

import threading
import time

import streamlit as st
from i18n import t
from session import engine_for

from orchard import config, store

#: Failed sign-ins one browser session may make within FAILURE_WINDOW_S before it must wait.
SESSION_MAX_FAILURES = 5
#: Failed sign-ins for one user id, from all sessions together, within FAILURE_WINDOW_S.
ACCOUNT_MAX_FAILURES = 10
#: Window over which failures count [s].
FAILURE_WINDOW_S = 15 * 60
#: Wait after too many failures, counted from the last failure [s].
LOCKOUT_S = 60
#: Longest user id and password accepted by the form (longer input is refused without hashing it).
MAX_FIELD_CHARS = 128


class Throttle:
    """Failure times per key; a key with ``limit`` failures within ``window_s`` waits ``lockout_s``."""

    def __init__(self, limit: int, window_s: float = FAILURE_WINDOW_S, lockout_s: float = LOCKOUT_S):
        self.limit, self.window_s, self.lockout_s = limit, window_s, lockout_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [x for x in self._failures.get(key, []) if now - x < self.window_s]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def wait_s(self, key: str, now: float | None = None) -> float:
        """Seconds ``key`` must still wait (0 if it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, times[-1] + self.lockout_s - now)

    def fail(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(key, now)
            self._failures.setdefault(key, []).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@st.cache_resource(show_spinner=False)
def account_throttle() -> Throttle:
    """The server-wide throttle of failed sign-ins per user id (one object shared by every session)."""
    return Throttle(ACCOUNT_MAX_FAILURES)


def session_throttle() -> Throttle:
    """This browser session's throttle (lives in the session state)."""
    throttle = st.session_state.get("_signin_throttle")
    if not isinstance(throttle, Throttle):
        throttle = st.session_state["_signin_throttle"] = Throttle(SESSION_MAX_FAILURES)
    return throttle


def password_sign_in(user_id: str, password: str, url: str | None = None) -> tuple[dict | None, float]:
    """Check a user id and password against the users table, under both throttles.

    Returns
    -------
    (user, wait_s)
        ``user`` is ``{user_id, display_name, role}`` or None; ``wait_s`` > 0 means the attempt was not
        even checked because too many failed before (try again after that many seconds).
    """
    user_id = (user_id or "").strip()
    password = password or ""
    account_key = user_id.lower()
    wait = max(session_throttle().wait_s("session"), account_throttle().wait_s(account_key))
    if wait > 0:
        return None, wait
    user = None
    if 0 < len(user_id) <= MAX_FIELD_CHARS and 0 < len(password) <= MAX_FIELD_CHARS:
        with store.session_scope(engine_for(url or config.database_url())) as session:
            user = store.authenticate(session, user_id, password)
    if user is None:
        session_throttle().fail("session")
        account_throttle().fail(account_key)
        return None, 0.0
    session_throttle().reset("session")
    account_throttle().reset(account_key)
    return user, 0.0


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
            st.error(t("auth.locked", lang, seconds=int(wait) + 1))
        elif user is None:
            st.error(t("auth.failed", lang))
        else:
            st.session_state["user"] = user
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
    st.session_state["_oidc_sign_out"] = bool(getattr(st.user, "is_logged_in", False))


def finish_sign_out() -> None:
    """After :func:`sign_out`: drop every other value of the session but the language and the sign-in
    throttle (widgets' values can only be removed during a script run, not in their callbacks), and end the
    identity provider's session (``st.logout`` cannot run in a callback either)."""
    if not st.session_state.pop("_signed_out", False):
        return
    oidc = st.session_state.pop("_oidc_sign_out", False)
    for key in list(st.session_state.keys()):
        if key not in ("lang", "_signin_throttle") and not str(key).startswith("$$"):  # not Streamlit's own
            del st.session_state[key]
    if oidc:
        st.logout()
