"""Measure the embedded engine on generated documents (not collected by pytest).

    python benchmarks/search_engine.py 100000
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.search.adapters.embedded import EmbeddedBackend  # noqa: E402
from portal.search.port import SearchQuery  # noqa: E402
from portal.text import fold  # noqa: E402

TYPES = ["Giấy phép xây dựng", "Giấy chứng nhận đăng ký hộ kinh doanh", "Giấy phép kinh doanh vận tải",
         "Quyết định giao đất", "Giấy chứng nhận quyền sử dụng đất", "Giấy phép khai thác nước ngầm",
         "Quyết định thu hồi đất", "Giấy phép sửa chữa cải tạo",
         "Giấy xác nhận đủ điều kiện an toàn thực phẩm"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Minh", "Đức", "Thu", "Quốc", "Hữu", "Ngọc"]
GIVEN = ["Lan", "Bình", "Hoa", "Dũng", "Hùng", "Hương", "Tuấn", "Đông", "Mai", "Thắng", "Phương", "Cường"]
STREETS = ["Hoàng Quốc Việt", "Trần Thái Tông", "Cầu Giấy", "Xuân Thủy", "Láng Hạ", "Đội Cấn", "Kim Mã",
           "Nguyễn Trãi", "Giải Phóng", "Tây Sơn", "Lạc Long Quân", "Đường Láng"]
UNITS = [("Phường Nghĩa Tân", "Quận Cầu Giấy", "Phường Nghĩa Đô", "00160"),
         ("Phường Dịch Vọng", "Quận Cầu Giấy", "Phường Cầu Giấy", "00166"),
         ("Phường Đội Cấn", "Quận Ba Đình", "Phường Ngọc Hà", "00004"),
         ("Phường Kim Liên", "Quận Đống Đa", "Phường Kim Liên", "00229"),
         ("Xã Tân Lập", "Huyện Đan Phượng", "Xã Đan Phượng", "09817")]


def make(i: int, rnd: random.Random) -> dict:
    unit = rnd.choice(UNITS)
    doc_type = rnd.choice(TYPES)
    year = rnd.randint(2005, 2025)
    street = rnd.choice(STREETS)
    return {
        "id": f"HN-{i:07}", "title": doc_type, "number": [f"{i}/GP", f"000.20.05.H26-{year}-{i:06}"],
        "holder": f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}",
        "summary": f"{doc_type} cho công trình tại số {rnd.randint(1, 300)} ngõ {rnd.randint(1, 200)}"
                   f" phố {street}",
        "issuer": f"Ủy ban nhân dân {unit[1]}", "units": list(unit[:3]), "access": "public",
        "status": rnd.choice(["valid", "valid", "valid", "expired", "revoked"]), "procedure_code": "1.009994",
        "unit": unit[3], "current_unit": [unit[3]], "year": str(year), "issued_date": f"{year}-05-14",
        "digest": str(i),
    }


def typo(word: str, rnd: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rnd.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def measure(backend, queries, **kw) -> tuple[float, float, float]:
    times, found = [], 0
    for text, expect in queries:
        t = time.perf_counter()
        page = backend.search(SearchQuery(text, **kw))
        times.append((time.perf_counter() - t) * 1000)
        found += expect is None or expect in [h.id for h in page.hits]
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], found / len(queries)


def main(n: int) -> None:
    rnd = random.Random(42)
    docs = [make(i, rnd) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        backend = EmbeddedBackend(Path(tmp) / "index")
        t = time.perf_counter()
        backend.rebuild(iter(docs))
        build = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
        print(f"{n} documents: build {build:.1f} s, {size:.0f} MB")
        backend.search(SearchQuery("giay"))  # open + warm
        sample = rnd.sample(docs, 200)
        exact = [(f"{d['holder']} {d['title']}", d["id"]) for d in sample]
        folded = [(fold(q), i) for q, i in exact]
        prefix = [(q[:-1], i) for q, i in folded if len(q.split()[-1]) >= 3]
        typos = [(" ".join(typo(w, rnd) if j == 1 else w for j, w in enumerate(q.split())), i)
                 for q, i in folded]
        number = [(d["number"][0], d["id"]) for d in sample]
        street = [(f"{d['title']} {d['summary'].split('phố ')[1]}", None) for d in sample]
        for label, queries, kw in [
            ("exact (diacritics)", exact, {}), ("exact (folded)", folded, {}),
            ("last word prefix", prefix, {}),
            ("typo in 2nd word", typos, {}), ("number 123/GP", number, {}),
            ("type + street", street, {}), ("with unit+status filter", [(q, None) for q, _ in folded],
                                            {"filters": {"current_unit": "00160", "status": "valid"}}),
        ]:
            p50, p95, rate = measure(backend, queries, **kw)
            print(f"  {label:26} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  found {rate:.0%}")
        t = time.perf_counter()
        backend.upsert([dict(docs[0], title="Giấy phép sửa đổi")])
        print(f"  upsert one + commit + reload: {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
