"""Budgets of a batch's .zip, checked on its central directory before a byte is extracted.

The same for `flask records import` and the staff upload (both extract through
service._extract_safely). Zip-slip and links are refused there; here, what a small zip can do to
the disk: a million tiny entries, a zip bomb (a kilobyte that inflates to gigabytes), more than the
disk holds. The sizes are the declared ones: Python's zipfile never inflates an entry past its
declared size (it stops with an error), so a lying header cannot get past these sums.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

#: An entry may inflate this many times its compressed size (scans barely compress; a manifest
#: about 10 times; zip bombs a thousand and more)...
MAX_RATIO = 200
#: ...once it inflates to more than this (small entries may compress as they like).
RATIO_FROM_BYTES = 1024 * 1024


class ZipOverBudget(Exception):
    def __init__(self, vi: str, en: str):
        super().__init__(en)
        self.vi, self.en = vi, en


def check(members: list[zipfile.ZipInfo], config, target: Path) -> None:
    """Raise ZipOverBudget when the zip has too many entries, inflates too much in total or in
    one entry, or would not fit on the disk holding ``target``."""
    max_entries = int(config["IMPORT_ZIP_MAX_ENTRIES"])
    max_bytes = int(config["IMPORT_ZIP_MAX_BYTES"])
    if len(members) > max_entries:
        raise ZipOverBudget(f"Tệp zip có quá nhiều mục: {len(members):,} (tối đa {max_entries:,})",
                            f"too many entries in the zip: {len(members):,} (at most {max_entries:,})")
    total = 0
    for member in members:
        total += member.file_size
        inflates = member.file_size > MAX_RATIO * max(member.compress_size, 1)
        if member.file_size > RATIO_FROM_BYTES and inflates:
            raise ZipOverBudget(
                f"Mục {member.filename!r} nén bất thường (tỉ lệ trên {MAX_RATIO}:1), có thể là zip bom",
                f"entry {member.filename!r} inflates more than {MAX_RATIO}:1 (a zip bomb?)")
    if total > max_bytes:
        raise ZipOverBudget(f"Tệp zip giải nén ra {total:,} byte, quá mức {max_bytes:,} byte",
                            f"the zip inflates to {total:,} bytes, over the budget of {max_bytes:,}")
    if total > shutil.disk_usage(target).free:
        raise ZipOverBudget("Máy chủ không đủ chỗ để giải nén lô này",
                            f"not enough disk space to extract this batch ({total:,} bytes)")
