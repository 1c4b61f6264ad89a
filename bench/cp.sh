#!/usr/bin/env bash
# bench/cp.sh — the control plane's figures, on its own PostgreSQL under var/ (removed after):
#  1. activation latency: API activate → first output record of a fresh pipeline (reading a
#     stream a datagen connection fills), p50/p99 over CP_BENCH_ACTIVATIONS (50) activations;
#     baseline in the same run: the time to start one `sluiced worker` by hand and see its
#     first output, without api or controlplane;
#  2. CP_BENCH_PIPELINES (1000) idle running pipelines on this machine: the controlplane's RSS
#     and CPU while holding them, and the workers' RSS (per pipeline p50/p99, total).
# Targets (from the issue): p99 activation under 500 ms; 1,000 pipelines under 8 GiB in total.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sluiced=${SLUICED:-$root/${BUILD:-build}/rel/sluiced}
activations=${CP_BENCH_ACTIVATIONS:-50} idle=${CP_BENCH_PIPELINES:-1000}
mkdir -p var
dir=$(mktemp -d "$root/var/bench-cp.XXXXXX")
chmod 755 "$dir"
api_pid="" cp_pid=""
cleanup() {
  [ -n "$cp_pid" ] && kill "$cp_pid" 2>/dev/null && wait "$cp_pid" 2>/dev/null
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  scripts/pg.sh destroy "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; print a[i]}'; }

db=$(PG_FSYNC=off PG_MAX_CONNECTIONS=100 scripts/pg.sh start "$dir/pg")
"$sluiced" migrate --database-url "$db" >/dev/null 2>&1
psql -X -q "$db" -c "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys, rate_per_second, rate_burst) VALUES ('unlimited', 1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1e9, 1e9)"
port=$(for _ in $(seq 1 100); do p=$((20000 + RANDOM % 12000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; break; }; done)
export SLUICE_MASTER_KEY=$(openssl rand -hex 32) SLUICE_LOG_LEVEL=warn
"$sluiced" api --database-url "$db" --port "$port" --tls-dir "$dir/tls" --data-root "$dir/data" >"$dir/api.log" 2>&1 &
api_pid=$!
"$sluiced" controlplane --database-url "$db" --data-root "$dir/data" --node-id bench \
  --max-tasks $((idle + activations + 10)) --cgroup-parent "sluice-bench-$$" >"$dir/cp.log" 2>&1 &
cp_pid=$!
url="https://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf --cacert "$dir/tls/cert.pem" "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
api() { curl -sS --cacert "$dir/tls/cert.pem" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -X "$1" ${3:+-d "$3"} "$url$2"; }
key=$(curl -sS --cacert "$dir/tls/cert.pem" -H 'Content-Type: application/json' \
  -d '{"tenant":"bench","email":"bench@example.com","password":"bench password"}' "$url/v1/signup" | jq -r .api_key.key)
tenant=$(psql -X -tAq "$db" -c "UPDATE tenants SET plan = 'unlimited' RETURNING id")
bid='{"fields":[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},{"name":"date_time","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]}'
out='{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}'
api POST /v1/streams "{\"name\":\"bids\",\"schema\":$bid}" >/dev/null
conn=$(api POST /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","rate":"1000"}}' | jq -r .id)
api POST "/v1/connections/$conn/activate" >/dev/null
sleep 1

# Baseline: a worker started by hand on the same input, to its first output record.
mkdir -p "$dir/manual"
bids_dir=$(ls -d "$dir"/data/tenants/*/streams/* | head -n 1)
base_ms=()
for i in 1 2 3 4 5; do
  rm -rf "$dir/manual/out"; mkdir -p "$dir/manual/out"
  spec=$(jq -nc --arg b "$bids_dir" --arg o "$dir/manual/out" --arg d "$dir/manual" --argjson bs "$bid" --argjson os "$out" \
    '{task_id:"manual",tenant_id:"t",kind:"pipeline",data_dir:$d,sql:"INSERT INTO o SELECT auction, price FROM bids",streams:[{name:"bids",dir:$b,schema:$bs},{name:"o",dir:$o,schema:$os}]}')
  t0=$(ms)
  (echo "$spec" | "$sluiced" worker >/dev/null 2>&1) & wpid=$!
  until [ -s "$dir/manual/out/0/00000000000000000000.log" ]; do sleep 0.002; done
  base_ms+=($(( $(ms) - t0 )))
  kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null || true
  rm -rf "$dir/manual/checkpoints"
done

# Activation latency over the whole service.
lat=() timeouts=0
for i in $(seq 1 "$activations"); do
  sid=$(api POST /v1/streams "{\"name\":\"out$i\",\"schema\":$out}" | jq -r .id)
  pid=$(api POST /v1/pipelines "{\"name\":\"act$i\",\"sql\":\"INSERT INTO out$i SELECT auction, price FROM bids\"}" | jq -r .id)
  seg="$dir/data/tenants/$tenant/streams/$sid/0/00000000000000000000.log"
  t0=$(ms)
  api POST "/v1/pipelines/$pid/activate" >/dev/null
  deadline=$(( t0 + 10000 ))
  until [ -s "$seg" ] || [ "$(ms)" -gt "$deadline" ]; do sleep 0.002; done
  [ -s "$seg" ] || timeouts=$((timeouts + 1))
  lat+=($(( $(ms) - t0 )))
  api POST "/v1/pipelines/$pid/deactivate" >/dev/null
done
printf 'activation latency (activate → first output record), %d activations: p50 %s ms, p99 %s ms (target p99 < 500 ms)\n' \
  "$activations" "$(printf '%s\n' "${lat[@]}" | pct 50)" "$(printf '%s\n' "${lat[@]}" | pct 99)"
printf '  baseline, a worker started by hand to its first output record: p50 %s ms\n' "$(printf '%s\n' "${base_ms[@]}" | pct 50)"
[ "$timeouts" -eq 0 ] ||
  echo "WARNING: $timeouts of $activations activations saw no output within the 10 s timeout; their latency is the timeout, not a measurement: the activation figures above are not a real result"
api POST "/v1/connections/$conn/deactivate" >/dev/null

# Idle pipelines: each reads an empty stream into its own output stream.
psql -X -q "$db" <<SQL
INSERT INTO streams (tenant_id, name, schema) VALUES ('$tenant', 'idle_in', '$out');
INSERT INTO streams (tenant_id, name, schema)
  SELECT '$tenant', 'idle_out' || i, '$out' FROM generate_series(1, $idle) i;
INSERT INTO pipelines (tenant_id, name, sql, desired_state, task_size)
  SELECT '$tenant', 'idle' || i, 'INSERT INTO idle_out' || i || ' SELECT * FROM idle_in', 'running', 'S'
    FROM generate_series(1, $idle) i;
NOTIFY sluice_desired, 'pipeline:*';
SQL
t0=$(ms)
running=0
for _ in $(seq 1 600); do
  running=$(psql -X -tAq "$db" -c "SELECT count(*) FROM pipelines WHERE name LIKE 'idle%' AND actual_state = 'running'")
  [ "$running" -ge "$idle" ] && break
  sleep 0.5
done
echo "idle pipelines running: $running of $idle after $(( ($(ms) - t0) / 1000 )) s"
[ "$running" -ge 1000 ] && [ "$running" -ge "$idle" ] ||
  echo "WARNING: only $running of $idle pipelines reached running (the target is 1,000): the figures below are not the 1,000-pipeline result"
sleep 5
cpu() { awk '{print $14 + $15}' "/proc/$cp_pid/stat"; }
c0=$(cpu); s0=$(ms); sleep 10; c1=$(cpu); s1=$(ms)
hz=$(getconf CLK_TCK)
cp_rss=$(awk '/VmRSS/ {print $2}' "/proc/$cp_pid/status")
printf 'controlplane holding %d idle pipelines: CPU %.1f%% of one core, RSS %d MiB\n' "$running" \
  "$(echo "($c1 - $c0) * 100 * 1000 / $hz / ($s1 - $s0)" | bc -l)" $(( cp_rss / 1024 ))
psql -X -tAq "$db" -c "SELECT pid FROM tasks t JOIN pipelines p ON p.id = t.resource_id WHERE p.name LIKE 'idle%' AND t.pid IS NOT NULL" >"$dir/pids"
: >"$dir/rss"
while read -r p; do awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null >>"$dir/rss" || true; done <"$dir/pids"
n=$(wc -l <"$dir/rss"); total=$(awk '{s+=$1} END {print s+0}' "$dir/rss")
printf 'worker RSS per idle pipeline (%d workers): p50 %s KiB, p99 %s KiB; total with the controlplane %d MiB (target 1,000 under 8 GiB)\n' \
  "$n" "$(pct 50 <"$dir/rss")" "$(pct 99 <"$dir/rss")" $(( (total + cp_rss) / 1024 ))
