#!/bin/bash

# Scenario 'alpine': the devcontainers Alpine base (musl), where Bun comes from a -musl package.

set -e

# shellcheck source=/dev/null
source dev-container-features-test-lib

"$(dirname "$0")/test.sh"

check "Bun is the musl build" bash -c "ldd /usr/local/share/warmsync/bun/bin/bun | grep -q musl"

reportResults
