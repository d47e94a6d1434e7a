# Sourced by scripts/demo and scripts/test: make sure .venv exists and holds the project.
#
#   ensure_venv ""      # the project
#   ensure_venv test    # the project with its `test` extra
#
# pip runs again only when pyproject.toml changed since the last install of that extra, so a
# second run starts at once. PYTHON picks the interpreter that creates .venv (default python3).

ensure_venv() {
    local extra=$1 spec=. stamp
    [ -n "$extra" ] && spec=".[$extra]"
    if [ ! -x .venv/bin/python ]; then
        local python=${PYTHON:-python3}
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "error: $python is missing or older than Python 3.11; set PYTHON=/path/to/python3.11" >&2
            return 1
        fi
        echo "==> creating .venv with $("$python" --version 2>&1)"
        "$python" -m venv .venv || return 1
    fi
    stamp=".venv/.installed-${extra:-base}"
    if [ -f "$stamp" ] && cmp -s pyproject.toml "$stamp"; then
        return 0
    fi
    echo "==> pip install -e '$spec' (into .venv)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input -e "$spec" \
        || return 1
    cp pyproject.toml "$stamp"
}
