#!/usr/bin/env bash
# Install Debian's Prometheus and Pushgateway, which the monitoring test starts on 127.0.0.1; idempotent.
# The packages' own services are not used: the test runs its own instances on free ports.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v prometheus-pushgateway >/dev/null 2>&1; then exit 0; fi
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
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-pushgateway >/dev/null
