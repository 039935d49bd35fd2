"""Every string on the login page renders in the vendored CJK font, not as empty boxes.

Headless Chromium on a machine with no CJK system font (as in CI) has only the vendored Noto Sans
SC chunks for Chinese text; a string laid out before its chunk arrived showed as boxes. No
string may appear before the chunks it needs are in, which `document.fonts.check()` tells: the
test looks at the first moment any text is on the page.
"""

from __future__ import annotations

import pytest

from tests.browser import PageWatch, chromium, wait_js

FONT = '16px "Noto Sans SC"'
VISIBLE_TEXT = """() => {
  const shown = Array.from(document.querySelectorAll('[data-i18n], [role=alert]'))
    .filter((el) => !el.hidden && el.offsetParent !== null)
    .map((el) => el.textContent.trim()).filter((t) => t);
  return shown.length ? shown : null;
}"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.mark.parametrize("reason, alert", [("required", "请先登录"),
                                           ("expired", "登录已过期，请重新登录")])
def test_login_alert_renders_in_the_cjk_font_when_shown(live_server: str, browser, reason: str,
                                                         alert: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        watch = PageWatch(page, live_server)
        page.goto(f"{live_server}/login?reason={reason}&next=/map")
        strings = wait_js(page, VISIBLE_TEXT)
        assert alert in strings and "用户名" in strings, strings
        unrendered = page.evaluate(
            "([font, texts]) => texts.filter((t) => !document.fonts.check(font, t))",
            [FONT, strings])
        assert unrendered == [], f"shown before their font chunks loaded: {unrendered}"
        watch.assert_clean()
    finally:
        context.close()


def test_language_switch_loads_the_other_strings_first(live_server: str, browser) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login?reason=required")
        wait_js(page, VISIBLE_TEXT)
        page.click("#wg-lang")
        wait_js(page, "() => document.getElementById('wg-login-msg').textContent === "
                      "'Please log in'")
        page.click("#wg-lang")
        wait_js(page, "() => document.getElementById('wg-login-msg').textContent === '请先登录'")
        strings = wait_js(page, VISIBLE_TEXT)
        unrendered = page.evaluate(
            "([font, texts]) => texts.filter((t) => !document.fonts.check(font, t))",
            [FONT, strings])
        assert unrendered == [], unrendered
    finally:
        context.close()
