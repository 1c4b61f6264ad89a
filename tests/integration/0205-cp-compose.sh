#!/usr/bin/env bash
# docker-compose.yml is valid: `docker compose config` where the compose plugin exists, else
# Debian's `docker-compose` (v1, installed by make deps) `config`; then structural checks in
# Python (YAML parses, anchors merge, every depends_on names a service, the services the
# cluster needs are there, each sluiced service runs a real subcommand, the controlplane nodes
# share no volume and every sluiced service knows the Kafka cluster: cluster mode).
. "$(dirname "$0")/lib.sh"
cd "$SLUICE_ROOT"
if docker compose version >/dev/null 2>&1; then
  SLUICE_MASTER_KEY=00 docker compose -f docker-compose.yml config -q || fail "docker compose config"
  echo "docker compose config: ok"
elif command -v docker-compose >/dev/null 2>&1; then
  SLUICE_MASTER_KEY=00 docker-compose -f docker-compose.yml config -q || fail "docker-compose config"
  echo "docker-compose $(docker-compose version --short 2>/dev/null) config: ok"
fi
python3 - "$SLUICED" <<'PY' || fail "docker-compose.yml structure"
import subprocess, sys, yaml
d = yaml.safe_load(open("docker-compose.yml"))
services = d["services"]
need = {"postgres", "kafka", "migrate", "api", "controlplane-1", "controlplane-2"}
assert need <= set(services), f"missing services: {need - set(services)}"
for name, s in services.items():
    for dep in (s.get("depends_on") or {}):
        assert dep in services, f"{name} depends on unknown service {dep}"
    cmd = s.get("command")
    if isinstance(cmd, list) and cmd[0] == "sluiced":
        # every flag given must be one the subcommand knows
        help = subprocess.run([sys.argv[1], cmd[1], "--help"], capture_output=True, text=True).stdout
        for flag in cmd[2:]:
            if flag.startswith("--"):
                assert flag in help, f"{name}: sluiced {cmd[1]} has no {flag}"
        assert s["environment"]["SLUICE_DATABASE_URL"].startswith("postgresql://"), name
assert services["controlplane-1"]["privileged"] and services["controlplane-2"]["privileged"]
# cluster mode: streams in Kafka, checkpoints in PostgreSQL, no volume shared between the nodes
def volumes(name):
    return {v.split(":")[0] for v in services[name].get("volumes") or []}
nodes = ["controlplane-1", "controlplane-2"]
assert volumes(nodes[0]) and volumes(nodes[1]), "each node has a data volume"
assert not volumes(nodes[0]) & volumes(nodes[1]), f"the nodes share {volumes(nodes[0]) & volumes(nodes[1])}"
assert not (volumes(nodes[0]) | volumes(nodes[1])) & volumes("api"), "a node shares the api's volume"
for name in nodes + ["api"]:
    assert services[name]["environment"]["SLUICE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
    assert "kafka" in services[name]["depends_on"], f"{name} starts after the broker"
api = services["api"]["command"]
assert api[api.index("--stream-storage") + 1] == "kafka", "streams are created in Kafka"
print("compose file ok (structural check)")
PY
echo ok
