"""The data download end to end in Chromium (Playwright, Debian's chromium): a logged-in citizen
opens "My data", clicks the JSON download, and the file the browser saved is parsed: her result
is in it, another person's is not. Runs once, in the SQLite run, like the other browser checks."""

from __future__ import annotations

import json

from tests.privacy.conftest import CITIZEN_ID, OTHER_ID
from tests.web.browser import ONCE_IN_THE_SQLITE_RUN, chromium_as
from tests.web.test_web_suggest_browser import server  # noqa: F401  (the fixture)

pytestmark = ONCE_IN_THE_SQLITE_RUN

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium (portal privacy test)"


def test_download_my_data_as_json_in_the_browser(app, server, client, login_citizen, own_record,  # noqa: F811
                                                 tmp_path):
    mine = own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh",
                      summary="Đăng ký khai sinh cho cháu Nguyễn Minh An")
    theirs = own_record(OTHER_ID, access="personal", summary="Nội dung riêng của người khác")
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    login_citizen(client, "citizen")
    with chromium_as(client, server, accept_downloads=True) as (browser, context):
        page = context.new_page()
        page.goto(f"{server}/")
        with page.expect_navigation():
            page.click("header a[href='/my/data']")
        assert page.locator("h1").inner_text()
        with page.expect_download() as waiting:
            page.click("#export-json")
        download = waiting.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        browser.close()
    assert saved.name.startswith("du-lieu-ca-nhan-") and saved.suffix == ".json"
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["schema"] == "portal.personal-data/1"
    assert [r["source_id"] for r in data["sections"]["results"]["items"]] == [mine.source_id]
    assert data["sections"]["subjects"]["items"][0]["id_number"] == CITIZEN_ID
    text = saved.read_text(encoding="utf-8")
    assert theirs.source_id not in text and OTHER_ID not in text
