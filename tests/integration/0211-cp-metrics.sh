#!/usr/bin/env bash
# The controlplane's /metrics, with the real worker: every per-task series carries the tenant
# (id and name), the kind and the name of its resource beside the resource and task ids; a
# running pipeline has records, bytes, errors, late records, lag, a one-hot state and restarts;
# restarts grow when its worker is killed, late records grow when an event arrives after its
# window closed; a resource name with a double quote, a backslash and a newline is escaped as
# the text format asks (and shows after the rollover that re-reads it), restarts still counted
# after that rollover; every line parses.
. "$(dirname "$0")/api_lib.sh"
mport=$(free_port)
live_start metrics metrics-corp --resync-ms 500 --backoff-initial-ms 100 --metrics-port "$mport"

call POST /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}"
expect 201
call POST /v1/streams '{"name":"pricey_out","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}'; expect 201
C=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","rate":"500"}}')
P=$(create_id /v1/pipelines '{"name":"pricey","sql":"INSERT INTO pricey_out SELECT auction, price FROM bids WHERE price > 100"}')
# A windowed pipeline fed over HTTP, to make late records on purpose.
call POST /v1/streams '{"name":"ticks","schema":{"fields":[{"name":"price","type":"BIGINT"},{"name":"ts","type":"TIMESTAMP(3)"}],"watermark":{"field":"ts","delay_ms":1000}}}'
expect 201
call POST /v1/streams '{"name":"tick_max","schema":{"fields":[{"name":"price","type":"BIGINT"}]}}'; expect 201
IN=$(create_id /v1/connections '{"name":"in","connector":"http","type":"source","stream":"ticks"}')
W=$(create_id /v1/pipelines '{"name":"windows","sql":"INSERT INTO tick_max SELECT MAX(price) AS price FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(ts), INTERVAL '"'10'"' SECOND)) GROUP BY window_start, window_end"}')
for path in "connections/$C" "connections/$IN" "pipelines/$P" "pipelines/$W"; do
  call POST "/v1/$path/activate"; expect 200
done

metrics() { curl -fsS "http://127.0.0.1:$mport/metrics"; }
# series NAME ID [TEXT]: the lines of metric NAME for resource ID (from TEXT, else a fresh scrape)
series() {
  local text=${3-}
  [ -n "$text" ] || text=$(metrics)
  awk -v n="$1" -v id="resource_id=\"$2\"" 'index($0, n "{") == 1 && index($0, id)' <<<"$text"
}
# value NAME ID [STATE]: the value of NAME for ID (of its state="STATE" line for sluice_task_state)
value() {
  local lines
  lines=$(series "$1" "$2")
  [ -n "${3-}" ] && lines=$(grep -F "state=\"$3\"}" <<<"$lines")
  awk 'NR == 1 {print $NF}' <<<"$lines"
}
running() { [ "$(value sluice_task_state "$1" running)" = 1 ]; }
wait_for 15 running "$P" || fail "pipeline task not running in /metrics: $(metrics | grep -F "$P" | head -n 20)"
wait_for 15 running "$W" || fail "windowed task not running in /metrics"

# Labels: tenant id and name, kind, name, resource and task ids on every per-task line.
text=$(metrics)
task=$(sql "SELECT id FROM tasks WHERE resource_id = '$P'")
line=$(series sluice_task_records_out_total "$P" "$text")
echo "$line"
labels="tenant_id=\"$TENANT_ID\",kind=\"pipeline\",resource_id=\"$P\",task_id=\"$task\",tenant=\"metrics-corp\",name=\"pricey\""
assert_contains "$line" "sluice_task_records_out_total{$labels}" "pipeline labels"
assert_contains "$(series sluice_task_records_in_total "$C" "$text")" \
  "kind=\"connection\",resource_id=\"$C\"" "connection kind"
assert_contains "$(series sluice_task_records_in_total "$C" "$text")" "tenant=\"metrics-corp\",name=\"gen\"}" \
  "connection tenant and name"
for m in records_in_total records_out_total bytes_in_total bytes_out_total errors_total late_records_total \
  restarts_total lag; do
  l=$(series "sluice_task_$m" "$P" "$text")
  [[ "$l" =~ ^sluice_task_$m\{$labels\}\ -?[0-9]+$ ]] || fail "sluice_task_$m for the pipeline: [$l]"
  assert_contains "$text" "# TYPE sluice_task_$m " "TYPE line of sluice_task_$m"
done
[ "$(value sluice_task_lag "$P")" -ge 0 ] || fail "negative lag"
assert_eq "$(series sluice_task_state "$P" "$text" | wc -l)" 7 "one state line per supervisor state"
assert_eq "$(series sluice_task_state "$P" "$text" | awk '$NF == 1' | grep -c 'state="running"}')" 1 "one-hot running"
assert_eq "$(series sluice_task_state "$P" "$text" | awk '{s += $NF} END {print s}')" 1 "exactly one state set"
assert_contains "$text" "sluice_task_state{$labels,state=\"failed\"} 0" "failed state line"

# Growth: records out; restarts after the worker is killed (and running again).
o1=$(value sluice_task_records_out_total "$P")
grows() { [ "$(value sluice_task_records_out_total "$P")" -gt "$o1" ]; }
wait_for 10 grows || fail "records out not growing from $o1"
assert_eq "$(value sluice_task_restarts_total "$P")" 0 "restarts before the kill"
pid=$(sql "SELECT pid FROM tasks WHERE resource_id = '$P' AND state = 'running'")
[ -n "$pid" ] || fail "no running pipeline worker"
kill -9 "$pid"
restarts_counted() { [ "$(value sluice_task_restarts_total "$P")" -ge 1 ]; }
wait_for 10 restarts_counted || fail "restarts_total did not grow: $(series sluice_task_restarts_total "$P")"
wait_for 15 running "$P" || fail "not running again after the kill: $(series sluice_task_state "$P")"

# Late records: an event after the watermark passed its window is dropped and counted.
assert_eq "$(value sluice_task_late_records_total "$W")" 0 "no late records yet"
call POST "/v1/connections/$IN/events" '{"events":[{"price":1,"ts":"2026-01-01T00:00:05.000Z"},{"price":2,"ts":"2026-01-01T00:01:00.000Z"}]}'
expect 200
call POST "/v1/connections/$IN/events" '{"events":[{"price":3,"ts":"2026-01-01T00:00:01.000Z"}]}'; expect 200
late() { [ "$(value sluice_task_late_records_total "$W")" -ge 1 ]; }
wait_for 15 late || fail "late records not counted: $(series sluice_task_late_records_total "$W"); $(series sluice_task_records_in_total "$W")"

# Escaping: a name with a double quote, a backslash and a newline (set behind the api's back,
# which allows none of them), re-read at the rollover a generation bump causes.
sql "UPDATE pipelines SET name = E'q\"uote\\\\back\\nx', generation = generation + 1 WHERE id = '$P'" >/dev/null
escaped() { series sluice_task_records_out_total "$P" | grep -qF 'name="q\"uote\\back\nx"}'; }
wait_for 15 escaped || fail "escaped name not shown: $(series sluice_task_records_out_total "$P")"
# restarts_total is a counter: the rollover's fresh start does not take the crash back.
assert_eq "$(value sluice_task_restarts_total "$P")" 1 "restarts after the rollover"
wait_for 15 running "$P" || fail "not running after the rollover"
# Every line is a comment or NAME{LABELS} VALUE: nothing broke a line or a quoted value.
bad=$(metrics | grep -v '^# ' | grep -Ev '^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9]+$' || true)
[ -z "$bad" ] || fail "unparsable /metrics lines: $bad"
echo ok
