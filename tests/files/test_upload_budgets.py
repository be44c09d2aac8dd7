"""Inspecting a file within budgets (pages, pixels, decoded bytes, time, memory), by content: the
hostile files of the security test (issue 13) are refused early, with the budget they break, and a
child process that breaks a hard limit is killed, not the server."""

from __future__ import annotations

import io
import resource
import time
from pathlib import Path

import pytest
from PIL import Image

from portal.files import isolated
from portal.files.inspect import Budgets, UnreadableFile, inspect_file
from portal.files.isolated import inspect_isolated, inspect_upload
from portal.files.serving import download_name
from tests.files.hostile import html_polyglot, many_pages_pdf, page_tree_bomb, pdf_with_script_head, png_bomb
from tests.files.test_file_inspect import pdf_scan


def _file(tmp_path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _refusal(path: Path, budgets: Budgets | None = None) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as refused:
        inspect_file(path, budgets)
    return refused.value


def test_one_page_listed_200_times_is_refused_before_any_page_is_parsed(tmp_path):
    # Before: 200 parses of the same 60 KB drawing stream, 13 s of CPU here (28 s on the server), accepted.
    bomb = _file(tmp_path, "report.pdf", page_tree_bomb(entries=200, stream_bytes=60_000))
    assert bomb.stat().st_size < 70_000
    started = time.process_time()
    refused = _refusal(bomb)
    assert refused.code == "page_tree" and "nhiều lần" in refused.vi
    assert time.process_time() - started < 0.5


def test_more_pages_than_the_budget_are_refused_with_the_count(tmp_path):
    refused = _refusal(_file(tmp_path, "big.pdf", many_pages_pdf(501)))
    assert refused.code == "too_many_pages"
    assert refused.vi == "Tệp có 501 trang, tối đa 500 trang"
    assert refused.en == "the file has 501 pages, at most 500"
    frames = [Image.new("L", (50, 70), 255) for _ in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", dpi=(300, 300), save_all=True, append_images=frames[1:])
    tiff = _file(tmp_path, "scan.tif", buffer.getvalue())
    assert _refusal(tiff, Budgets(max_pages=3)).code == "too_many_pages"
    assert inspect_file(tiff, Budgets(max_pages=4)).pages == 4


def test_a_png_over_the_pixel_budget_is_refused_from_its_header_without_decoding(tmp_path):
    # Before: 684 KB became 676 MB of pixels in the server (222 → 877 MB); Pillow's warning silenced.
    bomb = _file(tmp_path, "anh.png", png_bomb(13_000, 13_000))
    assert bomb.stat().st_size < 1_000_000
    before = _peak_mb()
    started = time.monotonic()
    refused = _refusal(bomb)
    assert refused.code == "too_many_pixels"
    assert refused.vi == "Ảnh có 169 triệu điểm ảnh, vượt quá 100 triệu điểm ảnh cho một ảnh"
    assert time.monotonic() - started < 1 and _peak_mb() - before < 50


def test_pillow_checks_other_images_at_the_budget_as_an_error(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (400, 300), 255).save(buffer, "JPEG")
    jpeg = _file(tmp_path, "anh.jpg", buffer.getvalue())
    refused = _refusal(jpeg, Budgets(max_pixels=100_000))  # 120,000 pixels
    assert refused.code == "too_many_pixels" and "vượt quá" in refused.vi
    assert inspect_file(jpeg, Budgets(max_pixels=120_000)).pages == 1


def test_the_pixels_of_a_whole_file_and_its_decoded_bytes_are_budgets_too(tmp_path):
    frames = [Image.new("L", (100, 100), 255) for _ in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", dpi=(300, 300), save_all=True, append_images=frames[1:])
    tiff = _file(tmp_path, "scan.tif", buffer.getvalue())
    refused = _refusal(tiff, Budgets(max_file_pixels=25_000))
    assert refused.code == "too_many_pixels" and "tổng cộng" in refused.vi
    png = _file(tmp_path, "anh.png", png_bomb(1000, 1000))  # 4 MB of RGBA pixels decoded
    refused = _refusal(png, Budgets(max_decoded_bytes=2 * 1024 * 1024))
    assert refused.code == "too_much_data" and "2 MB" in refused.vi
    assert inspect_file(png, Budgets(max_decoded_bytes=8 * 1024 * 1024)).media_type == "image/png"


def test_the_cpu_time_budget_is_kept_between_pages(tmp_path):
    pdf = _file(tmp_path, "nhieu-trang.pdf", many_pages_pdf(400))
    refused = _refusal(pdf, Budgets(max_seconds=1e-9))
    assert refused.code == "too_slow" and "thời gian cho phép" in refused.vi
    assert inspect_file(pdf).pages == 400


@pytest.mark.parametrize("make", [html_polyglot, pdf_with_script_head],
                         ids=["html-with-pdf", "pdf-with-script"])
def test_a_file_that_is_also_a_web_page_is_refused_whatever_its_name(tmp_path, make):
    polyglot = _file(tmp_path, "polyglot.html.pdf", make(pdf_scan()))
    refused = _refusal(polyglot)
    assert refused.code == "polyglot" and "HTML" in refused.vi


def test_a_pdf_must_start_at_its_first_byte(tmp_path):
    late = _file(tmp_path, "late.pdf", b"JUNK\n" + pdf_scan())
    assert _refusal(late).code == "unknown_type"


# -- the child process ------------------------------------------------------------------------


def test_a_real_600_dpi_a4_scan_passes_the_default_budgets_in_a_child(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (4961, 7016), 250).save(buffer, "PNG", dpi=(600, 600))  # 35 million pixels
    info = inspect_isolated(_file(tmp_path, "scan.png", buffer.getvalue()), Budgets())
    assert (info.media_type, info.pages, info.dpi) == ("image/png", 1, 600)
    info = inspect_isolated(_file(tmp_path, "scan.pdf", pdf_scan(dpi=300, pages=3)), Budgets())
    assert (info.pages, info.dpi) == (3, 300)


def test_a_child_over_its_memory_limit_is_refused_and_the_server_does_not_grow(tmp_path):
    # 8,000 × 8,000 RGBA is within the pixel budget here, 256 MB to decode; the child has 200 MB.
    png = _file(tmp_path, "anh.png", png_bomb(8000, 8000))
    budgets = Budgets(max_memory_mb=200, max_decoded_bytes=1024 * 1024 * 1024)
    before = _peak_mb()
    with pytest.raises(UnreadableFile) as refused:
        inspect_isolated(png, budgets)
    assert refused.value.code == "too_complex" and "200 MB bộ nhớ" in refused.value.vi
    assert _peak_mb() - before < 50


def test_a_child_past_its_time_is_killed_and_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(isolated, "START_SECONDS", 0.0)
    png = _file(tmp_path, "anh.png", png_bomb(8000, 8000))
    started = time.monotonic()
    with pytest.raises(UnreadableFile) as refused:
        inspect_isolated(png, Budgets(max_seconds=0.2, max_decoded_bytes=1024 * 1024 * 1024))
    assert refused.value.code == "too_slow" and "0.2 giây" in refused.value.vi
    assert time.monotonic() - started < 2


def test_the_cheap_checks_come_before_any_child(tmp_path, monkeypatch):
    def no_child(*args, **kwargs):
        raise AssertionError("no child for a file the cheap checks refuse")

    monkeypatch.setattr(isolated.subprocess, "run", no_child)
    budgets = Budgets()
    with pytest.raises(UnreadableFile) as refused:
        inspect_upload(_file(tmp_path, "a.pdf", pdf_scan()), budgets, max_bytes=100)
    assert refused.value.code == "too_large"
    with pytest.raises(UnreadableFile) as refused:
        polyglot = _file(tmp_path, "polyglot.html.pdf", html_polyglot(pdf_scan()))
        inspect_upload(polyglot, budgets, max_bytes=10**6)
    assert refused.value.code == "polyglot"
    with pytest.raises(UnreadableFile) as refused:
        inspect_upload(_file(tmp_path, "a.tif", b"II*\x00" + bytes(100)), budgets, max_bytes=10**6,
                       types=frozenset({"application/pdf"}))
    assert refused.value.code == "wrong_type"


@pytest.mark.parametrize(("name", "media_type", "expected"), [
    ("giay-phep.pdf", "application/pdf", "giay-phep.pdf"),
    ("thu.html", "application/pdf", "thu.pdf"),
    ("../../etc/anh\x00\n.PNG", "image/png", "anh.PNG"),
    ("chup.jpeg", "image/jpeg", "chup.jpeg"),
    ('"><script>.png', "image/png", "script.png"),
    ("", "image/png", "tep-dinh-kem.png"),
])
def test_download_names_keep_the_words_and_take_the_extension_of_the_content(name, media_type, expected):
    assert download_name(name, media_type) == expected
