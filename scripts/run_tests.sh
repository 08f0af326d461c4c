#!/usr/bin/env bash
# Run the test suite one process per framework (TensorFlow, PyTorch and JAX each pay their import once,
# and none of them sees the others' global state). A group that collects no tests fails the run:
# pytest's exit code 5 is treated as a failure, not a pass.
set -uo pipefail
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."

groups=(
  "common+conversion:tests/common tests/conversion"
  "pytorch:tests/pt"
  "tensorflow:tests/tf"
  "flax:tests/flax"
  "equivalence:tests/equivalence"
  "pipelines+cli:tests/pipelines"
  "export:tests/export"
  "docs:tests/docs"
  "train:tests/train"
)
failed=()
for entry in "${groups[@]}"; do
  name=${entry%%:*}
  paths=()
  for p in ${entry#*:}; do
    if [ ! -d "$p" ]; then
      echo "== $name: missing test directory $p"
      failed+=("$name(missing $p)")
      continue 2
    fi
    paths+=("$p")
  done
  echo "== $name: ${paths[*]}"
  start=$(date +%s)
  "$PYTHON" -m pytest -q "${paths[@]}" "$@"
  rc=$?
  echo "== $name: exit $rc in $(( $(date +%s) - start ))s"
  if [ $rc -eq 5 ]; then
    echo "== $name: pytest collected no tests; that is a failure"
    failed+=("$name(no tests)")
  elif [ $rc -ne 0 ]; then
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED groups: ${failed[*]}"
  exit 1
fi
echo "all test groups passed"
