# cli_lib.sh — sourced by the CLI integration tests (0500-0599) after lib.sh: run the CLI and
# check what it did.
#
#   cli_env             S=$SLUICE_CLI, HOME=$TEST_TMP/home (created), no SLUICE_* or XDG settings
#   run CMD...          runs CMD; stdout in $out, stderr in $err, exit code in $rc (never aborts)
#   timed CMD...        like run, and how long CMD took (wall clock, milliseconds) in $ms
#   expect_exit RC MSG  fails the test unless the last run exited with RC (api_lib.sh's expect
#                       checks an HTTP status)

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
