#!/usr/bin/env bash
# The sluice CLI as a user drives it, against a live `sluiced api` over TLS with a real
# PostgreSQL: signup, login, profiles (--profile, SLUICE_PROFILE, SLUICE_API_URL), apply
# (created, unchanged, updated, --dry-run, --prune, dependency order, missing references), get in
# every format, create, activate, delete, the error paths with their exit codes, completion and
# --help on every command.
source "$(dirname "$0")/api_lib.sh" # api_start: migrate and start the real api over HTTPS
source "$(dirname "$0")/cli_lib.sh"  # run, expect_exit

cli_env

# ---- a live api ------------------------------------------------------------------------------
api_start --threads 2
url=$API
ca=$CACERT

# ---- signup, profile, login ------------------------------------------------------------------
run "$S" signup --api-url "$url" --ca-file "$ca" --tenant acme --email ops@acme.io --password 'pass phrase 1'
expect_exit 0 "signup"
assert_contains "$out" 'tenant "acme" created' "signup output"
cfg=$HOME/.config/sluice/config
[ -f "$cfg" ] || fail "no profile written at $cfg"
assert_eq "$(stat -c %a "$cfg")" 600 "profile file mode"
grep -q "^api_key = sk_" "$cfg" || fail "profile lacks the API key: $(cat "$cfg")"

run "$S" whoami -o json
expect_exit 0 "whoami with the saved API key"
assert_eq "$(jq -r .tenant.name <<<"$out")" acme "whoami tenant"

run "$S" signup --api-url "$url" --ca-file "$ca" --tenant acme --email other@acme.io --password x12345678
expect_exit 1 "signup with a taken tenant name"

echo 'pass phrase 1' >"$TEST_TMP/pw"
run "$S" login --email ops@acme.io --password-stdin <"$TEST_TMP/pw"
expect_exit 0 "login"
assert_contains "$out" "logged in as ops@acme.io" "login output"
grep -q "^api_key = sk_" "$cfg" && fail "login should have replaced the API key with a token"
run "$S" whoami
expect_exit 0 "whoami with the login token"
assert_contains "$out" "email: ops@acme.io" "whoami yaml"

run "$S" login --email ops@acme.io --password wrong-password
expect_exit 1 "login with a wrong password"
assert_contains "$err" "wrong email or password" "login failure message"

# ---- apply: created, unchanged, updated ------------------------------------------------------
spec=$TEST_TMP/resources.yaml
cp "$SLUICE_ROOT/examples/resources.yaml" "$spec"
run "$S" apply -f "$spec"
expect_exit 0 "first apply"
assert_eq "$(grep -c ' created$' <<<"$out")" 6 "first apply creates everything: $out"
assert_contains "$out" "stream/bids created" "stream created"
assert_contains "$out" "connection/nexmark-source created" "connection created"
assert_contains "$out" "pipeline/bids-usd created" "pipeline created"

run "$S" apply -f "$spec"
expect_exit 0 "second apply"
assert_eq "$(grep -c ' unchanged$' <<<"$out")" 6 "second apply changes nothing: $out"

sed -i 's/0.908 \* price/0.91 * price/' "$spec"
run "$S" apply -f "$spec" --dry-run
expect_exit 0 "dry run"
assert_contains "$out" "pipeline/bids-usd updated (dry run)" "dry run reports the update"
run "$S" get pipeline bids-usd -o json
assert_contains "$(jq -r .sql <<<"$out")" "0.908 * price" "dry run changed nothing"

run "$S" apply -f "$spec"
expect_exit 0 "apply with changed SQL"
assert_contains "$out" "pipeline/bids-usd updated" "changed SQL updates the pipeline"
assert_eq "$(grep -c ' unchanged$' <<<"$out")" 5 "only the pipeline changed: $out"
run "$S" get pipeline bids-usd -o json
assert_contains "$(jq -r .sql <<<"$out")" "0.91 * price" "SQL updated on the server"
assert_eq "$(jq -r .version <<<"$out")" 2 "pipeline version bumped"

# JSON works as an apply file too, from stdin
printf '{"kind":"stream","metadata":{"name":"extra"},"spec":{"schema":{"fields":[{"name":"x","type":"BIGINT"}]}}}\n' >"$TEST_TMP/extra.json"
run "$S" apply -f - <"$TEST_TMP/extra.json"
expect_exit 0 "apply JSON from stdin"
assert_contains "$out" "stream/extra created" "JSON apply"

# ---- prune -----------------------------------------------------------------------------------
awk 'BEGIN { RS = "---\n"; ORS = "---\n" } !/name: bids-webhook/' "$spec" >"$spec.tmp"
mv "$spec.tmp" "$spec"
grep -q bids-webhook "$spec" && fail "test setup: bids-webhook still in the file"
run "$S" apply -f "$spec" --prune --dry-run
expect_exit 0 "prune dry run"
assert_contains "$out" "connection/bids-webhook pruned (dry run)" "prune dry run names the connection"
assert_contains "$out" "stream/extra pruned (dry run)" "prune dry run names the stream"
run "$S" get connections -o name
assert_contains "$out" "connection/bids-webhook" "prune dry run deleted nothing"

run "$S" apply -f "$spec" --prune
expect_exit 0 "prune"
assert_contains "$out" "connection/bids-webhook pruned" "prune output"
run "$S" get connections -o name
assert_eq "$out" "connection/nexmark-source" "the pruned connection is gone"
run "$S" get streams -o name
assert_eq "$out" "$(printf 'stream/bids\nstream/bids_usd')" "the pruned stream is gone"

# ---- get in each format ----------------------------------------------------------------------
run "$S" get streams
expect_exit 0 "get table"
assert_contains "$(head -n 1 <<<"$out")" "NAME" "table header"
grep -Eq '^bids +4 +7 +1 ' <<<"$out" || fail "table row for bids: [$out]"
run "$S" get streams -o json
assert_eq "$(jq -r '.[].name' <<<"$out" | sort | tr '\n' ' ')" "bids bids_usd " "json list"
run "$S" get connection nexmark-source -o yaml
assert_contains "$out" "connector: datagen" "yaml resource"
assert_contains "$out" "rate: '1000'" "yaml keeps strings that look like numbers quoted"
run "$S" describe stream bids
assert_contains "$out" "delay_ms: 4000" "describe"
run "$S" describe pipeline bids-usd
expect_exit 0 "describe a pipeline never activated"
assert_contains "$out" $'\nEvents:\n  none' "describe says there are no events yet"
run "$S" get secrets -o json
assert_eq "$(jq -r '.[0].name' <<<"$out")" webhook-token "secret listed"
jq -e '.[0] | has("value") | not' <<<"$out" >/dev/null || fail "a secret's value must never be returned"

# ---- profiles --------------------------------------------------------------------------------
# A second account in the profile "staging" (tenant beta), chosen by --profile or SLUICE_PROFILE;
# the default profile (tenant acme) is left as it was.
section() { awk -v want="[$1]" '/^\[/ { on = ($0 == want) } on' "$cfg"; }
default_before=$(section default)
[ -n "$default_before" ] || fail "no [default] section: $(cat "$cfg")"
run "$S" signup --profile staging --api-url "$url" --ca-file "$ca" --tenant beta --email ops@beta.io --password 'beta pass 1'
expect_exit 0 "signup into the profile staging"
assert_contains "$out" 'credentials saved in profile "staging"' "signup names the profile"
run "$S" login --profile staging --email ops@beta.io --password-stdin <<<'beta pass 1'
expect_exit 0 "login into the profile staging"
assert_contains "$out" 'credentials saved in profile "staging"' "login names the profile"
assert_eq "$(grep -cx '\[staging\]' "$cfg")" 1 "one [staging] section in $cfg"
assert_eq "$(grep -cx '\[default\]' "$cfg")" 1 "one [default] section in $cfg"
assert_eq "$(section staging | grep -c "^api_url = $url\$")" 1 "staging keeps its URL"
assert_eq "$(section default)" "$default_before" "the default profile is unchanged"
assert_eq "$(stat -c %a "$cfg")" 600 "profile file mode after a second profile"

run "$S" whoami -o json --profile staging
expect_exit 0 "whoami --profile staging"
assert_eq "$(jq -r .tenant.name <<<"$out")" beta "--profile staging is the beta tenant"
SLUICE_PROFILE=staging run "$S" whoami -o json
expect_exit 0 "whoami with SLUICE_PROFILE=staging"
assert_eq "$(jq -r .tenant.name <<<"$out")" beta "SLUICE_PROFILE picks the profile"
SLUICE_PROFILE=staging run "$S" whoami -o json --profile default
expect_exit 0 "whoami --profile default over SLUICE_PROFILE"
assert_eq "$(jq -r .tenant.name <<<"$out")" acme "--profile beats SLUICE_PROFILE"
run "$S" get streams -o name --profile staging
expect_exit 0 "get --profile staging"
assert_eq "$out" "" "the beta tenant has no streams"
run "$S" get streams -o name
expect_exit 0 "get with the default profile"
assert_eq "$out" "$(printf 'stream/bids\nstream/bids_usd')" "the default profile still reaches acme"

# ---- apply: dependency order, missing references, dry run of a create -------------------------
# documents in reverse dependency order: apply creates streams, then connections, then pipelines
cat >"$TEST_TMP/reverse.yaml" <<'YAML'
kind: pipeline
metadata: {name: rev-copy}
spec:
  sql: INSERT INTO rev_out SELECT id FROM rev_in
---
kind: connection
metadata: {name: rev-feed}
spec: {connector: http, type: source, stream: rev_in}
---
kind: stream
metadata: {name: rev_out}
spec:
  schema: {fields: [{name: id, type: BIGINT}]}
---
kind: stream
metadata: {name: rev_in}
spec:
  schema: {fields: [{name: id, type: BIGINT}]}
YAML
run "$S" apply -f "$TEST_TMP/reverse.yaml"
expect_exit 0 "apply a file in reverse dependency order"
assert_eq "$out" "$(printf '%s\n' 'stream/rev_out created' 'stream/rev_in created' 'connection/rev-feed created' \
  'pipeline/rev-copy created')" "everything created, dependencies first"
run "$S" get connection rev-feed -o json
expect_exit 0 "the connection exists"
assert_eq "$(jq -r .type <<<"$out")" source "the connection as applied"
run "$S" apply -f "$TEST_TMP/reverse.yaml"
expect_exit 0 "apply the reverse file again"
assert_eq "$(grep -c ' unchanged$' <<<"$out")" 4 "the second apply changes nothing: $out"

printf 'kind: connection\nmetadata: {name: ghost-feed}\nspec: {connector: http, type: source, stream: no_such_stream}\n' \
  >"$TEST_TMP/ghost.yaml"
run "$S" apply -f "$TEST_TMP/ghost.yaml"
expect_exit 2 "a connection naming a missing stream (found before anything is sent)"
assert_contains "$err" 'ghost.yaml:1: connection/ghost-feed: "stream" names stream "no_such_stream", which is neither on the server nor in the file (document 1)' "the message names the line, the resource and the stream"
run "$S" get connection ghost-feed
expect_exit 3 "the connection with a missing stream was not created"

printf 'kind: stream\nmetadata: {name: dry_only}\nspec:\n  schema: {fields: [{name: id, type: BIGINT}]}\n' >"$TEST_TMP/dry.yaml"
run "$S" apply -f "$TEST_TMP/dry.yaml" --dry-run
expect_exit 0 "dry run of a create"
assert_eq "$out" "stream/dry_only created (dry run)" "a dry-run create says what it would do"
run "$S" get stream dry_only
expect_exit 3 "a dry-run create creates nothing"
assert_contains "$err" 'stream "dry_only" not found' "the dry-run stream is not found"
run "$S" create stream --name dry_only -f "$TEST_TMP/dry.yaml" --dry-run
expect_exit 2 "create has no --dry-run (apply --dry-run is the dry run)"
assert_contains "$err" "create does not take --dry-run" "create --dry-run message"
run "$S" get stream dry_only
expect_exit 3 "a refused create --dry-run creates nothing"

# ---- a function from a file (kind function), listed with its type ------------------------------
cat >"$TEST_TMP/fn.yaml" <<'EOF'
kind: function
metadata: {name: count_char}
spec:
  returns: BIGINT
  source: |
    return function(s, c) local n = 0 for i = 1, #s do if s:sub(i, i) == c then n = n + 1 end end return n end
EOF
run "$S" apply -f "$TEST_TMP/fn.yaml"
expect_exit 0 "apply a function"
assert_eq "$out" "function/count_char created" "the function is created"
run "$S" apply -f "$TEST_TMP/fn.yaml"
assert_eq "$out" "function/count_char unchanged" "a second apply changes nothing"
run "$S" get functions
expect_exit 0 "get functions"
assert_contains "$out" "count_char" "get functions lists it"
assert_contains "$out" "BIGINT" "with its type"
sed 's/count_char/broken/; s/local n = 0/local n = = 0/' "$TEST_TMP/fn.yaml" >"$TEST_TMP/bad-fn.yaml"
run "$S" apply -f "$TEST_TMP/bad-fn.yaml"
expect_exit 1 "a function whose Lua does not load"
assert_contains "$err" "unexpected symbol" "the server's Lua error"
run "$S" delete function broken
expect_exit 3 "nothing of the refused function was created"
run "$S" delete function count_char
expect_exit 0 "delete a function"

# ---- create, activate, delete ----------------------------------------------------------------
printf 'INSERT INTO bids_usd SELECT auction, bidder, price, dateTime FROM bids\n' >"$TEST_TMP/p.sql"
run "$S" create pipeline --name copy --sql-file "$TEST_TMP/p.sql"
expect_exit 0 "create pipeline"
assert_contains "$out" "pipeline/copy created" "create output"
run "$S" create pipeline --name copy --sql-file "$TEST_TMP/p.sql"
expect_exit 1 "create a duplicate"
assert_contains "$err" "conflict" "duplicate create says conflict"
printf '   \n' >"$TEST_TMP/empty.sql"
run "$S" create pipeline --name broken --sql-file "$TEST_TMP/empty.sql"
expect_exit 1 "invalid SQL"
assert_contains "$err" "line 1, column 1" "invalid SQL points at a line and column"

printf 'partitions: 2\nschema:\n  fields:\n    - {name: id, type: BIGINT}\n' >"$TEST_TMP/stream.yaml"
run "$S" create stream --name events -f "$TEST_TMP/stream.yaml" -o json
expect_exit 0 "create a stream from a spec file"
assert_eq "$(jq -r '.partitions, .schema.fields[0].name' <<<"$out" | tr '\n' ' ')" "2 id " "created stream"
run "$S" create stream --name events2
expect_exit 2 "create a stream without a spec"
run "$S" delete stream events
expect_exit 0 "delete the stream"

run "$S" activate pipeline copy
expect_exit 0 "activate"
run "$S" get pipeline copy -o json
assert_eq "$(jq -r .desired_state <<<"$out")" running "desired state after activate"
run "$S" deactivate pipeline copy
expect_exit 0 "deactivate"
run "$S" activate stream bids
expect_exit 2 "activate a stream"

run "$S" create api-key --name ci
expect_exit 0 "create api key"
key=$(sed -n 's/^key (shown once, keep it safe): //p' <<<"$out")
[ -n "$key" ] || fail "the new key is shown once: [$out]"
SLUICE_API_KEY=$key run "$S" get pipelines -o name
expect_exit 0 "the new key works (environment overrides the profile)"
assert_contains "$out" "pipeline/copy" "listing with the new key"
run "$S" delete api-key ci
expect_exit 0 "delete api key"
SLUICE_API_KEY=$key run "$S" get pipelines
expect_exit 1 "a deleted key is refused"

run "$S" delete pipeline copy
expect_exit 0 "delete"
assert_eq "$out" "pipeline/copy deleted" "delete output"
run "$S" get pipeline copy
expect_exit 3 "get a deleted pipeline"

# ---- error paths -----------------------------------------------------------------------------
run "$S" get pipelines --api-key sk_0000wrong
expect_exit 1 "wrong key"
assert_contains "$err" "unauthenticated" "wrong key names the error"
assert_contains "$err" "credentials" "wrong key message"

run "$S" get widgets
expect_exit 2 "unknown kind"
assert_contains "$err" 'unknown kind "widgets"' "unknown kind message"

run "$S" describe pipeline no-such-pipeline
expect_exit 3 "missing name"
assert_contains "$err" 'pipeline "no-such-pipeline" not found' "missing name message"
run "$S" delete stream no-such-stream
expect_exit 3 "delete a missing name"

printf 'kind: stream\nmetadata:\n  name: s\nspec:\n  schema: {fields: [\n    {name: a, type: BIGINT}\n  partitions: 2\n' >"$TEST_TMP/bad.yaml"
run "$S" apply -f "$TEST_TMP/bad.yaml"
expect_exit 2 "malformed YAML"
# line 7 (`partitions`), column 3: where a ',' or ']' of the flow sequence opened on line 5 was due
assert_contains "$err" "bad.yaml:7:3: did not find expected ',' or ']'" "malformed YAML points at the line and column"
printf 'kind: stream\nmetadata:\n  name: s\nspec: {}\n---\nkind: widget\nmetadata: {name: w}\nspec: {}\n' >"$TEST_TMP/kind.yaml"
run "$S" apply -f "$TEST_TMP/kind.yaml"
expect_exit 2 "unknown kind in a file"
assert_contains "$err" 'kind.yaml:6:7: unknown kind "widget"' "unknown kind points at its line"
printf 'kind: stream\nspec: {}\n' >"$TEST_TMP/noname.yaml"
run "$S" apply -f "$TEST_TMP/noname.yaml"
expect_exit 2 "missing metadata.name"
assert_contains "$err" "missing metadata.name" "missing metadata.name message"

run "$S" get streams --bogus-flag
expect_exit 2 "unknown option"
run "$S" frobnicate
expect_exit 2 "unknown command"
run "$S" get
expect_exit 2 "missing kind"
run "$S" get streams --profile nowhere
expect_exit 2 "a profile without a URL"
assert_contains "$err" 'no API URL in profile "nowhere": pass --api-url, set SLUICE_API_URL, or sign up or log in first' "missing URL message"

# an untrusted certificate is refused unless --insecure
run "$S" get streams --ca-file /etc/ssl/certs/ca-certificates.crt
expect_exit 1 "TLS verification against the wrong CA"
assert_contains "$err" "TLS" "TLS failure message"
run "$S" get streams -o name --ca-file /etc/ssl/certs/ca-certificates.crt --insecure
expect_exit 0 "--insecure"

# unreachable: nothing listens (refused), and a port that accepts but never answers. Neither
# may hang: the bounds are generous (a refused connection's retries take about 1.5 s; the silent
# server is given --timeout 2s), `timeout 60` turns a hang into exit 124.
dead=$(free_port)
timed timeout 60 "$S" get streams --api-url "https://127.0.0.1:$dead"
expect_exit 1 "connection refused"
assert_contains "$err" "cannot reach the API at https://127.0.0.1:$dead" "unreachable message"
[ "$ms" -lt 8000 ] || fail "a refused connection took $ms ms to report"

# where the URL comes from: SLUICE_API_URL beats the profile, --api-url beats SLUICE_API_URL
SLUICE_API_URL=https://127.0.0.1:$dead timed timeout 60 "$S" get streams
expect_exit 1 "SLUICE_API_URL overrides the profile's URL"
assert_contains "$err" "cannot reach the API at https://127.0.0.1:$dead" "SLUICE_API_URL is the URL used"
[ "$ms" -lt 8000 ] || fail "a refused connection (from SLUICE_API_URL) took $ms ms to report"
SLUICE_API_URL=https://127.0.0.1:$dead run "$S" get streams -o name --api-url "$url"
expect_exit 0 "--api-url overrides SLUICE_API_URL"
assert_contains "$out" "stream/bids" "--api-url reached the live api"

if command -v python3 >/dev/null; then
  silent=$(free_port)
  bg python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$silent)); s.listen(8); time.sleep(120)"
  wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$silent"
  timed timeout 60 "$S" get streams --api-url "https://127.0.0.1:$silent" --timeout 2s
  expect_exit 1 "a server that never answers (timeout 124 would mean a hang)"
  assert_contains "$err" "no answer from https://127.0.0.1:$silent" "timeout message"
  [ "$ms" -lt 8000 ] || fail "--timeout 2s against a silent server took $ms ms"
  [ "$ms" -ge 1500 ] || fail "--timeout 2s gave up after only $ms ms: [$err]"
else
  echo "python3 not installed: the silent-server timeout is not checked"
fi

# ---- users of the tenant -----------------------------------------------------------------------
run "$S" create user --email ada@acme.io --role admin --password 'ada pass 1'
expect_exit 0 "create user"
assert_contains "$out" "user/ada@acme.io created" "create user output"
run "$S" get users -o name
expect_exit 0 "get users -o name"
assert_eq "$(sort <<<"$out" | paste -sd,)" "user/ada@acme.io,user/ops@acme.io" "users by name (email)"
run "$S" get users
assert_contains "$(head -n 1 <<<"$out")" "EMAIL" "users table header"
assert_contains "$(grep ada@acme.io <<<"$out")" "admin" "users table role"
run "$S" set-role ada@acme.io member
expect_exit 0 "set-role"
assert_contains "$out" "user/ada@acme.io is now member" "set-role output"
run "$S" set-role ada@acme.io boss
expect_exit 1 "set-role with a role the server refuses"
assert_contains "$err" "role" "bad role message"
run "$S" set-role nobody@acme.io admin
expect_exit 3 "set-role of an unknown user"
run "$S" create user --role admin --password 'long enough'
expect_exit 2 "create user without --email"
run "$S" apply -f - <<<'{"kind":"user","metadata":{"name":"x"},"spec":{}}'
expect_exit 2 "users are not applied from files"
run "$S" delete user ada@acme.io
expect_exit 0 "delete user"
run "$S" get users -o name
assert_eq "$out" "user/ops@acme.io" "user deleted"

# ---- bash completion (names come live from the server) ----------------------------------------
complete_words() { # complete_words WORD...: COMPREPLY for the last word, space separated
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  _sluice
  echo "${COMPREPLY[*]}"
}
. "$SLUICE_ROOT/sdk/completions/sluice.bash"
PATH=$(dirname "$S"):$PATH
assert_eq "$(complete_words sluice ge)" "get" "complete a command"
assert_eq "$(complete_words sluice get pipe)" "pipelines" "complete a kind"
assert_eq "$(complete_words sluice set-role ops@acme.io ad)" "admin" "complete a role"
assert_eq "$(complete_words sluice describe streams bi)" "bids bids_usd" "complete names"
assert_eq "$(complete_words sluice get -o y)" "yaml" "complete an output format"
assert_contains "$(complete_words sluice apply --d)" "--dry-run" "complete an option"

# ---- help and completion of every command -----------------------------------------------------
# the commands `sluice help` lists are the rows of the command table in sdk/cli.c, none skipped
commands=$("$S" help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on && /^  [^ ]/ { print $1 }')
table=$(grep -oE '^    \{"[a-z-]+", (cli_cmd_[a-z_]+|run_[a-z]+),' "$SLUICE_ROOT/sdk/cli.c" | cut -d'"' -f2)
[ -n "$table" ] || fail "test setup: no command table found in sdk/cli.c"
assert_eq "$commands" "$table" "sluice help lists every command of the table"
for c in $commands; do
  run "$S" "$c" --help
  expect_exit 0 "$c --help"
  assert_contains "$(head -n 1 <<<"$out")" "usage: sluice $c" "$c --help text"
  assert_contains "$out" "global options:" "$c --help lists the global options"
  help_text=$out
  run "$S" help "$c"
  expect_exit 0 "sluice help $c"
  assert_eq "$out" "$help_text" "sluice help $c is $c --help"
  assert_contains " $(complete_words sluice "$c") " " $c " "bash completes the command $c"
  grep -q "^    '$c:" "$SLUICE_ROOT/sdk/completions/_sluice" || fail "zsh completion lacks the command $c"
done
if command -v zsh >/dev/null; then
  zsh -n "$SLUICE_ROOT/sdk/completions/_sluice" || fail "sdk/completions/_sluice: zsh syntax error"
else
  echo "zsh not installed: sdk/completions/_sluice not syntax-checked"
fi
echo "ok"
