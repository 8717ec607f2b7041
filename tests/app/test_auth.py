"""Sign-in through the real form (AppTest on app/Home.py), its rate limit, sign-out and the optional OIDC
path."""

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app"
sys.path.insert(0, str(APP))
import auth  # noqa: E402
from i18n import t  # noqa: E402

from orchard.sample import SAMPLE_PASSWORD  # noqa: E402

HOME = str(APP / "Home.py")


@pytest.fixture
def app_env(sample_home, monkeypatch):
    monkeypatch.setenv("ORCHARD_HOME", str(sample_home))
    monkeypatch.delenv("ORCHARD_DB_URL", raising=False)


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


def test_five_failures_lock_the_session_even_for_the_right_password(app_env):
    at = _home().run()
    for _ in range(auth.SESSION_MAX_FAILURES):
        at = _sign_in(at, "nobody_rate_test", "wrong-password")
        assert [e.value for e in at.error] == [t("auth.failed", "zh-CN")]
    at = _sign_in(at, "grower_chen", SAMPLE_PASSWORD)
    assert not at.exception and "user" not in at.session_state
    (message,) = [e.value for e in at.error]
    assert message.startswith("登录失败次数太多") and "秒后再试" in message
    fresh = _sign_in(_home().run(), "grower_chen", SAMPLE_PASSWORD)  # another session is not locked
    assert fresh.session_state["user"]["user_id"] == "grower_chen"


def test_sign_out_returns_to_the_form_and_keeps_the_language(app_env):
    at = _home(lang="en").run()
    at = _sign_in(at, "grower_wang", SAMPLE_PASSWORD)
    assert at.title[0].value == "Hello, 王芳"
    at.sidebar.button(key="sign_out").click().run()
    assert not at.exception and "user" not in at.session_state
    assert at.session_state["lang"] == "en"
    assert [x.label for x in at.text_input] == ["User name", "Password"]


# ----------------------------------------------------------------------------------------------------------
# Throttle
# ----------------------------------------------------------------------------------------------------------
def test_throttle_locks_after_the_limit_and_frees_after_the_lockout():
    throttle = auth.Throttle(limit=3, window_s=100.0, lockout_s=30.0)
    for now in (0.0, 1.0):
        throttle.fail("a", now)
    assert throttle.wait_s("a", 2.0) == 0.0
    throttle.fail("a", 2.0)
    assert throttle.wait_s("a", 2.0) == pytest.approx(30.0)
    assert throttle.wait_s("a", 20.0) == pytest.approx(12.0)
    assert throttle.wait_s("a", 32.5) == 0.0
    assert throttle.wait_s("b", 2.0) == 0.0  # keys are independent
    throttle.fail("a", 150.0)  # the old failures left the window
    assert throttle.wait_s("a", 150.0) == 0.0
    throttle.reset("a")
    assert throttle.wait_s("a", 150.0) == 0.0


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
