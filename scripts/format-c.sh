#!/usr/bin/env bash
# Formats the C and C++ sources of impl-native with clang-format (.clang-format at the root);
# with --check, changes nothing and fails when a file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'impl-native/*.c' 'impl-native/*.h' 'impl-native/*.cc')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
