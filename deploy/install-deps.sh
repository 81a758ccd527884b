#!/usr/bin/env bash
# Installs what throttlewatch needs from Debian's archive (Debian 12 or later).
#   deploy/install-deps.sh          build dependencies: compiler, CMake, libraries
#   deploy/install-deps.sh --test   also what the tests and the network lab use
#   deploy/install-deps.sh --bench  also the tools bench/compare.py times against
# Runs non-interactively; needs root (uses sudo when not root). Idempotent: packages already
# installed are not fetched again, and the package lists are refreshed only when needed.
set -euo pipefail

build=(build-essential cmake pkg-config libpcap-dev libboost-dev libeigen3-dev
       prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libssl-dev libgtest-dev libgmock-dev
       libbenchmark-dev
       help2man)  # the man page, made from --help at build time (cmake/Package.cmake)
test=(python3 iproute2 iperf3 tcpdump ethtool iputils-ping xz-utils procps chromium
      prometheus prometheus-alertmanager tcpreplay python3-yaml systemd
      podman runc libcap2-bin  # deploy_container_run (runc: where crun cannot run)
      clang libclang-rt-dev  # clang + its runtimes: the libFuzzer targets (fuzz preset)
      clang-format  # .ci/run fails on code the repository's .clang-format would change
      ngtcp2-client ngtcp2-server openssl  # the lab's QUIC scenarios (example programs, a cert)
      iptables  # the lab's blocking scenarios (string match, REJECT with a reset)
      lintian man-db zsh logrotate  # deploy_package: lint, the man page, completions, logrotate
      python3-jsonschema  # every event and flow line the tests write is checked against schema/
      python3-matplotlib  # docs/dashboard.png: the Grafana panels drawn from a replay's metrics
      tshark)  # decode_captures_test counts the odd captures' flows with it
bench=(python3 time tcpdump tshark tcptrace nfdump linux-perf)

want=("${build[@]}")
case "${1:-}" in
  --test) want+=("${test[@]}") ;;
  --bench) want+=("${bench[@]}") ;;
  "") ;;
  *) echo "usage: $0 [--test|--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture: no (the default), without asking.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
  "${sudo[@]}" debconf-set-selections
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
