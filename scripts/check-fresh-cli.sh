#!/usr/bin/env bash
# `trainlab --bogus` must exit 2 with a one-line error and no traceback: run in a fresh venv, this
# fails when a module the CLI imports is not among the declared dependencies.
set -u
bin=${1:-trainlab}
out=$("$bin" --bogus 2>&1)
rc=$?
if [ "$rc" != 2 ] || grep -q Traceback <<<"$out"; then
  echo "check-fresh-cli: '$bin --bogus' exited $rc (expected 2):"
  echo "$out"
  exit 1
fi
echo "check-fresh-cli: ok ($bin --bogus -> exit 2, no traceback)"
