#!/usr/bin/env bash
# System packages the tests use (Debian chromium for the browser tests, the Fashion-MNIST package).
# Locally this is best-effort: a test that needs a missing one skips with a reason. Under CI=true
# nothing may be missing (tests/conftest.py turns skips into failures), so a failed install fails here.
set -u
need=()
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "test-setup: installing ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/tmp/trainlab-apt.log 2>&1 \
    || { echo "test-setup: apt-get failed (see /tmp/trainlab-apt.log)"; cat /tmp/trainlab-apt.log;
         case "${CI:-}" in true|1|yes) exit 1;; esac; echo "test-setup: dependent tests will skip"; }
fi
exit 0
