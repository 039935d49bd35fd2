"""The resident's rating page (/rate/{token}): no login, no map; the token is the credential."""

from __future__ import annotations

from api.pages.i18n import DEFAULT_LANG, labels
from api.pages.shell import page_html
from gis.settings import Settings

RATE_BODY = """\
<main class="wg-login card"><div class="card-body">
  <h1 class="h5"><span data-i18n="rate_title"></span>
    <button id="wg-lang" class="btn btn-sm btn-light float-end" type="button" data-i18n="lang">
    </button></h1>
  <div id="r-case" class="mb-2"></div>
  <div id="r-msg" class="alert" role="alert" hidden></div>
  <form id="r-form" hidden>
    <div class="mb-2" data-i18n="rate_prompt"></div>
    <div class="btn-group mb-2" role="group" id="r-scores">__SCORES__</div>
    <label class="form-label w-100"><span data-i18n="comment"></span>
      <textarea name="comment" data-testid="rate-comment" class="form-control" rows="3"
                maxlength="1000"></textarea></label>
    <button class="btn btn-primary" type="submit" data-testid="rate-submit"
            data-i18n="rate_submit"></button>
  </form>
</div></main>
<script>WG.startRating();</script>
"""


def rating_page_html(settings: Settings) -> str:
    """The page's HTML (the same for every token; the script reads it from the URL)."""
    config = {"lang": DEFAULT_LANG, "labels": labels(settings.categories_file)}
    scores = "".join(
        f'<input type="radio" class="btn-check" name="score" id="r-score-{n}" value="{n}" '
        f'data-testid="rate-score-{n}" required><label class="btn btn-outline-primary" '
        f'for="r-score-{n}">{n}</label>' for n in range(1, 6))
    return page_html(title="Wangge 网格", config=config,
                     body=RATE_BODY.replace("__SCORES__", scores),
                     body_class="wg-login-body", scripts=("/static/js/rate.js",),
                     meta='<meta name="referrer" content="no-referrer">')
