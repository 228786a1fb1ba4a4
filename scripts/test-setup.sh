#!/usr/bin/env bash
# Optional system packages the tests use. Each is best-effort: a test that needs a missing one
# skips with a reason instead of failing.
set -u
need=()
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "test-setup: installing ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/tmp/trainlab-apt.log 2>&1 \
    || echo "test-setup: apt-get failed (see /tmp/trainlab-apt.log); dependent tests will skip"
fi
exit 0
