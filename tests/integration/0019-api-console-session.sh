#!/usr/bin/env bash
# The web console's serving and its session: / and /ui/<file> answer the built console with a
# strict Content-Security-Policy and never frame; only plain names of regular files are served
# (no dot files, no traversal, no symlink out of the directory); login with "session":"cookie"
# sets an HttpOnly, Secure, SameSite=Strict cookie and returns a CSRF token instead of the
# bearer token; a write with the cookie but without that token (what a cross-site form sends)
# is refused; logout revokes the session, after which the cookie is refused.
. "$(dirname "$0")/api_lib.sh"
web="$TEST_TMP/web"
cp -r "$SLUICE_ROOT/${BUILD:-build}/web" "$web" || fail "the console is not built (make build)"
ln -s /etc/passwd "$web/evil.js"
echo secret >"$web/.hidden.js"
api_start --web-dir "$web"

call GET /; expect 200
assert_contains "$(header Content-Type)" "text/html" "index is html"
assert_contains "$RESP" '<script type="module" src="/ui/app.js">' "index loads the app module"
csp=$(header Content-Security-Policy)
assert_contains "$csp" "script-src 'self'" "scripts only from the origin"
assert_contains "$csp" "frame-ancestors 'none'" "never framed"
[[ "$csp" != *unsafe-inline* ]] || fail "CSP allows inline code: $csp"
assert_eq "$(header X-Frame-Options)" DENY "X-Frame-Options"
call GET /ui/app.js; expect 200
assert_contains "$(header Content-Type)" "text/javascript" "modules are javascript"
call GET /ui/vendor/uPlot.esm.js; expect 200
call GET /v1/me; expect 401
assert_eq "$(header X-Frame-Options)" DENY "the API's answers are never framed either"
for bad in /ui/evil.js /ui/.hidden.js /ui/nope.js /ui/app.exe /ui/%2e%2e%2fMakefile /ui/vendor/..%2f..%2findex.html; do
  call GET "$bad"; [ "$STATUS" = 404 ] || fail "GET $bad: expected 404, got $STATUS ($RESP)"
  [[ "$RESP" != *root:* && "$RESP" != *secret* ]] || fail "GET $bad leaked a file: $RESP"
done

signup console-corp
jar="$TEST_TMP/cookies"
call POST /v1/login '{"email":"owner@console-corp.example","password":"correct horse","session":"cookie"}' -c "$jar"
expect 200
cookie=$(header Set-Cookie)
for attr in "sluice_session=st_" HttpOnly Secure "SameSite=Strict" "Path=/"; do
  assert_contains "$cookie" "$attr" "session cookie attribute"
done
assert_eq "$(jq -r '.token // "none"' <<<"$RESP")" none "a cookie login does not return the token to script"
CSRF=$(jq -r .csrf_token <<<"$RESP")
[ ${#CSRF} -eq 64 ] || fail "csrf token: $RESP"
call POST /v1/login '{"email":"owner@console-corp.example","password":"correct horse","session":"jar"}'
expect 400 invalid_request

call GET /v1/me "" -b "$jar"; expect 200
assert_eq "$(jq -r .tenant.name <<<"$RESP")" console-corp "the cookie authenticates reads"
body='{"name":"s1","schema":{"fields":[{"name":"a","type":"BIGINT"}]}}'
call POST /v1/streams "$body" -b "$jar"; expect 403 forbidden
assert_contains "$RESP" "X-CSRF-Token" "the refusal names the missing token"
# a wrong token: the real one with its last digit changed (to 1 when it ends in 0)
wrong="${CSRF%?}0"; [ "$wrong" != "$CSRF" ] || wrong="${CSRF%?}1"
call POST /v1/streams "$body" -b "$jar" -H "X-CSRF-Token: $wrong"; expect 403 forbidden
# what a cross-site HTML form can send: the cookie, a form body, no custom header
call POST /v1/streams 'name=s1' -b "$jar" -H 'Content-Type: application/x-www-form-urlencoded' -H 'Origin: https://evil.example'
[ "$STATUS" = 403 ] || [ "$STATUS" = 415 ] || fail "a cross-site form post was not refused: $STATUS $RESP"
assert_eq "$(sql "SELECT count(*) FROM streams WHERE name = 's1'")" 0 "nothing was created without the token"
call POST /v1/streams "$body" -b "$jar" -H "X-CSRF-Token: $CSRF"; expect 201

TOKEN=$KEY call POST /v1/logout; expect 400 invalid_request
call POST /v1/logout "" -b "$jar"; expect 403 forbidden
call POST /v1/logout "" -b "$jar" -H "X-CSRF-Token: $CSRF"; expect 204
assert_contains "$(header Set-Cookie)" "Max-Age=0" "logout clears the cookie"
call GET /v1/me "" -b "$jar"; expect 401
assert_eq "$(sql "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL")" 1 "the session is revoked in the database"
