# cli_lib.sh — sourced by the CLI integration tests (0500-0599) after lib.sh: run the CLI and
# check what it did.
#
#   cli_env             S=$SLUICE_CLI, HOME=$TEST_TMP/home (created), no SLUICE_* or XDG settings
#   run CMD...          runs CMD; stdout in $out, stderr in $err, exit code in $rc (never aborts)
#   timed CMD...        like run, and how long CMD took (wall clock, milliseconds) in $ms
#   expect_exit RC MSG  fails the test unless the last run exited with RC (api_lib.sh's expect
#                       checks an HTTP status)
#   cli_live TENANT EMAIL
#                       (after api_lib.sh) cli_env, the real api and a controlplane on the real
#                       worker, and the CLI signed up as EMAIL of a new TENANT

run() {
  set +e
  "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  rc=$?
  set -e
  out=$(cat "$TEST_TMP/out")
  err=$(cat "$TEST_TMP/err")
}

timed() {
  local start
  start=$(date +%s%N)
  run "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
}

expect_exit() {
  [ "$rc" = "$1" ] || fail "$2: exit $rc, expected $1; stdout [$out] stderr [$err]"
}

cli_env() {
  S=$SLUICE_CLI
  export HOME=$TEST_TMP/home
  unset XDG_CONFIG_HOME SLUICE_API_URL SLUICE_API_KEY SLUICE_CA_FILE SLUICE_PROFILE SLUICE_PASSWORD
  mkdir -p "$HOME"
}

cli_live() {
  cli_env
  api_start --data-root "$TEST_TMP/data"
  controlplane_start cli --backoff-initial-ms 100 --crash-limit 2
  run "$S" signup --api-url "$API" --ca-file "$CACERT" --tenant "$1" --email "$2" --password 'pass phrase 1'
  expect_exit 0 "signup"
}
