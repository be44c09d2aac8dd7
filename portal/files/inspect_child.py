"""The child process of portal.files.isolated: limits itself, inspects one file, prints one line.

Run as a script (``python -I inspect_child.py PATH BUDGETS_JSON``), not as ``-m portal…``: the
``portal`` package imports Flask (0.15 s), and a child per upload should start in the time of
Python and pypdf alone. So it imports only the standard library and loads inspect.py, which
imports nothing of the portal, from beside it.

Answer on stdout: {"info": {...}} or {"refused": [code, vi, en]}. A child killed by its limits
answers nothing; the parent says why from how it ended.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import resource
import sys
from dataclasses import asdict
from pathlib import Path


def limit(budgets) -> None:
    """Hard limits before anything of the file is read: address space, CPU seconds (start-up
    included: SIGXCPU at the soft limit, SIGKILL a second later), no core file."""
    memory = int(budgets.max_memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(float(budgets.max_seconds)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _load_inspect():
    source = Path(__file__).with_name("inspect.py")
    spec = importlib.util.spec_from_file_location("portal_files_inspect", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    inspect = _load_inspect()
    path, raw = argv
    budgets = inspect.Budgets(**json.loads(raw))
    limit(budgets)
    logging.disable(logging.CRITICAL)  # pypdf's complaints about a broken file: not ours to print
    try:
        answer = {"info": asdict(inspect.inspect_file(Path(path), budgets))}
    except inspect.UnreadableFile as refused:
        answer = {"refused": [refused.code, refused.vi, refused.en]}
    except MemoryError:
        refused = inspect.too_complex(budgets.max_memory_mb)
        answer = {"refused": [refused.code, refused.vi, refused.en]}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
