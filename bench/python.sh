# Sourced by bench/run and bench/soak: sets $py to a Python with labbench and the packages it
# drives installed (scripts/test's venv installs every local package with pip install --no-deps -e):
# $BENCH_PYTHON, else the test venv ($PETLAB_VENV or .venv), else the dev venv /tmp/devvenv.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wants='import labbench, labtest, labcli, pethistory, gunicorn'
py=${BENCH_PYTHON:-}
if [ -z "$py" ]; then
  for candidate in "${PETLAB_VENV:-$root/.venv}/bin/python" /tmp/devvenv/bin/python; do
    if [ -x "$candidate" ] && "$candidate" -c "$wants" 2>/dev/null; then py=$candidate; break; fi
  done
fi
if [ -z "$py" ] || ! "$py" -c "$wants" 2>/dev/null; then
  echo "$(basename "$0"): no Python with labbench and the packages it drives (labtest, labcli, pethistory):" \
    "run scripts/test once, or set BENCH_PYTHON" >&2
  exit 2
fi
