# Shared setup for the README's two commands (.ci/demo, .ci/test) and CI (.ci/run).
# Installs only what is missing, so a second run is quick. Sourced, not executed.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Debian 12 packages: Tauri's build dependencies, then what the tests run on
# (a virtual display, private D-Bus sessions, GNOME Keyring, WebKit's WebDriver).
BUILD_PACKAGES=(build-essential pkg-config file libssl-dev libxdo-dev libwebkit2gtk-4.1-dev
  libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev)
TEST_PACKAGES=(xvfb xauth dbus dbus-bin dbus-x11 libglib2.0-bin webkit2gtk-driver gnome-keyring
  python3-venv)

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "error: installing system packages needs root or sudo: $*" >&2; exit 1
  fi
}

install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

require_toolchains() {
  if ! command -v cargo >/dev/null; then
    echo "error: Rust is not installed. Install the stable toolchain with rustup (https://rustup.rs), then run this again." >&2
    exit 1
  fi
  if ! command -v npm >/dev/null; then
    echo "error: Node.js 20+ with npm is not installed. Install it (e.g. from your distribution or nodejs.org), then run this again." >&2
    exit 1
  fi
}

install_node_modules() {
  # npm ci only when the lockfile changed since the last install.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "Installing Node packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

build_ui() {
  step "Building the UI"
  npm run --silent build:ui >/dev/null
}

setup_build() {
  require_toolchains
  install_packages "${BUILD_PACKAGES[@]}"
  install_node_modules
}

# A real SQS and EventBridge on loopback for the cloud relay's tests: moto in server mode, with
# boto3 for the test's setup script, pinned, in a venv outside the repo (kept between runs).
# The tests start `moto_server` themselves from SHELFSYNC_MOTO_SERVER.
MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.5
setup_moto() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/shelfsync/moto-$MOTO_VERSION"
  if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    step "Installing moto[server] $MOTO_VERSION and boto3 $BOTO3_VERSION in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "boto3==$BOTO3_VERSION"
  fi
  export SHELFSYNC_MOTO_SERVER="$venv/bin/moto_server"
}

setup_tests() {
  setup_build
  install_packages "${TEST_PACKAGES[@]}"
  setup_moto
}

# Runs a command inside a private desktop session: a virtual X display (Xvfb), a private
# D-Bus session bus, and GNOME Keyring unlocked on it, with a throwaway HOME so nothing
# touches the real user's keyring or settings.
in_private_session() {
  local home
  home="$(mktemp -d)"
  mkdir -m 700 "$home/run"
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  HOME="$home" XDG_RUNTIME_DIR="$home/run" \
    xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- sh -c '
      printf "%s" "shelfsync-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 90
      gdbus wait --session --timeout 10 org.freedesktop.secrets || exit 91
      exec "$@"' private-session "$@"
}
