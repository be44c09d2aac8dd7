# Sourced by run-portal.sh and run-tests.sh: finds Python 3.12, makes .venv, installs the project.
# Safe to run again: it reinstalls only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
    local candidate
    for candidate in "${PORTAL_PYTHON:-}" python3.12 \
        "$(pyenv prefix 3.12 2>/dev/null | head -n1)/bin/python3.12" \
        /usr/local/bin/python3.12 /usr/bin/python3.12; do
        [ -n "$candidate" ] || continue
        # A pyenv shim answers "command not found" unless 3.12 is selected: ask for the version.
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    PYTHON=$(find_python) || {
        echo "Cần Python 3.12 / Python 3.12 is required." >&2
        echo "Install it with 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv'," >&2
        echo "or point PORTAL_PYTHON at a python3.12 binary." >&2
        exit 1
    }
    rm -rf .venv
    "$PYTHON" -m venv .venv
fi

stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "==> Cài đặt thư viện / installing dependencies into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

# Text from scans (docs/ocr.md): Debian's Tesseract and its Vietnamese model, as the browser tests
# get Debian's Chromium. Without them the portal runs and scans wait, unread, for `flask ocr run`.
if ! tesseract --list-langs 2>&1 | grep -qx vie; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> Cài Tesseract OCR tiếng Việt / installing Tesseract OCR with its Vietnamese model"
        apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-vie >/dev/null
    else
        echo "Cần Tesseract để đọc bản quét / reading scans needs Tesseract:" >&2
        echo "  sudo apt-get install tesseract-ocr tesseract-ocr-vie   (then run this script again)" >&2
    fi
fi
