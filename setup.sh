#!/usr/bin/env bash
# Set up letterforge on this machine: system libraries and fonts, then a virtualenv in .venv.
#
#   ./setup.sh          what rendering, preview and proof need (Pango for WeasyPrint, HarfBuzz
#                       subsetting, fonts; the [preview] extra)
#   ./setup.sh --test   also what the tests use (pytest and friends, pdftotext, LibreOffice,
#                       Chromium for the browser tests)
#
# On Debian/Ubuntu as root (or with sudo) it installs the system packages with apt-get;
# elsewhere it checks them and says exactly what to install. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

with_test=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (use --test or nothing)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- Python 3.11+ ----------------------------------------------------------------------
python=""
for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."

# --- system packages -------------------------------------------------------------------
# WeasyPrint needs Pango; libharfbuzz-subset0 makes its font subsetting fast;
# fonts-liberation2 holds the fonts the sample's stylesheet names (Liberation Serif /
# Mono); fonts-noto-core and fonts-noto-cjk the Arabic and Chinese fonts of letters in
# other scripts (examples/multilingual: Noto Naskh Arabic, Noto Serif CJK SC).
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 fontconfig
          fonts-noto-core fonts-noto-cjk)
if [ "$with_test" = 1 ]; then
  # pdftotext reads the PDFs back, LibreOffice Writer opens every DOCX, munpack opens
  # every .eml.
  # chromium: the browser tests of preview and proof drive it with Playwright.
  # dovecot-imapd: the IMAP server the tests of replies read from.
  packages+=(poppler-utils libreoffice-writer-nogui mpack chromium
             dovecot-imapd)
fi

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      die "missing system packages: ${missing[*]}. Install them as root: apt-get install ${missing[*]}"
    fi
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # another apt run (unattended upgrades, a second set-up) holds dpkg's lock: wait for it
    # up to 10 minutes instead of failing at once
    lock=(-o DPkg::Lock::Timeout=600)
    $sudo apt-get "${lock[@]}" update -qq ||
      die "apt-get update failed (see above: the network, or a package source that does not answer); then run ./setup.sh again, or install by hand: apt-get install ${missing[*]}"
    $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install failed (see above; if another package manager held the lock for 10 minutes, let it finish); then run ./setup.sh again, or install by hand: apt-get install ${missing[*]}"
  fi
else
  # Not Debian: check what we can and say what to install.
  if ! "$python" -c 'import ctypes.util, sys; sys.exit(ctypes.util.find_library("pango-1.0") is None)'; then
    die "Pango (needed by WeasyPrint) was not found. macOS: brew install pango; Fedora: dnf install pango; see https://doc.courtbouillon.org/weasyprint/stable/first_steps.html"
  fi
  if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi "Liberation Serif"; then
    say "warning: the font 'Liberation Serif' is not installed; install the Liberation fonts (v2) for identical PDFs"
  fi
fi

# --- virtualenv ------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $python"
  "$python" -m venv .venv || die "could not create .venv (Debian: apt-get install python3-venv)"
fi
extra="[preview]"
[ "$with_test" = 1 ] && extra="[test,preview]"
stamp=".venv/.letterforge-setup$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  say "installing letterforge$extra into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # setuptools warns, in a box, that an editable install imports from this folder: that
  # is the point of it (edits take effect without reinstalling), so that one warning is off.
  PYTHONWARNINGS="ignore:Editable installation" \
    .venv/bin/python -m pip install -q -c constraints.txt -e ".$extra" ||
    die "pip install failed (see above)"
  touch "$stamp"
fi
# Python keeps compiled modules in __pycache__ by itself, unless PYTHONDONTWRITEBYTECODE is
# set (as on many CI and container images): then every run, and each render worker,
# compiled letterforge's modules again, 0.3 s of each start. pip compiles the libraries it
# installs; an editable install leaves this folder's modules to us. (An edited module is
# simply compiled again.)
.venv/bin/python -m compileall -q letterforge >/dev/null ||
  say "warning: could not compile letterforge's modules ahead (each run will)"
say "ready: .venv/bin/letterforge"
