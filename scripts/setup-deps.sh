#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks need.
# Idempotent: packages already present are skipped, and nothing runs apt when all are there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  librocksdb-dev libboost1.81-dev libboost-json1.81-dev
  libfmt-dev catch2 libbenchmark-dev libssl-dev zlib1g-dev libyaml-cpp-dev libzstd-dev
  libisal-dev
  libcurl4-openssl-dev
  libarchive-dev
  libtomlplusplus-dev
  libssh-dev openssh-server
  postgresql-15 libpq-dev
  ceph-mon ceph-osd radosgw ceph-common curl
  python3-dev pybind11-dev python3-pytest python3-numpy python3-requests python3-pandas
  python3-yaml
  python3-torch
  chromium nodejs
  wrk hyperfine
)
# npm: Debian's package, unless the installed nodejs already ships it (NodeSource's does, and
# conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all packages present"
else
  echo "setup-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The web UI's npm packages (uPlot) and the browser tests' (playwright-core), from their lockfiles.
"$(dirname "${BASH_SOURCE[0]}")/setup-web.sh"
