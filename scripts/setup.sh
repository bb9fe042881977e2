# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: installs what is missing on a Debian
# bookworm machine (apt packages, then the npm packages of package-lock.json), and
# nothing that is already there.

set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What the build needs; the test command adds the sanitizer compiler and real peers
# (Node for the npm clients, Chromium for the browser tests that playwright-core drives).
build_packages=(g++ cmake ninja-build ccache pkg-config libboost1.81-dev libssl-dev zlib1g-dev
                libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libbenchmark-dev
                libjwt-dev libtomlplusplus-dev)
test_packages=(clang-14 libclang-rt-14-dev nodejs npm chromium)

ensure_packages() {
  local missing=()
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  # Node may come from elsewhere than apt (nvm, a tarball): an installed node and npm
  # satisfy the nodejs/npm packages.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local kept=()
    for package in "${missing[@]}"; do
      [[ $package == nodejs || $package == npm ]] || kept+=("$package")
    done
    missing=("${kept[@]}")
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "setup: installing ${missing[*]}" >&2
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_node_modules() {
  local stamp="$repo_root/node_modules/.package-lock.json"
  if [[ ! -f $stamp || $repo_root/package-lock.json -nt $stamp ]]; then
    echo "setup: npm ci" >&2
    (cd "$repo_root" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# Configures (once) and builds a CMake preset.
build_preset() {
  local preset=$1
  shift
  if [[ ! -f $repo_root/build/$preset/build.ninja ]]; then
    cmake --preset "$preset" -S "$repo_root" >/dev/null
  fi
  cmake --build --preset "$preset" "$@"
}
