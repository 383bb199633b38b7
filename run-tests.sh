#!/usr/bin/env bash
# The test command. Installs what a fresh machine lacks, then runs mvn verify: unit tests, then the integration tests
# against real Keycloak distributions (from Maven Central) with the provider JAR installed; the database runs start
# their own PostgreSQL and MariaDB servers from Maven artifacts, so no database server needs to be installed or running.
#   ./run-tests.sh              the full suite (every run: H2, 26.7.5, resource-indicators, cimd, key rotation, PostgreSQL,
#                               MariaDB, two-node cluster, proxy memory), in two lanes side by side: the main H2 runs on
#                               port 8080, the database runs and the two runs on a server configured for one test on
#                               port 8090 (and 8091), with their log in integration-tests/target-databases/
#   ./run-tests.sh --serial     the same runs one after the other: plain mvn verify
#   ./run-tests.sh --quick      the everyday tier: unit tests and the main integration run on H2
#   ./run-tests.sh ARGS...      ARGS go to Maven, e.g. -Dit.test=DelegationExchangeIT -Dkeycloak.port=18080
# Installs with apt-get (as root or through sudo): Debian's Chromium for the browser tests, and a JDK, Maven,
# Node.js or Python (3.10+, with venv) where missing; AGENTAUTH_PYTHON=/path/to/python3 picks another
# Python, AGENTAUTH_CHROMIUM=/path/to/chromium another Chromium build.
set -euo pipefail
cd "$(dirname "$0")"

quick=""
serial=""
maven_args=()
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --serial) serial=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
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

# The Python SDK's suite runs in a virtual environment the build creates (packages from PyPI): Python 3.10+ with venv.
python_bin="${AGENTAUTH_PYTHON:-python3}"
if ! command -v "$python_bin" >/dev/null 2>&1 || ! "$python_bin" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3 python3-venv
fi
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "run-tests.sh: Python 3.10 or newer is needed for the Python SDK's tests (found $("$python_bin" --version 2>&1))" >&2
  exit 1
fi

# Browser tests drive a headless Chromium with Playwright for Java (a Maven dependency that never downloads a browser).
chromium="${AGENTAUTH_CHROMIUM:-}"
if [ -z "$chromium" ]; then
  if [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
  chromium=/usr/bin/chromium
fi

echo ">> $(java -version 2>&1 | sed -n 1p); $(mvn -v 2>&1 | sed -n 1p | sed 's/\x1b\[[0-9;]*m//g'); node $(node --version); $("$python_bin" --version 2>&1); $("$chromium" --version 2>/dev/null || echo "chromium at $chromium")"

common=(-B -Dagentauth.chromium="$chromium" -Dagentauth.python="$(command -v "$python_bin")")
if [ -n "$quick" ]; then
  exec mvn "${common[@]}" verify -Pquick "${maven_args[@]}"
fi
if [ -n "$serial" ]; then
  exec mvn "${common[@]}" verify "${maven_args[@]}"
fi

# The full suite in two lanes. Each run boots its own Keycloak and mostly waits on it, so two runs side by side use the
# second core. First the provider JAR with its unit tests, installed into the local Maven repository, where the lanes'
# integration-tests builds find it.
mvn "${common[@]}" install -DskipITs "${maven_args[@]}"
lane_b_dir="$PWD/integration-tests/target-databases"
mkdir -p "$lane_b_dir"
lane_b_log="$lane_b_dir/lane.log"
echo ">> database lane (PostgreSQL, MariaDB, two-node cluster, key rotation, proxy memory) on port ${AGENTAUTH_DB_LANE_PORT:-8090}: log $lane_b_log"
mvn "${common[@]}" -pl integration-tests verify -Dagentauth.skipMainRun=true -Dagentauth.skipExtraRuns=true \
  -Dagentauth.skipOwnServerRuns=false \
  "${maven_args[@]}" -Dagentauth.buildDirectory="$lane_b_dir" -Dkeycloak.port="${AGENTAUTH_DB_LANE_PORT:-8090}" \
  > "$lane_b_log" 2>&1 &
lane_b=$!
# stopped (Ctrl-C, a CI timeout): stop both lanes, their test JVMs and the servers and databases they started
stop_tree() { local c; for c in $(pgrep -P "$1"); do stop_tree "$c"; done; kill "$1" 2>/dev/null || true; }
trap 'trap - INT TERM; stop_tree $$; exit 130' INT TERM
echo ">> H2 lane (main run, 26.7.5, resource-indicators and cimd features)"
# in the background too, so that a signal reaches the trap at once (bash runs traps only between foreground commands)
mvn "${common[@]}" -pl integration-tests verify -Dagentauth.skipDbTests=true -Dagentauth.skipOwnServerRuns=true \
  "${maven_args[@]}" &
lane_a=$!
lane_a_status=0
wait $lane_a || lane_a_status=$?
lane_b_status=0
wait $lane_b || lane_b_status=$?
echo ">> database lane's output ($lane_b_log):"
cat "$lane_b_log"
echo ">> H2 lane: exit $lane_a_status; database lane: exit $lane_b_status"
[ "$lane_a_status" = 0 ] && [ "$lane_b_status" = 0 ]
