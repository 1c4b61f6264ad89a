#!/usr/bin/env bash
# The CLI's apply with desired_state, whole-file validation and rollback, events, describe with
# status and tasks, the audit trail and the quota hint, against the real api and controlplane
# (a datagen connection and a pipeline run as real workers).
source "$(dirname "$0")/api_lib.sh" # api_start, sql: migrate and start the real api over HTTPS
source "$(dirname "$0")/cli_lib.sh"  # run, expect_exit

cli_live ev ops@ev.io

# ---- a file with one bad document changes nothing ---------------------------------------------
# The third document has an unknown field: the first two (a stream, a connection) are not created.
cat >"$TEST_TMP/bad3.yaml" <<'YAML'
kind: stream
metadata: {name: nums}
spec:
  schema: {fields: [{name: id, type: BIGINT}, {name: v, type: BIGINT}]}
---
kind: connection
metadata: {name: gen}
spec: {connector: datagen, type: source, stream: nums, properties: {kind: sequence}}
---
kind: pipeline
metadata: {name: copy}
spec:
  sql: INSERT INTO nums_out SELECT id, v FROM nums
  paralelism: 2
YAML
run "$S" apply -f "$TEST_TMP/bad3.yaml"
expect_exit 2 "a file whose third document has an unknown field"
assert_contains "$err" 'bad3.yaml:14:15: unknown field "paralelism" in the spec of a pipeline' "the problem names the field and its line"
assert_contains "$err" "(document 3)" "the problem names the document"
assert_contains "$err" "nothing was changed" "the CLI says nothing changed"
assert_eq "$out" "" "nothing applied"
run "$S" get stream nums
expect_exit 3 "the stream of the first document was not created"
run "$S" get connection gen
expect_exit 3 "the connection of the second document was not created"

# Several problems at once, including a reference to a stream neither on the server nor in the
# file, and a missing required field: all printed, nothing changed.
cat >"$TEST_TMP/refs.yaml" <<'YAML'
kind: stream
metadata: {name: nums}
spec:
  schema: {fields: [{name: id, type: BIGINT}]}
---
kind: connection
metadata: {name: gen}
spec: {connector: datagen, type: source, stream: numbers}
---
kind: pipeline
metadata: {name: copy}
spec:
  sql: INSERT INTO nums_out SELECT id FROM nums
---
kind: connection
metadata: {name: sink}
spec: {connector: webhook, stream: nums}
YAML
run "$S" apply -f "$TEST_TMP/refs.yaml"
expect_exit 2 "a file with missing references"
assert_contains "$err" 'refs.yaml:6: connection/gen: "stream" names stream "numbers", which is neither on the server nor in the file (document 2)' "missing stream of a connection"
assert_contains "$err" 'refs.yaml:10: pipeline/copy: the SQL names stream "nums_out", which is neither on the server nor in the file (document 3)' "missing stream of the SQL"
assert_contains "$err" 'refs.yaml:15: connection/sink: "type" is required to create a connection (document 4)' "missing required field"
assert_contains "$err" "3 problems; nothing was changed" "the count of problems"
run "$S" get stream nums
expect_exit 3 "a file with bad references creates nothing"

# A problem only the server sees (bad SQL in the last document): what was created is deleted again.
cat >"$TEST_TMP/sqlbad.yaml" <<'YAML'
kind: stream
metadata: {name: nums}
spec:
  schema: {fields: [{name: id, type: BIGINT}]}
---
kind: stream
metadata: {name: nums_out}
spec:
  schema: {fields: [{name: id, type: BIGINT}]}
---
kind: pipeline
metadata: {name: copy}
spec:
  sql: INSERT INTO nums_out SELECT nosuchcolumn FROM nums
YAML
run "$S" apply -f "$TEST_TMP/sqlbad.yaml"
expect_exit 1 "a file the server refuses halfway"
assert_contains "$out" "stream/nums created" "the first stream was created"
assert_contains "$out" "stream/nums rolled back (deleted again)" "and deleted again"
assert_contains "$out" "stream/nums_out rolled back (deleted again)" "the second too"
assert_contains "$err" "pipeline/copy: " "the error names the pipeline"
run "$S" get streams -o name
expect_exit 0 "list streams after the rollback"
assert_eq "$out" "" "the rollback left no stream"

# ---- apply with desired_state: running --------------------------------------------------------
cat >"$TEST_TMP/run.yaml" <<'YAML'
kind: stream
metadata: {name: bids}
spec:
  partitions: 1
  schema:
    fields:
      - {name: auction, type: BIGINT}
      - {name: bidder, type: BIGINT}
      - {name: price, type: BIGINT}
      - {name: channel, type: STRING}
      - {name: url, type: STRING}
      - {name: dateTime, type: TIMESTAMP(3)}
      - {name: extra, type: STRING}
---
kind: stream
metadata: {name: bids_usd}
spec:
  partitions: 1
  schema:
    fields:
      - {name: auction, type: BIGINT}
      - {name: price, type: DOUBLE}
---
kind: connection
metadata: {name: gen}
spec:
  connector: datagen
  type: source
  stream: bids
  properties: {kind: bid, rate: "100"}
  desired_state: running
---
kind: pipeline
metadata: {name: usd}
spec:
  sql: INSERT INTO bids_usd SELECT auction, 0.9 * price AS price FROM bids
  desired_state: running
YAML
run "$S" apply -f "$TEST_TMP/run.yaml"
expect_exit 0 "apply with desired_state: running"
assert_contains "$out" "connection/gen created" "the connection created"
assert_contains "$out" "connection/gen activated" "the connection activated"
assert_contains "$out" "pipeline/usd activated" "the pipeline activated"
run "$S" get pipeline usd -o json
assert_eq "$(jq -r .desired_state <<<"$out")" running "the pipeline is desired running"
run "$S" get connection gen -o json
assert_eq "$(jq -r .desired_state <<<"$out")" running "the connection is desired running"
run "$S" apply -f "$TEST_TMP/run.yaml"
expect_exit 0 "apply again"
assert_eq "$(grep -c ' unchanged$' <<<"$out")" 4 "nothing changes the second time: $out"
grep -q activated <<<"$out" && fail "a second apply activates nothing: $out"

running() { run "$S" get pipeline usd -o json; [ "$(jq -r .actual_state <<<"$out")" = running ]; }
wait_for 30 running || fail "the pipeline did not run: $out"

# ---- events -----------------------------------------------------------------------------------
has_events() { run "$S" events pipeline usd -o json; [ "$rc" = 0 ] && [ "$(jq length <<<"$out")" -gt 0 ]; }
wait_for 20 has_events || fail "no events for the pipeline: rc $rc [$out] [$err]"
jq -e 'all(.[]; has("ts") and has("event") and has("task_id"))' <<<"$out" >/dev/null || fail "events json: $out"
run "$S" events pipeline usd
expect_exit 0 "events as a table"
grep -Eq '^TIME +EVENT +TASK +DETAIL' <<<"$out" || fail "events table header: [$out]"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ +[a-z_]+ +[0-9a-f]{8} ' <<<"$out" || fail "events table rows: [$out]"
run "$S" events connection gen --limit 1 -o json
expect_exit 0 "events --limit 1"
assert_eq "$(jq length <<<"$out")" 1 "--limit 1 gives one event"
run "$S" events stream bids
expect_exit 2 "events of a stream"
assert_contains "$err" "only pipelines and connections have events" "events of a stream message"
run "$S" events pipeline nope
expect_exit 3 "events of a missing pipeline"

# ---- describe: state, tasks, events -----------------------------------------------------------
task_running() { run "$S" describe pipeline usd -o json; [ "$(jq -r '.status.tasks[0].state' <<<"$out")" = running ]; }
wait_for 20 task_running || fail "describe -o json shows no running task: $out"
assert_eq "$(jq -r '.name, .status.desired_state, .status.actual_state' <<<"$out" | tr '\n' ' ')" "usd running running " "describe json: name and states"
jq -e '.status.tasks[0].pid > 0 and (.status.tasks[0] | has("metrics") and has("sandbox") and has("restarts"))' <<<"$out" >/dev/null \
  || fail "describe json: a task with pid, metrics, sandbox, restarts: $out"
jq -e '(.events | length) > 0 and (.events | length) <= 10' <<<"$out" >/dev/null || fail "describe json: the last events: $out"
jq -e 'has("sql") and has("generation") and .status.generation == .status.observed_generation' <<<"$out" >/dev/null \
  || fail "describe json: the resource's fields and generations: $out"
run "$S" describe pipeline usd
expect_exit 0 "describe as text"
assert_contains "$out" "sql: INSERT INTO bids_usd" "describe shows the resource as before"
assert_contains "$out" "desired state:  running" "describe shows the desired state"
assert_contains "$out" "actual state:   running" "describe shows the actual state"
grep -Eq 'generation: +[0-9]+ \(observed [0-9]+\)' <<<"$out" || fail "describe shows the generations: [$out]"
assert_contains "$out" "last error:     -" "describe shows the last error"
grep -Eq '^INDEX +TASK +STATE +PID +RESTARTS' <<<"$out" || fail "describe shows a tasks table: [$out]"
grep -Eq '^0 +[0-9a-f]{8} +running +[0-9]+ +0 ' <<<"$out" || fail "describe shows the running task: [$out]"
assert_contains "$out" "sandbox: " "describe shows the sandbox report"
assert_contains "$out" "Events (the last" "describe shows the last events"
run "$S" describe stream bids -o json
expect_exit 0 "describe a stream"
jq -e 'has("status") | not' <<<"$out" >/dev/null || fail "a stream has no status: $out"

# ---- apply with desired_state: stopped ----------------------------------------------------------
sed 's/desired_state: running/desired_state: stopped/' "$TEST_TMP/run.yaml" >"$TEST_TMP/stop.yaml"
run "$S" apply -f "$TEST_TMP/stop.yaml"
expect_exit 0 "apply with desired_state: stopped"
assert_contains "$out" "pipeline/usd deactivated" "the pipeline deactivated"
assert_contains "$out" "connection/gen deactivated" "the connection deactivated"
run "$S" get pipeline usd -o json
assert_eq "$(jq -r .desired_state <<<"$out")" stopped "the pipeline is desired stopped"

# ---- the audit trail ----------------------------------------------------------------------------
run "$S" audit
expect_exit 0 "audit"
grep -Eq '^TIME +ACTION +RESOURCE +BY +API_KEY +REQUEST' <<<"$out" || fail "audit table header: [$out]"
grep -Eq ' create +pipeline/usd +ops@ev\.io ' <<<"$out" || fail "audit lists the pipeline's creation by name and user: [$out]"
grep -Eq ' activate +pipeline/usd ' <<<"$out" || fail "audit lists the activation: [$out]"
grep -Eq ' delete +stream/' <<<"$out" || fail "audit lists the rollback's deletes: [$out]"
run "$S" audit -o json --limit 3
expect_exit 0 "audit -o json --limit 3"
assert_eq "$(jq length <<<"$out")" 3 "--limit 3"
assert_eq "$(jq -r '.[0].action' <<<"$out")" deactivate "the newest first"
jq -e 'all(.[]; has("request_id") and has("resource_id") and has("resource"))' <<<"$out" >/dev/null || fail "audit json: $out"
run "$S" create user --email bob@ev.io --role member --password 'bob pass 12'
expect_exit 0 "create a member"
run "$S" login --profile bob --api-url "$API" --ca-file "$CACERT" --email bob@ev.io --password 'bob pass 12'
expect_exit 0 "the member logs in"
run "$S" audit --profile bob
expect_exit 1 "a member may not read the audit trail"
assert_contains "$err" "forbidden" "the refusal"

# ---- the quota hint -----------------------------------------------------------------------------
sql "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys, rate_per_second, rate_burst) VALUES ('tiny', 100, 100, 1, 10, 10, 10, 1000, 1000)" >/dev/null
sql "UPDATE tenants SET plan = 'tiny' WHERE name = 'ev'" >/dev/null
run "$S" create pipeline --name second --sql 'INSERT INTO bids_usd SELECT auction, 1.0 * price AS price FROM bids'
expect_exit 1 "a pipeline over the plan's quota"
assert_contains "$err" "quota_exceeded, HTTP 403" "the code and status"
assert_contains "$err" "hint: the plan's quota of 1 pipelines is used up: delete some you no longer need or change to a plan with more" "the quota hint"
grep -q "role does not allow" <<<"$err" && fail "the quota is not blamed on the role: [$err]"

# apply over the quota: the stream it created first is deleted again
cat >"$TEST_TMP/quota.yaml" <<'YAML'
kind: stream
metadata: {name: extra}
spec:
  schema: {fields: [{name: id, type: BIGINT}]}
---
kind: pipeline
metadata: {name: second}
spec:
  sql: INSERT INTO extra SELECT auction AS id FROM bids
YAML
run "$S" apply -f "$TEST_TMP/quota.yaml"
expect_exit 1 "apply over the quota"
assert_contains "$err" "pipeline/second: your plan allows 1 pipelines" "apply names the resource over the quota"
assert_contains "$err" "hint: the plan's quota of 1 pipelines" "apply gives the quota hint"
assert_contains "$out" "stream/extra rolled back (deleted again)" "apply undid the stream"
run "$S" get stream extra
expect_exit 3 "the stream was deleted again"
echo ok
