#!/usr/bin/env bash
# The web console end to end in headless Chromium (Debian's chromium, driven by playwright-core
# from web/node_modules): the api serving the built console, the controlplane running real
# workers. The steps and what each asserts are in web/test/console.mjs; screenshots of
# every page at 1280 px and 390 px land in build/screenshots/.
. "$(dirname "$0")/api_lib.sh"
command -v "${CHROMIUM:-chromium}" >/dev/null || fail "chromium is not installed (make deps installs it)"
[ -d "$SLUICE_ROOT/web/node_modules/playwright-core" ] || fail "web/node_modules is missing (make deps runs npm ci)"
api_start --data-root "$TEST_TMP/data" --web-dir "$SLUICE_ROOT/${BUILD:-build}/web"
controlplane_start console
node "$SLUICE_ROOT/web/test/console.mjs" "$API" \
  "$SLUICE_ROOT/${BUILD:-build}/screenshots" || { tail -20 "$TEST_TMP/cp.log"; fail "the browser test failed"; }
# the console's JavaScript, gzip-compressed, stays under 300 KiB
js=$(cat "$SLUICE_ROOT/${BUILD:-build}"/web/*.js "$SLUICE_ROOT/${BUILD:-build}"/web/vendor/*.js | gzip -9 | wc -c)
echo "console JavaScript: $js bytes gzip-compressed"
[ "$js" -lt $((300 * 1024)) ] || fail "the console's JavaScript weighs $js bytes compressed (limit 300 KiB)"
