#!/usr/bin/env bash
# The wheel holds what a run needs (the spec and report JSON schemas, py.typed, the
# starters): build it, install it into a fresh virtual environment that borrows this
# one's packages (TensorFlow is not downloaded again, and this checkout's editable
# install is left behind), then record and check a spec in a project outside the
# repository, and check that the package came from the wheel.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo"
"$python" -m venv "$work/venv"
venv_site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# this environment's packages, after the venv's own: a path in a .pth file is added
# to sys.path, but the .pth files there (an editable install's finder) are not run
"$python" -c 'import sysconfig; p = sysconfig.get_paths(); print(p["purelib"]); print(p["platlib"])' \
    > "$venv_site/_borrowed.pth"
"$work/venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$work"/dist/pytest_rnnparity-*.whl

mkdir -p "$work/project/specs"
cp "$repo/specs/power_gru.yaml" "$work/project/specs/"
printf '[pytest]\n' > "$work/project/pytest.ini"
cd "$work/project"
"$work/venv/bin/python" - <<'PY'
import sys
import pytest_rnnparity
where = pytest_rnnparity.__file__ or ""
if not where.startswith(sys.prefix):
    sys.exit(f"pytest_rnnparity was imported from {where}, not from the installed wheel")
print(f"wheel check: pytest_rnnparity {pytest_rnnparity.__version__} from {where}")
PY
"$work/venv/bin/rnnparity" validate specs
export TF_CPP_MIN_LOG_LEVEL=2
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider --rnn-parity specs --snapshot-update
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider --rnn-parity specs
test -f golden/power_gru/power-gru.golden
echo "wheel check: the installed wheel recorded and checked a spec outside the repository"
