#!/bin/sh
# Formats hessgen's C sources by its .clang-format (Debian's clang-format); with --check it
# changes nothing and fails, naming the lines, where a file is not formatted (ctest `format`).
set -e
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format is not installed (apt-get install clang-format)" >&2; exit 1; }
# runtime/hessgen_model.h is left as it is: every generated file carries it verbatim (the goldens)
files=$(ls src/*.c src/*.h src/exact/*.c src/exact/*.h runtime/*.c runtime/*.h runtime/mpi/*.c runtime/mpi/*.h grammar/*.c grammar/*.h tests/unit/*.c tests/e2e/*.c \
        tests/scale/*.c tests/scale/*.h fuzz/*.c fuzz/*.h | grep -v '^runtime/hessgen_model.h$')
if [ "${1:-}" = --check ]; then
    clang-format --dry-run --Werror $files
else
    clang-format -i $files
fi
