#!/usr/bin/env bash
# `make install` puts libsluice (shared and static), its header and a pkg-config file in place,
# and a program builds and links against it through pkg-config, both ways (static libsluice
# with the system's shared libcurl and jansson: no static libcurl is installed here).
. "$(dirname "$0")/lib.sh"

inst=$TEST_TMP/inst
make -s -C "$SLUICE_ROOT" install DESTDIR="$inst" PREFIX=/usr >"$TEST_TMP/install.log" 2>&1 ||
  fail "make install: $(tail -n 20 "$TEST_TMP/install.log")"
for f in usr/lib/libsluice.so usr/lib/libsluice.a usr/include/sluice.h usr/lib/pkgconfig/libsluice.pc usr/bin/sluice; do
  [ -f "$inst/$f" ] || fail "make install did not install $f"
done

export PKG_CONFIG_PATH=$inst/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$inst
assert_eq "$(pkg-config --modversion libsluice)" 0.1.0 "pkg-config version"

cat >"$TEST_TMP/prog.c" <<'C'
/* A user of libsluice: builds a client and gets a clear transport error from a closed port. */
#include <sluice.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct sluice_options o = {.base_url = argv[1], .max_retries = -1, .timeout_ms = 5000};
    struct sluice_error err;
    sluice_client *c = sluice_client_new(&o, &err);
    if (!c)
        return 10;
    enum sluice_kind k;
    if (sluice_kind_parse("pipelines", &k) != 0 || k != SLUICE_KIND_PIPELINE)
        return 11;
    json_t *out = NULL;
    int rc = sluice_get(c, SLUICE_KIND_STREAM, "x", &out, &err);
    printf("%s %d %s %s\n", sluice_version(), rc, sluice_code_name(err.code),
           err.retriable ? "retriable" : "final");
    sluice_client_free(c);
    return 0;
}
C
dead=$(free_port)
cc -std=c11 -Wall -Werror -o "$TEST_TMP/prog-shared" "$TEST_TMP/prog.c" \
  $(pkg-config --cflags --libs libsluice) || fail "compile against the shared library"
out=$(LD_LIBRARY_PATH=$inst/usr/lib "$TEST_TMP/prog-shared" "http://127.0.0.1:$dead")
assert_eq "$out" "0.1.0 -1 transport retriable" "program linked to libsluice.so"
# (ldd output captured first: `ldd | grep -q` fails under pipefail when grep exits early)
grep -q "$inst/usr/lib/libsluice.so" <<<"$(ldd "$TEST_TMP/prog-shared")" ||
  grep -q "libsluice.so => $inst" <<<"$(LD_LIBRARY_PATH=$inst/usr/lib ldd "$TEST_TMP/prog-shared")" ||
  fail "prog-shared does not use the installed libsluice.so"

cc -std=c11 -Wall -Werror -o "$TEST_TMP/prog-static" "$TEST_TMP/prog.c" \
  $(pkg-config --cflags libsluice) "$inst/usr/lib/libsluice.a" \
  $(pkg-config --libs jansson libcurl) -lpthread || fail "link against the static library"
grep -q libsluice <<<"$(ldd "$TEST_TMP/prog-static")" && fail "prog-static should not need libsluice.so"
out=$("$TEST_TMP/prog-static" "http://127.0.0.1:$dead")
assert_eq "$out" "0.1.0 -1 transport retriable" "program linked to libsluice.a"
echo ok
