"""The rules deploy/kubernetes/respub.yaml must keep beyond schema validity: the probes
reach the admin port the args open, the pod runs as the image's uid 999, the grace period
covers shutdown-delay + shutdown-timeout, selectors meet. Needs PyYAML (tests/deploy/.venv).

  check_k8s.py MANIFEST            prints `ok NAME` / `FAIL NAME: why` per rule
  check_k8s.py MANIFEST --argv     prints the container's args, NUL-separated, with
                                   $(VAR) expanded from its env as the kubelet does
  check_k8s.py MANIFEST --env NAME prints the value the container's env NAME gets
Exits 1 if a rule fails.
"""

import re
import sys

import yaml

path = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)


def one(kind):
    items = by_kind.get(kind, [])
    if len(items) != 1:
        sys.exit(f"FAIL exactly one {kind} in the manifest: found {len(items)}")
    return items[0]


deploy = one("Deployment")
service = one("Service")
pdb = one("PodDisruptionBudget")
secret = one("Secret")
pod = deploy["spec"]["template"]["spec"]
(container,) = pod["containers"]


def env_value(name):
    for e in container.get("env", []):
        if e["name"] == name:
            if "value" in e:
                return e["value"]
            ref = e["valueFrom"]["secretKeyRef"]
            if ref["name"] == secret["metadata"]["name"]:
                return secret["stringData"][ref["key"]]
    return None


def expand(arg):
    # The kubelet's rule: $(VAR) becomes VAR's value when VAR is defined, $$ is a $.
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        v = env_value(m.group(1))
        return m.group(0) if v is None else v

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, arg)


args = [expand(a) for a in container.get("args", [])]
if "--argv" in sys.argv:
    sys.stdout.write("\0".join(args) + "\0")
    sys.exit(0)
if "--env" in sys.argv:
    print(env_value(sys.argv[sys.argv.index("--env") + 1]))
    sys.exit(0)

results = []


def check(name, cond, why=""):
    results.append((name, bool(cond), why))


def flag(name):
    if name in args:
        i = args.index(name)
        return args[i + 1] if i + 1 < len(args) else None
    return None


ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def port_of(ref):
    return ports.get(ref) if isinstance(ref, str) else ref


admin = flag("--admin-port")
check("args open the admin port (--admin-port N)", admin and admin.isdigit(), args)
check("the container declares the admin port it opens", admin and int(admin) in ports.values(), ports)
for probe, want_path in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")]:
    p = container.get(probe, {})
    http = p.get("httpGet", {})
    check(f"{probe} is an HTTP GET of {want_path}", http.get("path") == want_path, http)
    check(f"{probe} goes to the admin port", admin and port_of(http.get("port")) == int(admin), http)
check("the server port is 6379 (the image's EXPOSE, redis's default)", ports.get("redis") == 6379, ports)
check("args, not command: the image's entrypoint applies the redis argv rules",
      "command" not in container and args[:1] == ["redis-server"], container.get("command"))
check("args have no unexpanded $(VAR)", not any("$(" in a for a in args), args)

sc = pod.get("securityContext", {})
check("pod runs as uid 999 (the image's redis user)", sc.get("runAsUser") == 999, sc)
check("pod runs as gid 999", sc.get("runAsGroup") == 999, sc)
check("runAsNonRoot", sc.get("runAsNonRoot") is True, sc)
csc = container.get("securityContext", {})
check("no privilege escalation", csc.get("allowPrivilegeEscalation") is False, csc)
check("all capabilities dropped (none needed when not root)", csc.get("capabilities", {}).get("drop") == ["ALL"], csc)
check("enableServiceLinks: false (a Service named respub would set RESPUB_PORT=tcp://...)",
      pod.get("enableServiceLinks") is False)

delay = float(flag("--shutdown-delay") or 0)
timeout = float(flag("--shutdown-timeout") or 5)  # config.example.toml's default
pre_stop = 0.0
hook = container.get("lifecycle", {}).get("preStop", {})
if "sleep" in hook:
    pre_stop = float(hook["sleep"]["seconds"])
grace = pod.get("terminationGracePeriodSeconds", 30)
check(f"terminationGracePeriodSeconds {grace} > preStop {pre_stop:g} + shutdown-delay {delay:g}"
      f" + shutdown-timeout {timeout:g}", grace > pre_stop + delay + timeout)
rp = container.get("readinessProbe", {})
noticed = rp.get("periodSeconds", 10) * rp.get("failureThreshold", 3)
check(f"readiness notices the 503 ({noticed} s) within shutdown-delay ({delay:g} s)", 0 < noticed <= delay)
check("resources: requests and a memory limit", container.get("resources", {}).get("requests")
      and container["resources"].get("limits", {}).get("memory"))
check("one replica (subscriptions live in one process)", deploy["spec"].get("replicas") == 1)

labels = deploy["spec"]["template"]["metadata"]["labels"]
matches = lambda sel: sel and all(labels.get(k) == v for k, v in sel.items())
check("Deployment selector matches its pods", matches(deploy["spec"]["selector"]["matchLabels"]))
check("Service selects the pods", matches(service["spec"].get("selector")))
sp = service["spec"]["ports"]
check("Service port 6379 reaches the container's 6379",
      [(p["port"], port_of(p.get("targetPort", p["port"]))) for p in sp] == [(6379, 6379)], sp)
check("PodDisruptionBudget selects the pods", matches(pdb["spec"]["selector"]["matchLabels"]))
check("PodDisruptionBudget lets a drain proceed with one replica",
      "maxUnavailable" in pdb["spec"] or pdb["spec"].get("minAvailable", 1) < deploy["spec"]["replicas"], pdb["spec"])

for name, ok, why in results:
    print(f"ok   {name}" if ok else f"FAIL {name}" + (f": {why}" if why else ""))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
