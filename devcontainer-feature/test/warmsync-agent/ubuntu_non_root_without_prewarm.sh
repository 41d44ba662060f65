#!/bin/bash

# Scenario 'ubuntu_non_root_without_prewarm': the devcontainers Ubuntu base as the non-root user
# 'vscode', a fixed folder to sync, and no pre-warming.

set -e

# shellcheck source=/dev/null
source dev-container-features-test-lib

"$(dirname "$0")/test.sh"

check "runs as the remote user" test "$(id -un)" = vscode
check "the supervisor runs as the remote user" test "$(stat -c %U /var/lib/warmsync/vscode/supervisor.pid)" = vscode
check "the folder option is persisted" grep -q "^SYNC_FOLDER='/home/vscode/project'" /etc/warmsync/feature.conf
check "the agent runs without pre-warming" bash -c "grep -q -- '--no-prewarm' /var/log/warmsync/agent.log"

reportResults
