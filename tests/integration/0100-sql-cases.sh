#!/usr/bin/env bash
# SQL cases as data (tests/sql/*.test) through the sqltest driver: once optimised, once built
# with ASan + UBSan (leaks included) against the sanitizer build of the library.
. "$(dirname "$0")/lib.sh"
build="$SLUICE_ROOT/${BUILD:-build}"
cases=("$SLUICE_ROOT"/tests/sql/*.test)

"$TOOLS/sqltest" "${cases[@]}" || fail "SQL cases failed (optimised build)"

san="$TEST_TMP/sqltest-san"
cc -D_GNU_SOURCE -I"$SLUICE_ROOT" -std=c11 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  "$SLUICE_ROOT/tests/tools/sqltest.c" "$build/san/libsluiced.a" -o "$san" \
  -lpq -lmicrohttpd -ljansson -lssl -lcrypto -lrdkafka -lcurl -lseccomp -lyaml -lpcre2-8 -llua5.4 -lpthread -lm \
  || fail "could not build sqltest with sanitizers"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$san" "${cases[@]}" > "$TEST_TMP/san.out" \
  || { cat "$TEST_TMP/san.out"; fail "SQL cases failed under ASan/UBSan"; }
tail -n 1 "$TEST_TMP/san.out"
