"""The demo batch: realistic, deterministic, and exactly in the import format v1."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from portal import create_app
from portal.demo.batch import write_batch
from portal.demo.generator import REFORM, generate, load_units

AS_OF = date(2026, 10, 31)
#: Independent reading of shared/spec/import-batch.md: required keys and their limits.
REQUIRED = (
    "source_id",
    "procedure_code",
    "doc_type_name",
    "doc_number",
    "issued_date",
    "issuer_name",
    "admin_unit",
    "summary",
    "subject",
    "valid_from",
    "status",
    "access",
    "files",
)
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


@pytest.fixture(scope="module")
def demo_app(database, tmp_path_factory):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database(), "DATA_DIR": str(tmp_path_factory.mktemp("demo-data"))}
    )
    with app.app_context():
        yield app
        from portal.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def units(demo_app):
    from portal.extensions import db

    return load_units(db.session)


@pytest.fixture(scope="module")
def batch(units, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "batch"
    write_batch(folder, units, results=80, seed=7, unique_scans=10, as_of=AS_OF)
    return folder


@pytest.fixture(scope="module")
def lines(batch) -> list[dict]:
    return [json.loads(raw) for raw in (batch / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def many(units) -> list[dict]:
    """Lines only (no scans): enough of them for the shares to show."""
    return [r.line for r in generate(1500, seed=3, units=units, as_of=AS_OF)]


def test_every_line_passes_the_importers_checks(demo_app, batch, lines):
    from portal.extensions import db
    from portal.imports.validation import BatchContext, validate_line

    ctx = BatchContext(session=db.session, root=batch)
    for number, line in enumerate(lines, start=1):
        result = validate_line(ctx, number, line)
        assert not isinstance(result, list), (number, result)


def test_lines_follow_the_spec(lines, batch):
    assert len(lines) == 80
    for line in lines:
        assert all(line.get(key) not in (None, "", []) for key in REQUIRED), line
        assert re.fullmatch(r"\d\.\d{6}", line["procedure_code"])
        assert re.fullmatch(r"KQ\.H26\.\d{6}", line["result_type_code"])
        assert len(line["doc_type_name"]) <= 100 and len(line["doc_number"]) <= 11
        assert len(line["doc_notation"] or "") <= 30 and len(line["issuer_name"]) <= 200
        assert len(line["summary"]) <= 500
        assert date.fromisoformat(line["issued_date"]) <= min(date.today(), AS_OF)
        assert line["status"] in ("valid", "expired", "revoked", "replaced", "annulled")
        assert line["access"] in ("personal", "public")
        assert line["admin_unit"]["level"] in ("province", "district", "commune")
        assert re.fullmatch(r"HN-[A-Z0-9]+-[A-Z0-9]+-\d{4}-\d{6,}", line["source_id"])
        for entry in line["files"]:
            data = (batch / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert entry["role"] == "result"


def test_same_seed_gives_the_same_batch(units, tmp_path):
    first = [json.dumps(r.line, sort_keys=True) for r in generate(300, seed=11, units=units, as_of=AS_OF)]
    again = [json.dumps(r.line, sort_keys=True) for r in generate(300, seed=11, units=units, as_of=AS_OF)]
    other = [json.dumps(r.line, sort_keys=True) for r in generate(300, seed=12, units=units, as_of=AS_OF)]
    assert first == again
    assert first != other
    # Scans too: the same bytes, so a rewritten batch imports as "unchanged".
    write_batch(tmp_path / "a", units, results=2, seed=5, unique_scans=2, as_of=AS_OF)
    write_batch(tmp_path / "b", units, results=2, seed=5, unique_scans=2, as_of=AS_OF)
    assert (tmp_path / "a/manifest.jsonl").read_bytes() == (tmp_path / "b/manifest.jsonl").read_bytes()


def test_existing_batch_with_same_parameters_is_reused(units, batch):
    stats = write_batch(batch, units, results=80, seed=7, unique_scans=10, as_of=AS_OF)
    assert stats.reused


def test_people_look_vietnamese_and_ids_are_shaped_like_real_ones(many):
    individuals = [line["subject"] for line in many if line["subject"]["type"] == "individual"]
    organizations = [line["subject"] for line in many if line["subject"]["type"] == "organization"]
    assert individuals and organizations
    assert sum(bool(VIETNAMESE.search(s["name"])) for s in individuals) > 0.8 * len(individuals)
    surnames = Counter(s["name"].split()[0] for s in individuals)
    assert surnames.most_common(1)[0][0] == "Nguyễn"
    for subject in individuals:
        number, born = subject["id_number"], date.fromisoformat(subject["birth_date"])
        assert re.fullmatch(r"\d{12}", number)
        century, female = divmod(int(number[3]), 2)
        assert 1900 + 100 * century <= born.year < 2000 + 100 * century, subject
        assert number[4:6] == f"{born.year % 100:02d}"
    assert Counter(s["id_number"][:3] for s in individuals).most_common(1)[0][0] == "001"
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    for subject in organizations:
        assert re.fullmatch(r"01\d{8}(-\d{3})?", subject["id_number"])
        code = subject["id_number"][:10]
        assert (sum(int(d) * w for d, w in zip(code, weights, strict=False)) + int(code[9])) % 11 == 10
        assert subject["name"].startswith(("Công ty", "Hợp tác xã", "Chi nhánh"))


def test_units_are_real_and_match_the_date(many, units, demo_app):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.units.models import AdminUnit

    known = {
        tuple(row) for row in db.session.execute(select(AdminUnit.system, AdminUnit.level, AdminUnit.code))
    }
    systems = Counter()
    for line in many:
        unit = line["admin_unit"]
        assert (unit["system"], unit["level"], unit["code"]) in known
        legacy = date.fromisoformat(line["issued_date"]) < REFORM
        assert unit["system"] == ("legacy" if legacy else "current"), line
        systems[(unit["system"], unit["level"])] += 1
        if unit["level"] != "province":
            name = units.by_key[(unit["system"], unit["level"], unit["code"])].name
            assert line["issuer_name"] == f"Ủy ban nhân dân {name[0].lower()}{name[1:]}"
    assert systems[("legacy", "commune")] > systems[("legacy", "district")] > 0
    assert systems[("current", "commune")] > 0 and systems[("legacy", "province")] > 0


def test_statuses_access_and_subjects_are_mixed(many):
    statuses = Counter(line["status"] for line in many)
    assert statuses["valid"] > 0.7 * len(many)
    assert all(statuses[s] > 0 for s in ("expired", "revoked", "replaced", "annulled")), statuses
    for line in many:
        if line["status"] == "expired":
            assert date.fromisoformat(line["valid_to"]) < AS_OF
    access = Counter(line["access"] for line in many)
    assert access["personal"] > access["public"] > 0
    fields = Counter(line["procedure_code"] for line in many)
    assert fields["1.001193"] == max(fields.values())  # birth registration: the most common


def test_replaces_chains_are_consistent(many):
    position = {line["source_id"]: i for i, line in enumerate(many)}
    replaced_by = {line["replaces"]: line for line in many if line["replaces"]}
    assert len(replaced_by) >= 5
    for target_id, successor in replaced_by.items():
        target = many[position[target_id]]
        assert position[target_id] < position[successor["source_id"]]
        assert target["status"] == "replaced"
        assert target["subject"] == successor["subject"]
        assert target["issued_date"] < successor["issued_date"]
    assert all(line["source_id"] in replaced_by for line in many if line["status"] == "replaced")


def _page_images(path: Path) -> list[tuple[Image.Image, float]]:
    """(image, resolution) for each page; images fully loaded, files closed."""
    if path.suffix == ".jpg":
        with Image.open(path) as image:
            image.load()
            return [(image.copy(), min(image.info["dpi"]))]
    with open(path, "rb") as handle:
        reader = PdfReader(handle)
        return [
            (page.images[0].image, page.images[0].image.width / (float(page.mediabox.width) / 72))
            for page in reader.pages
        ]


def test_scans_are_real_and_at_least_200_dpi(batch, lines):
    paths = sorted({batch / entry["path"] for line in lines for entry in line["files"]})
    assert any(p.suffix == ".pdf" for p in paths) and any(p.suffix == ".jpg" for p in paths)
    # Metadata-only scans are shared: far fewer files than lines.
    assert len(paths) < len(lines) / 2
    dpis = set()
    for path in paths:
        for image, dpi in _page_images(path):
            assert dpi >= 200, path
            dpis.add(round(dpi))
            assert image.width >= 1654  # A4 at 200 dpi
            gray = image.convert("L")
            assert gray.getextrema()[0] < 80, f"{path} looks blank"
    by_line = {line["files"][0]["path"]: line["digitization"]["dpi"] for line in lines}
    for path, declared in by_line.items():
        assert round(_page_images(batch / path)[0][1]) == declared


def test_page_carries_vietnamese_text(units):
    from portal.demo import scans
    from portal.demo.batch import document_for
    from portal.demo.generator import Generator

    result = Generator(1, units, AS_OF).result(1)
    image = scans.render_pages(document_for(result), 200, 1, seed=1)[0].convert("L")
    header = image.crop((0, 0, image.width, image.height // 8))
    assert header.getextrema()[0] < 80  # the motto and the authority are printed
    font = scans.font("DejaVuSerif-Bold", 40)
    # The vendored font has the Vietnamese glyphs: "Việt" is not drawn like "Viet".
    assert font.getmask("Việt").getbbox() != font.getmask("Viet").getbbox()
    assert font.getmask("ệ").getbbox() is not None


def test_bad_batch_lines_are_refused_on_the_expected_field(demo_app, tmp_path):
    from portal.demo.bad_batch import write_bad_batch
    from portal.extensions import db
    from portal.imports.validation import BatchContext, validate_line

    expected = write_bad_batch(tmp_path / "bad")
    assert set(expected.values()) >= {
        "files[0].sha256",
        "summary",
        "issued_date",
        "subject.id_number",
        "files[0].path",
    }
    ctx = BatchContext(session=db.session, root=tmp_path / "bad")
    raw = (tmp_path / "bad" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(raw, start=1):
        result = validate_line(ctx, number, json.loads(text))
        if number in expected:
            assert isinstance(result, list), number
            assert [e["field"] for e in result] == [expected[number]], (number, result)
        else:
            assert not isinstance(result, list), (number, result)
