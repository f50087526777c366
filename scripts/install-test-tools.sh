#!/usr/bin/env bash
# Install the Debian programs the tests start or drive; idempotent.
#   prometheus, prometheus-pushgateway: the monitoring test runs its own instances on free 127.0.0.1 ports
#   chromium: the dashboard test opens the ZenML dashboard in it, headless (driven by PyPI's playwright)
#   postgresql, mariadb-server, redis-server: `servers up` runs its own instances (SQL and stream
#     sources, MLflow's backend store); the packages' own services are kept from starting
#   openjdk-17-jre-headless: Spark (the batch inference test's `spark` engine) runs in a JVM
set -euo pipefail
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
# Keep the packages' init scripts from starting daemons on 0.0.0.0 while installing (Debian's
# policy-rc.d convention); a policy already in place is left as it is.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
