#!/usr/bin/env bash
# The test command. Installs what a fresh machine lacks, then runs mvn verify: unit tests, then the integration tests
# against real Keycloak distributions (from Maven Central) with the provider JAR installed; the database runs start
# their own PostgreSQL and MariaDB servers from Maven artifacts, so no database server needs to be installed or running.
#   ./run-tests.sh              the full suite (every run: H2, 26.7.5, resource-indicators, key rotation, PostgreSQL,
#                               MariaDB, two-node cluster)
#   ./run-tests.sh --quick      the everyday tier: unit tests and the main integration run on H2
#   ./run-tests.sh ARGS...      ARGS go to Maven, e.g. -Dit.test=DelegationExchangeIT -Dkeycloak.port=18080
# Installs with apt-get (as root or through sudo): Debian's Chromium for the browser tests, and a JDK, Maven or
# Node.js where missing. Set AGENTAUTH_CHROMIUM=/path/to/chromium to use another Chromium build.
set -euo pipefail
cd "$(dirname "$0")"

quick=""
maven_args=()
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) maven_args+=("$a") ;;
  esac
done

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" != "0" ] && [ -z "$SUDO" ]; }; then
    echo "run-tests.sh: $1 is missing and cannot be installed here (no apt-get, or neither root nor sudo): install it and rerun" >&2
    exit 1
  fi
  echo ">> installing $* (apt-get)"
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# JDK 17+ and Maven build the JAR and run the tests.
if ! command -v javac >/dev/null 2>&1; then apt_install openjdk-17-jdk-headless; fi
if ! command -v mvn >/dev/null 2>&1; then apt_install maven; fi
java_major="$(javac -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p')"
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "run-tests.sh: JDK 17 or newer is needed (javac -version says: $(javac -version 2>&1))" >&2
  exit 1
fi

# The MCP end-to-end test runs the example server and the official MCP SDK: Node.js 20+ with npm.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then apt_install nodejs npm; fi
node_major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
if [ "$node_major" -lt 20 ]; then
  echo "run-tests.sh: Node.js 20 or newer is needed for the MCP tests (found $(node --version)): see https://nodejs.org" >&2
  exit 1
fi

# Browser tests drive a headless Chromium with Playwright for Java (a Maven dependency that never downloads a browser).
chromium="${AGENTAUTH_CHROMIUM:-}"
if [ -z "$chromium" ]; then
  if [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
  chromium=/usr/bin/chromium
fi

echo ">> $(java -version 2>&1 | sed -n 1p); $(mvn -v 2>&1 | sed -n 1p | sed 's/\x1b\[[0-9;]*m//g'); node $(node --version); $("$chromium" --version 2>/dev/null || echo "chromium at $chromium")"

profile=()
if [ -n "$quick" ]; then profile=(-Pquick); fi
exec mvn -B verify "${profile[@]}" -Dagentauth.chromium="$chromium" "${maven_args[@]}"
