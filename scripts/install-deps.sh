#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine; a no-op when it is all there.
set -euo pipefail
cd "$(dirname "$0")/.."

list() { grep -vE '^\s*(#|$)' "$1" | sed 's/\s*#.*//'; }

missing=()
for pkg in $(list scripts/deps/apt.txt); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .deps/venv/bin/python ]; then
  mkdir -p .deps
  python3 -m venv .deps/venv
fi
want=$(list scripts/deps/pip.txt | sort)
have=$(cat .deps/venv/.installed 2>/dev/null || true)
if [ "$want" != "$have" ] && [ -n "$want" ]; then
  echo "installing PyPI packages into .deps/venv"
  .deps/venv/bin/pip install -q --disable-pip-version-check $want
  printf '%s' "$want" > .deps/venv/.installed
fi

npm_want=$(list scripts/deps/npm.txt | sort)
npm_have=$(cat .deps/node/.installed 2>/dev/null || true)
if [ "$npm_want" != "$npm_have" ] && [ -n "$npm_want" ]; then
  echo "installing npm packages into .deps/node"
  mkdir -p .deps/node
  (cd .deps/node && npm install --silent --no-audit --no-fund $npm_want)
  printf '%s' "$npm_want" > .deps/node/.installed
fi
