#!/usr/bin/env bash
# Set up procmem on a fresh machine: system OpenGL/EGL libraries, then .venv with the
# package installed in editable mode. Idempotent; `make demo` and `make test` call it.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SYSTEM_PKGS="libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri"

have_egl() {
    # The GL dispatch libraries plus Mesa's EGL vendor (llvmpipe when there is no GPU).
    ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1' &&
    ldconfig -p 2>/dev/null | grep -q 'libGL.so.1' &&
    { ldconfig -p 2>/dev/null | grep -q 'libEGL_mesa.so.0' ||
      ldconfig -p 2>/dev/null | grep -q 'libEGL_nvidia.so.0'; }
}

if ! have_egl; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "setup: installing headless OpenGL libraries: $SYSTEM_PKGS"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $SYSTEM_PKGS
    else
        echo "setup: headless OpenGL (EGL) libraries are missing." >&2
        echo "setup: ask an administrator to run: apt-get install $SYSTEM_PKGS" >&2
        echo "setup: (or run this as root; on a GPU node the NVIDIA driver's EGL also works)" >&2
        exit 1
    fi
fi

# Headless Chromium for the report's browser test (tests/eval/test_report_browser.py): Debian's
# package, installed as root where missing; elsewhere that one test is skipped with a note.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "setup: installing headless Chromium (chromium) for the report test"
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } ||
            echo "setup: chromium could not be installed; the report's browser test will be skipped" >&2
    else
        echo "setup: no chromium; the report's browser test is skipped (root: apt-get install chromium)" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
            echo "setup: installing python3-venv"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
            "$PY" -m venv .venv
        else
            echo "setup: '$PY -m venv' failed; install python3-venv (apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi

stamp=.venv/.procmem-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing procmem and its dependencies into .venv (torch from local disk when present)"
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install -q --upgrade pip &&
           .venv/bin/python -m pip install -q -e '.[test]'; } >"$log" 2>&1 ||
       ! .venv/bin/python -c "import procmem, torch, torchvision, timm, moderngl, faiss, webdataset"; then
        grep -v '^WARNING: Location' "$log" | tail -40 >&2
        echo "setup: installing dependencies failed; pip's full log: $log" >&2
        exit 1
    fi
    touch "$stamp"
fi
