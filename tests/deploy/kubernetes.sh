# shellcheck shell=bash disable=SC2154
# (variables and helpers come from run.sh and servers.sh)
# Part 5 (sourced by run.sh): deploy/kubernetes/respub.yaml.
#
# kubernetes-validate --strict checks every object against the Kubernetes JSON schemas its
# wheel ships (unknown fields rejected), for the oldest and newest versions it has here;
# check_k8s.py checks the rules the pod relies on. Both are shown to reject broken copies.
# Then the container's args (with $(VAR) expanded as the kubelet does) run through the
# entrypoint on the real respub as uid 999, as runAsUser makes it, and the probes' URLs
# are fetched, before and after SIGTERM. That part is respub's alone: redis-server has no
# admin port, so there is no reference run.

manifest=$repo/deploy/kubernetes/respub.yaml
echo "--- kubernetes/respub.yaml"
for k8s in 1.30.0 1.37.0; do
    expect_cmd "kubernetes-validate $(kubernetes-validate --version) --strict, Kubernetes $k8s" \
        kubernetes-validate --strict --quiet -k "$k8s" "$manifest"
done
sed 's/readinessProbe:/readinesProbe:/' "$manifest" >"$work/bad-k8s-field.yaml"
expect_fails_with "kubernetes-validate bites: a misspelt field is rejected" readinesProbe \
    kubernetes-validate --strict --quiet -k 1.37.0 "$work/bad-k8s-field.yaml"
sed 's/runAsUser: 999/runAsUser: "999"/' "$manifest" >"$work/bad-k8s-type.yaml"
expect_fails_with "kubernetes-validate bites: a string where an integer belongs is rejected" "'999'" \
    kubernetes-validate --strict --quiet -k 1.37.0 "$work/bad-k8s-type.yaml"

while IFS= read -r line; do
    case "$line" in
    "ok   "*) pass "k8s: ${line#ok   }" ;;
    "FAIL "*) fail "k8s: ${line#FAIL }" ;;
    *) fail "check_k8s.py printed: $line" ;;
    esac
done < <("$venv/bin/python" "$here/check_k8s.py" "$manifest" 2>&1)
sed 's/port: admin/port: redis/' "$manifest" >"$work/bad-k8s-probe.yaml"
expect_fails_with "check_k8s.py bites: probes on the redis port are caught" \
    "FAIL readinessProbe goes to the admin port" \
    "$venv/bin/python" "$here/check_k8s.py" "$work/bad-k8s-probe.yaml"
sed 's/terminationGracePeriodSeconds: 30/terminationGracePeriodSeconds: 15/' "$manifest" >"$work/bad-k8s-grace.yaml"
expect_fails_with "check_k8s.py bites: a grace period shorter than delay + timeout is caught" \
    "FAIL terminationGracePeriodSeconds 15" \
    "$venv/bin/python" "$here/check_k8s.py" "$work/bad-k8s-grace.yaml"

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2"; }

mapfile -d '' k8s_args < <("$venv/bin/python" "$here/check_k8s.py" "$manifest" --argv)
k8s_port=$(free_port)
k8s_admin=$(free_port)
for i in "${!k8s_args[@]}"; do
    [[ ${k8s_args[$i]} == --admin-port ]] && k8s_args[i + 1]=$k8s_admin
done
k8s_pass=$("$venv/bin/python" "$here/check_k8s.py" "$manifest" --env REDISCLI_AUTH)
tag="k8s args on real respub (uid 999)"
mkdir -p "$work/k8s-data"
# Loopback only here; in the pod the admin port listens on all interfaces (its default),
# where the kubelet's probes reach it.
start_ep respub "$work/k8s-data" 999:999 "${k8s_args[@]}" --port "$k8s_port" --bind 127.0.0.1 \
    --admin-bind 127.0.0.1
if ! REDISCLI_AUTH=$k8s_pass wait_ping "$k8s_port" "$ep_pid"; then
    fail "$tag: the container's args start the server" "args: ${k8s_args[*]}" "$(tail -n 20 "$ep_log")"
    stop_pid "$ep_pid"
else
    pass "$tag: the container's args start the server"
    expect_eq "$tag: livenessProbe GET /healthz answers 200" "$(http_status "$k8s_admin" /healthz)" 200
    expect_eq "$tag: readinessProbe GET /readyz answers 200" "$(http_status "$k8s_admin" /readyz)" 200
    t0=$(date +%s%N)
    kill -TERM "$ep_pid"
    ready=
    for _ in $(seq 1 40); do
        ready=$(http_status "$k8s_admin" /readyz)
        [[ $ready == 503 ]] && break
        sleep 0.05
    done
    expect_eq "$tag: after SIGTERM /readyz answers 503 (within 2 s)" "$ready" 503
    expect_eq "$tag: ... while it still serves clients (shutdown-delay)" \
        "$(REDISCLI_AUTH=$k8s_pass redis-cli -p "$k8s_port" ping 2>&1)" PONG
    for _ in $(seq 1 400); do kill -0 "$ep_pid" 2>/dev/null || break; sleep 0.05; done
    wait "$ep_pid"
    rc=$?
    t1=$(date +%s%N)
    expect_eq "$tag: exits 0 after SIGTERM" "$rc" 0
    secs=$(((t1 - t0) / 1000000000))
    if ((secs >= 4 && secs < 20)); then
        pass "$tag: exit came after shutdown-delay and within the grace period (${secs} s)"
    else
        fail "$tag: exit came after shutdown-delay and within the grace period" "took ${secs} s"
    fi
fi
