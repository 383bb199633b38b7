#!/usr/bin/env bash
# Builds the provider JAR, fetches the Keycloak distribution from Maven Central, installs the JAR, imports
# realm-exports/ and starts Keycloak in dev mode on http://localhost:8080 (admin/admin, embedded H2).
# Ctrl-C stops it. Options:  --fresh  start from an empty database (re-imports the demo realms)
#                            --keycloak-version X  run on another 26.7.x distribution (default: the pom's)
set -euo pipefail
cd "$(dirname "$0")"

fresh=""
kc_version="$(sed -n 's:.*<keycloak.version>\(.*\)</keycloak.version>.*:\1:p' pom.xml | head -1)"
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=1 ;;
    --keycloak-version) kc_version="$2"; shift ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

echo ">> building the provider JAR"
mvn -q -pl provider -am package -DskipTests

jar="$(ls provider/target/keycloak-agent-auth-*.jar | grep -v -e sources -e original | head -1)"
demo_dir="target/demo"
kc_home="$demo_dir/keycloak-$kc_version"
if [ ! -x "$kc_home/bin/kc.sh" ]; then
  echo ">> fetching org.keycloak:keycloak-quarkus-dist:$kc_version from Maven Central"
  mkdir -p "$demo_dir"
  mvn -q dependency:unpack -Dartifact="org.keycloak:keycloak-quarkus-dist:$kc_version:zip" -DoutputDirectory="$demo_dir"
fi

[ -n "$fresh" ] && rm -rf "$kc_home/data"
rm -f "$kc_home"/providers/keycloak-agent-auth-*.jar
cp "$jar" "$kc_home/providers/"
mkdir -p "$kc_home/data/import"
cp realm-exports/*.json "$kc_home/data/import/"

echo ">> starting Keycloak $kc_version with $(basename "$jar") on http://localhost:8080 (admin/admin)"
export KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}"
export KC_BOOTSTRAP_ADMIN_PASSWORD="${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin}"
# the demo connector demo-calendar calls realm upstream-saas on this same server: allow localhost for connectors
exec "$kc_home/bin/kc.sh" start-dev --http-port=8080 --import-realm --spi-agent-auth-vault--default--allowed-hosts=localhost
