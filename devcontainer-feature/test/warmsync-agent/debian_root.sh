#!/bin/bash

# Scenario 'debian_root': Debian slim, running as root, with a fixed workspace name.

set -e

# shellcheck source=/dev/null
source dev-container-features-test-lib

"$(dirname "$0")/test.sh"

check "the workspace name is persisted" grep -q "^WORKSPACE_NAME='demo'" /etc/warmsync/feature.conf
check "prewarm is on by default" grep -q "^PREWARM_ENABLED='true'" /etc/warmsync/feature.conf
check "the agent is started with the workspace name" bash -c "grep -q -- '--workspace demo' /var/log/warmsync/agent.log"

reportResults
