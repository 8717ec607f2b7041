"""Sign-in through the real form (AppTest on app/Home.py), its rate limit, sign-out and the optional OIDC
path."""

import re
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import auth  # noqa: E402
from i18n import t  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from orchard import store  # noqa: E402
from orchard.sample import SAMPLE_PASSWORD  # noqa: E402

HOME = str(APP / "Home.py")


@pytest.fixture
def app_env(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)


@pytest.fixture
def app_env_copy(sample_home_copy):
    """A private copy of the sample home: failed sign-ins are written to its database."""
    return sample_home_copy


def _home(**params) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def _sign_in(at: AppTest, user_id: str, password: str) -> AppTest:
    at.text_input(key="signin_user").set_value(user_id)
    at.text_input(key="signin_password").set_value(password)
    (submit,) = [b for b in at.button if b.key.startswith("FormSubmitter:sign_in")]
    return submit.click().run()


# ----------------------------------------------------------------------------------------------------------
# The form
# ----------------------------------------------------------------------------------------------------------
def test_signed_out_visitors_see_only_the_sign_in_form_in_chinese(app_env):
    at = _home(user="agronomist_zhao").run()  # the old demo picker's ?user= no longer signs anyone in
    assert not at.exception
    assert at.title[0].value == t("app.title", "zh-CN")
    assert [x.label for x in at.text_input] == ["用户名", "密码"]
    password = at.text_input(key="signin_password").proto
    assert password.type == password.PASSWORD
    assert "user" not in at.session_state
    assert not at.get("page_link") and not at.metric and not at.get("deck_gl_json_chart")


def test_a_grower_signs_in_with_the_sample_password_and_lands_on_their_home(app_env):
    at = _sign_in(_home().run(), "grower_li", SAMPLE_PASSWORD)
    assert not at.exception and not at.error
    assert at.session_state["user"] == {"user_id": "grower_li", "display_name": "李明", "role": "grower"}
    assert at.session_state["lang"] == "zh-CN"
    assert at.title[0].value == "李明，您好"
    assert at.sidebar.markdown[0].value == "李明（果农）"
    assert "signin_password" not in [x.key for x in at.text_input]  # the form is gone


def test_a_wrong_password_and_an_unknown_id_get_the_same_one_sentence(app_env):
    wrong = _sign_in(_home().run(), "grower_li", "not-the-password")
    unknown = _sign_in(_home().run(), "nobody_at_all", SAMPLE_PASSWORD)
    for at in (wrong, unknown):
        assert not at.exception
        assert [e.value for e in at.error] == [t("auth.failed", "zh-CN")]
        assert "user" not in at.session_state
        assert at.text_input(key="signin_user")  # still on the form
    assert "grower_li" not in wrong.error[0].value  # no hint which part was wrong


def test_an_empty_or_overlong_password_is_refused_without_a_traceback(app_env):
    for password in ("", SAMPLE_PASSWORD + "x" * 200):
        at = _sign_in(_home().run(), "grower_li", password)
        assert not at.exception and [e.value for e in at.error] == [t("auth.failed", "zh-CN")]
        assert "user" not in at.session_state


def test_failures_slow_the_typist_not_the_owner_and_are_stored_in_the_database(app_env_copy):
    # Issue #18: the lockout lived in memory (a restart reset it) and let anyone lock a grower out.
    free = store.SIGN_IN_THROTTLE["pair"]["free"]
    at = _home().run()
    for _ in range(free):
        at = _sign_in(at, "grower_chen", "wrong-password")
        assert [e.value for e in at.error] == [t("auth.failed", "zh-CN")]
    at = _sign_in(at, "grower_chen", SAMPLE_PASSWORD)  # not even checked: this typist must wait
    assert not at.exception and "user" not in at.session_state
    (message,) = [e.value for e in at.error]
    assert message.startswith("登录失败次数太多") and "秒后再试" in message
    owner = _sign_in(_home().run(), "grower_chen", SAMPLE_PASSWORD)  # the owner, from their own phone
    assert owner.session_state["user"]["user_id"] == "grower_chen"
    # stored: a new engine on the same file (as after a restart) still sees the typist's wait
    client = at.session_state["_signin_client"]
    engine = store.create_engine_for(f"sqlite:///{app_env_copy / 'orchard.db'}")
    try:
        with store.session_scope(engine) as session:
            wait = store.sign_in_wait_s(session, auth.throttle_keys("grower_chen", f"session:{client}"))
            rows = session.scalar(select(func.count()).select_from(store.SignInFailures))
    finally:
        engine.dispose()
    assert 0 < wait <= store.SIGN_IN_THROTTLE["pair"]["first_s"]
    assert rows >= 2  # the typist's client and pair (the owner's sign-in cleared the account's count)


def test_sign_out_returns_to_the_form_and_keeps_the_language(app_env):
    at = _home(lang="en").run()
    at = _sign_in(at, "grower_wang", SAMPLE_PASSWORD)
    assert at.title[0].value == "Hello, 王芳"
    at.sidebar.button(key="sign_out").click().run()
    assert not at.exception and "user" not in at.session_state
    assert at.session_state["lang"] == "en"
    assert [x.label for x in at.text_input] == ["User name", "Password"]


def test_a_long_wait_is_said_in_minutes():
    assert auth.wait_text(4.2, "zh-CN") == "登录失败次数太多，请 5 秒后再试。"
    assert auth.wait_text(900, "zh-CN") == "登录失败次数太多，请 15 分钟后再试。"
    assert auth.wait_text(3600, "en") == "Too many failed sign-ins; please try again in 60 minutes."


def test_the_client_is_the_peer_or_the_address_a_local_proxy_appended():
    assert auth.client_address("203.0.113.9", "198.51.100.1") == "203.0.113.9"  # a direct connection
    # behind a proxy on this machine (Streamlit reports no peer): the proxy's entry, not the client's own
    assert auth.client_address(None, "10.9.9.9, 198.51.100.7") == "198.51.100.7"
    assert auth.client_address(None, None) is None and auth.client_address(None, " ") is None


# ----------------------------------------------------------------------------------------------------------
# The sign-in cookie: a reload keeps the user signed in
# ----------------------------------------------------------------------------------------------------------
def test_a_token_is_valid_until_it_expires_and_cannot_be_forged_or_outlive_a_password_change():
    key, other_key = b"k" * 32, b"o" * 32
    token = auth.make_token("grower_li", "hash-1", now=1000.0, max_age_s=60, key=key)
    hashes = {"grower_li": "hash-1", "grower_wang": "hash-2"}
    assert auth.token_user_id(token, hashes.get, now=1059.0, key=key) == "grower_li"
    assert auth.token_user_id(token, hashes.get, now=1060.0, key=key) is None  # expired
    assert auth.token_user_id(token, hashes.get, now=1000.0, key=other_key) is None  # another installation
    new_password = {"grower_li": "hash-new"}.get
    assert auth.token_user_id(token, new_password, now=1000.0, key=key) is None
    id_part, expires, mac = token.split(".")
    wang = auth.make_token("grower_wang", "hash-2", now=1000.0, max_age_s=60, key=key).split(".")[0]
    for forged in (f"{wang}.{expires}.{mac}", f"{id_part}.{int(expires) + 3600}.{mac}", "garbage", "", None):
        assert auth.token_user_id(forged, hashes.get, now=1000.0, key=key) is None


def _cookie_scripts(at: AppTest) -> list[str]:
    return [e.proto.body for e in at.get("html") if auth.COOKIE_NAME in e.proto.body]


def test_a_reload_keeps_the_user_signed_in_until_they_sign_out(app_env, monkeypatch):
    at = _sign_in(_home().run(), "grower_li", SAMPLE_PASSWORD)
    (script,) = _cookie_scripts(at)  # the page writes the signed cookie (hidden)
    token = re.search(rf"{auth.COOKIE_NAME}\" \+ '=' \+ \"([^\"]+)\"", script).group(1)
    assert "SameSite=Strict" in script and f"Max-Age={auth.COOKIE_MAX_AGE_S}" in script
    assert _cookie_scripts(at.run()) == [script]  # the same hidden element: the browser runs it once

    monkeypatch.setattr(auth, "browser_cookie", lambda: token)  # the reloaded page sends the cookie back
    reloaded = _home().run()
    assert not reloaded.exception
    assert reloaded.session_state["user"] == {"user_id": "grower_li", "display_name": "李明", "role": "grower"}
    assert reloaded.title[0].value == "李明，您好"

    reloaded.sidebar.button(key="sign_out").click().run()  # signing out deletes it, and it no longer counts
    assert "user" not in reloaded.session_state
    assert any("Max-Age=0" in s for s in _cookie_scripts(reloaded))
    assert "user" not in reloaded.run().session_state

    monkeypatch.setattr(auth, "browser_cookie", lambda: token[:-2] + "xx")  # a forged cookie: the form
    forged = _home().run()
    assert "user" not in forged.session_state and forged.text_input(key="signin_password")


# ----------------------------------------------------------------------------------------------------------
# OIDC (optional)
# ----------------------------------------------------------------------------------------------------------
def test_without_an_auth_section_only_the_password_form_is_offered(app_env):
    at = _home().run()
    assert not auth.oidc_configured()
    assert [b.key for b in at.button] == ["FormSubmitter:sign_in-登录"]


def test_with_an_auth_section_the_provider_button_appears_and_mapped_users_get_in(app_env):
    secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                        "client_id": "orchard", "client_secret": "s",
                        "server_metadata_url": "https://id.example.org/.well-known/openid-configuration"},
               "orchard": {"oidc_users": {"Li.Ming@Example.org": "grower_li"}}}
    at = _home()
    at.secrets.update(secrets)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert at.button(key="oidc_sign_in").label == t("auth.oidc", "zh-CN")

    at = _home()
    at.secrets.update(secrets)
    at.user = {"is_logged_in": True, "email": "li.ming@example.org"}
    at.run()
    assert not at.exception and at.session_state["user"]["user_id"] == "grower_li"
    assert at.title[0].value == "李明，您好"

    at = _home()
    at.secrets.update(secrets)
    at.user = {"is_logged_in": True, "email": "stranger@example.org"}
    at.run()
    assert "user" not in at.session_state
    assert [e.value for e in at.error] == [t("auth.oidc_unknown", "zh-CN")]
