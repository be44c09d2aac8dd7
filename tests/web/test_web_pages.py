"""Home, errors, language and the structural rules every page keeps (CSP: no inline styles)."""

import re

import pytest


def test_home_is_vietnamese_by_default(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert "Cổng tra cứu kết quả giải quyết thủ tục hành chính" in html
    assert "Thành phố Hà Nội" in html
    assert 'action="/search"' in html and 'name="q"' in html
    assert '<label for="q"' in html
    assert 'href="/search?q=giay+phep+xay+dung+cau+giay"' in html
    assert "01/07/2025" in html


def test_home_in_english_with_lang_and_the_choice_is_remembered(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Look up results of administrative procedures" in html
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)  # from the cookie


def test_vietnamese_even_when_the_browser_asks_for_english(client):
    # Most browsers in Vietnam are set to English; the portal stays Vietnamese until asked.
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="vi">' in html


def test_language_switch_keeps_path_and_query(client):
    html = client.get("/search?q=giay+phep&status=valid&lang=vi").get_data(as_text=True)
    assert 'href="/search?q=giay+phep&amp;status=valid&amp;lang=en"' in html
    current = r'<a href="/search\?q=giay\+phep&amp;status=valid&amp;lang=vi"[^>]*aria-current="true"'
    assert re.search(current, html)


def test_home_shows_counts(client, make_record):
    make_record()
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'class="stat-value">1</span>\s*<span class="stat-label">kết quả đã số hóa', html)
    assert re.search(r'class="stat-value">126</span>', html)


def test_skip_link_landmarks_and_stylesheet(client):
    html = client.get("/").get_data(as_text=True)
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html and "<header" in html and "<footer" in html
    assert 'href="/static/css/portal.css?v=' in html  # versioned: portal/operations/static_urls.py
    with client.get("/static/css/portal.css") as css:
        assert css.status_code == 200


@pytest.mark.parametrize("status, text", [
    (404, "Không tìm thấy trang"),
    (405, "Thao tác không được phép"),
])
def test_error_pages_are_friendly_vietnamese(client, status, text):
    response = client.get("/khong-co") if status == 404 else client.post("/")
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert text in html and "Về trang chủ" in html and 'href="/"' in html


def test_unexpected_error_is_a_friendly_500(app, client, monkeypatch):
    from portal.records import services

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "view_record", broken)
    response = client.get("/results/ANY")
    assert response.status_code == 500
    assert "Hệ thống đang gặp sự cố" in response.get_data(as_text=True)


def test_healthz_still_json(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_pages_carry_a_csp_nonce_and_no_inline_styles(client, make_record):
    public = make_record(files=True)
    personal = make_record(access="personal")
    urls = ["/", "/?lang=en", "/search", "/search?q=giay+phep", "/search?q=khongco",
            f"/results/{public.source_id}", f"/results/{personal.source_id}",
            f"/results/{public.source_id}/files/1/pages/1", "/khong-co"]
    for url in urls:
        response = client.get(url)
        html = response.get_data(as_text=True)
        csp = response.headers["Content-Security-Policy"]
        assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{22}'", csp), url
        assert "style-src 'self';" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        # style-src 'self': the browser would drop inline styles; external hosts are blocked too.
        assert not re.search(r"<[^>]+\sstyle\s*=", html, re.I), url
        assert "<style" not in html.lower(), url
        assert not re.search(r'(src|href)="(https?:)?//', html), url
        # Any inline script must carry this response's nonce.
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, (url, tag)
