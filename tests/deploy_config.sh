#!/bin/bash
# deploy_config.sh: the deployment files agree with each other and with the binary, without
# Docker or Kubernetes:
#   - docker/nginx.conf passes `nginx -t` once templated for loopback (as the cluster test runs it),
#   - docker-compose.yml parses, mounts models read-only, runs several replicas with limits and a
#     restart policy, and its --max-body equals nginx's client_max_body_size,
#   - the k8s manifests parse, probe /readyz and /healthz, request resources, and their Service
#     and autoscaler point at the Deployment,
#   - the Dockerfile's runtime stage is slim, non-root, health-checked, and installs the Debian
#     package of every shared library the built binary needs.
# Parts whose tool is missing (nginx, python3 with yaml, dpkg) are skipped with a message; exit 77
# when all are. Exit 1 on any disagreement.
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"
tl_init inspectd-deploy
T=$TL_TMP
ran=0
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# --- nginx -----------------------------------------------------------------------------------
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ -x "$NGINX" ]; then
    ran=$((ran + 1))
    mkdir -p "$T/nginx" "$T/certs"
    tls_port=""
    if command -v openssl >/dev/null &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
            -keyout "$T/certs/tls.key" -out "$T/certs/tls.crt" >/dev/null 2>&1; then
        tls_port=18443
    fi
    if tl_nginx_conf "$SRC/docker/nginx.conf" "$T/nginx/nginx.conf" 18080 "$T/nginx" \
        "18081 18082 18083" "$tls_port" "$T/certs"; then
        "$NGINX" -t -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" \
            -g "pid $T/nginx/nginx.pid;" >"$T/nginx-t.log" 2>&1 ||
            fail "nginx -t: $(cat "$T/nginx-t.log")"
        [ "$(grep -c 'server 127.0.0.1:1808[123] ' "$T/nginx/nginx.conf")" = 3 ] ||
            fail "templating did not yield one upstream server line per replica"
        echo "nginx -t: ok${tls_port:+ (with the TLS block uncommented)}"
    else
        fail "docker/nginx.conf lost the marked lines the cluster test templates"
    fi
else
    echo "skip nginx checks: nginx is not installed"
fi

# --- compose and k8s (YAML) ------------------------------------------------------------------
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
    ran=$((ran + 1))
    python3 - "$SRC" <<'EOF' || fails=$((fails + 1))
import re, sys, yaml
src = sys.argv[1]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

def size_bytes(s):
    m = re.fullmatch(r"(\d+)([kKmMgG]?)(i?B)?", str(s))
    if not m:
        return None
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]

nginx = open(f"{src}/docker/nginx.conf").read()
active = "\n".join(l for l in nginx.splitlines() if not l.lstrip().startswith("#"))
m = re.search(r"client_max_body_size\s+(\S+);", active)
nginx_body = size_bytes(m.group(1)) if m else None
check(nginx_body, "nginx.conf: no client_max_body_size")
check("least_conn;" in active, "nginx.conf: not least_conn")
check(re.search(r"max_fails=\d+", active) and re.search(r"fail_timeout=\d+", active),
      "nginx.conf: no passive health check (max_fails, fail_timeout)")
check(re.search(r"proxy_next_upstream\s[^;]*error", active), "nginx.conf: no proxy_next_upstream")
m = re.search(r"proxy_read_timeout\s+(\d+)s;", active)
check(m and int(m.group(1)) >= 60, "nginx.conf: proxy_read_timeout too short for long searches")

def flag(args, name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None

compose_text = open(f"{src}/docker/docker-compose.yml").read()
# podman-compose 1.0.3 leaves ${VAR:-} (an empty default) unexpanded: the literal text becomes the
# value (it did for INSPECTD_API_KEY). ${VAR} and ${VAR:-default} work in both engines.
compose_active = "\n".join(l for l in compose_text.splitlines() if not l.lstrip().startswith("#"))
check(not re.search(r"\$\{\w+:?-\}", compose_active), "compose: ${VAR:-} with an empty default (podman-compose keeps it literally)")
# Defaults stand in for the variables, as with none set.
c = yaml.safe_load(re.sub(r"\$\{\w+:-([^}]+)\}", r"\1", compose_text))
svc = c["services"]
d, n = svc["inspectd"], svc["nginx"]
args = d.get("command", [])
check(size_bytes(flag(args, "--max-body")) == nginx_body,
      f"compose --max-body {flag(args, '--max-body')} differs from nginx client_max_body_size")
check(any(v.endswith(":/models:ro") for v in d.get("volumes", [])), "compose: models not mounted read-only at /models")
check(int(d.get("deploy", {}).get("replicas", 1)) >= 2, "compose: fewer than 2 replicas")
lim = d.get("deploy", {}).get("resources", {}).get("limits", {})
check("cpus" in lim and "memory" in lim, "compose: no cpu/memory limits on inspectd")
check(flag(args, "--workers") is not None and int(flag(args, "--workers")) == int(float(lim.get("cpus", 0))),
      "compose: --workers differs from the CPU limit")
for name, s in svc.items():
    check(s.get("restart") in ("always", "unless-stopped", "on-failure"), f"compose: {name} has no restart policy")
check("8080" in [str(p) for p in d.get("expose", [])], "compose: inspectd does not expose 8080")
check(any(str(p).endswith(":8080") for p in n.get("ports", [])), "compose: nginx does not publish 8080")
check(any(v.startswith("./nginx.conf:") and v.endswith(":ro") for v in n.get("volumes", [])),
      "compose: nginx.conf not mounted read-only")
check(any(v.startswith("./nginx-entrypoint.sh:") for v in n.get("volumes", [])) and
      "entrypoint" in " ".join(n.get("entrypoint", [])),
      "compose: nginx does not start through docker/nginx-entrypoint.sh (which writes its resolver)")
check(re.search(r"^\s*include resolver\*\.conf;", nginx, re.M) and "proxy_pass http://$inspectd_upstream;" in active,
      "nginx.conf: the replicas are not looked up by name at run time (resolver include, proxy_pass by variable)")
check(n.get("depends_on", {}).get("inspectd", {}).get("condition") == "service_healthy",
      "compose: nginx does not wait for healthy replicas")
# nginx.conf must run on Debian's nginx 1.22 too: none of the newer upstream `resolve`.
check(not re.search(r"^\s*server\s[^;]*\sresolve\b", active, re.M), "nginx.conf: upstream `resolve` needs nginx >= 1.27.3")

docs = {}
for f in ("deployment", "service", "hpa", "pdb"):
    for doc in yaml.safe_load_all(open(f"{src}/docker/k8s/{f}.yaml")):
        docs[doc["kind"]] = doc
kust = yaml.safe_load(open(f"{src}/docker/k8s/kustomization.yaml"))
check(set(kust["resources"]) == {"deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"},
      "kustomization.yaml does not list every manifest")
dep = docs["Deployment"]
pod = dep["spec"]["template"]
ctr = pod["spec"]["containers"][0]
def probe_path(p):
    if "httpGet" in p:
        return p["httpGet"]["path"]
    return " ".join(p.get("exec", {}).get("command", []))
check(probe_path(ctr.get("livenessProbe", {})).endswith("/healthz"), "k8s: liveness probe is not /healthz")
check(probe_path(ctr.get("readinessProbe", {})).endswith("/readyz"), "k8s: readiness probe is not /readyz")
req = ctr.get("resources", {}).get("requests", {})
check("cpu" in req and "memory" in req, "k8s: no resource requests")
check(size_bytes(flag(ctr.get("args", []), "--max-body")) == nginx_body, "k8s: --max-body differs from nginx's limit")
port = {e["name"]: e.get("value") for e in ctr.get("env", [])}.get("INSPECTD_PORT")
check(str(ctr["ports"][0]["containerPort"]) == port, "k8s: containerPort differs from INSPECTD_PORT")
labels = pod["metadata"]["labels"]
sel = docs["Service"]["spec"]["selector"]
check(all(labels.get(k) == v for k, v in sel.items()), "k8s: Service selector does not match the pods")
check(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), "k8s: Deployment selector does not match its pods")
check(docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"],
      "k8s: the autoscaler does not target the Deployment")
sc = {**pod["spec"].get("securityContext", {}), **ctr.get("securityContext", {})}
check(sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True, "k8s: not non-root with a read-only root")

for e in errors:
    print("FAIL:", e)
print("compose and k8s: " + ("ok" if not errors else f"{len(errors)} problems"))
sys.exit(1 if errors else 0)
EOF
else
    echo "skip compose/k8s checks: python3 with PyYAML is not installed"
fi

# --- Dockerfile --------------------------------------------------------------------------------
DF="$SRC/docker/Dockerfile"
ran=$((ran + 1))
runtime=$(awk '/^FROM .* AS runtime/ { on = 1 } on' "$DF")
[ -n "$runtime" ] || fail "Dockerfile: no runtime stage"
grep -q '^FROM debian:\${DEBIAN}-slim AS runtime' <<<"$runtime" && grep -q '^ARG DEBIAN=bookworm' "$DF" ||
    fail "Dockerfile: the runtime stage is not debian bookworm-slim"
grep -q '^FROM debian:\${DEBIAN} AS build' "$DF" || fail "Dockerfile: no bookworm build stage"
user=$(awk '/^USER / { print $2 }' <<<"$runtime" | tail -1)
[ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] || fail "Dockerfile: runs as root"
# A `# syntax=` line makes BuildKit fetch a frontend image: no offline build.
if grep -q '^# *syntax=' "$DF"; then fail "Dockerfile: a '# syntax=' line (the build would need a registry)"; fi
# USER uid:gid needs a group with that gid: useradd --user-group alone picks a system gid.
if [ "$user" = 10001:10001 ]; then
    grep -q 'groupadd [^&]*--gid 10001' <<<"$runtime" && grep -q 'useradd [^&]*--gid 10001' <<<"$runtime" ||
        fail "Dockerfile: USER 10001:10001 but no group with gid 10001 made for it"
fi
grep -q '^HEALTHCHECK .*' <<<"$runtime" && grep -q 'inspectd-healthcheck' <<<"$runtime" ||
    fail "Dockerfile: no HEALTHCHECK"
grep -q '^EXPOSE 8080' <<<"$runtime" || fail "Dockerfile: does not EXPOSE 8080"
grep -q '^ENTRYPOINT \["inspectd", "serve", "--bind", "0.0.0.0", "--models", "/models"\]' <<<"$runtime" ||
    fail "Dockerfile: ENTRYPOINT is not inspectd serve --bind 0.0.0.0 --models /models"
if grep -qE 'build-essential|-dev( |$)|cmake' <<<"$runtime"; then fail "Dockerfile: build tools in the runtime stage"; fi
[ -x "$SRC/docker/healthcheck.sh" ] || fail "docker/healthcheck.sh is not executable"
BIN=$(tl_find_bin "$SRC")
if [ -n "$BIN" ] && command -v dpkg >/dev/null && command -v ldd >/dev/null; then
    # Debian package of every library the binary links directly, as the runtime stage must install.
    pkgs=$(awk '/apt-get install/ { on = 1 } on { print } /rm -rf/ { on = 0 }' <<<"$runtime")
    for lib in $(objdump -p "$BIN" 2>/dev/null | awk '/NEEDED/ { print $2 }'); do
        path=$(ldd "$BIN" | awk -v l="$lib" '$1 == l { print $3 }')
        [ -n "$path" ] || { fail "ldd cannot resolve $lib"; continue; }
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
        case "$lib" in
            libasan.so* | libubsan.so* | libtsan.so*) continue ;; # a sanitizer build, not the image's
        esac
        case "$pkg" in
            libc6 | "") ;; # in every Debian image
            *) grep -qw -- "$pkg" <<<"$pkgs" || fail "Dockerfile: runtime stage lacks $pkg (for $lib)" ;;
        esac
    done
    echo "Dockerfile: runtime packages cover $(objdump -p "$BIN" | grep -c NEEDED) linked libraries"
else
    echo "skip the library check: no built binary, dpkg or ldd"
fi

[ "$ran" -gt 0 ] || tl_skip "no tool to check the deployment files with"
[ "$fails" = 0 ] || tl_fail "$fails deployment checks failed"
echo "PASS: deployment files agree"
