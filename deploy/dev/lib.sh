# Shared by kafka.sh and opensearch.sh: where state lives, fetching a classpath from Maven
# Central, free loopback ports, waiting, and stopping by pid. Sourced, not run.
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Engine state (configs, data, logs, pid files). SOC_DEV_STATE overrides; CI uses the default.
STATE_ROOT="${SOC_DEV_STATE:-$DEV_DIR/../../.dev}"
mkdir -p "$STATE_ROOT"
STATE_ROOT="$(cd "$STATE_ROOT" && pwd)"
# Resolved classpaths and the compiled launcher, kept across fresh state directories.
CACHE_DIR="${SOC_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/soc-dev}"
mkdir -p "$CACHE_DIR"

say() { echo "$ENGINE: $*" >&2; }
die() { echo "soc: $ENGINE $* " >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "cannot start ($1 not found; install Java 17 and Maven)"; }

all_present() { local f; while IFS= read -r f; do [[ -f "$f" ]] || return 1; done < <(tr ':' '\n' <"$1"); }

# The runtime classpath of a pom, resolved by Maven into its local repository (~/.m2, or
# MAVEN_REPO_LOCAL) and cached per pom content, so a warm start does not run Maven at all.
classpath_of() {
  local pom="$1" out="$2" sum
  sum="$( (cat "$pom"; echo "${MAVEN_REPO_LOCAL:-}") | sha256sum | cut -c1-16)"
  if [[ -s "$out" && "$(cat "$out.sum" 2>/dev/null)" == "$sum" ]] && all_present "$out"; then return 0; fi
  need mvn
  say "resolving $(basename "$pom") from Maven Central (first run downloads the jars)"
  local repo=()
  [[ -n "${MAVEN_REPO_LOCAL:-}" ]] && repo=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL")
  mvn -B -q "${repo[@]}" -f "$pom" dependency:build-classpath -DincludeScope=runtime -Dmdep.outputFile="$out" >"$out.mvn.log" 2>&1 \
    || { tail -20 "$out.mvn.log" >&2; die "cannot resolve $(basename "$pom") (see $out.mvn.log)"; }
  echo "$sum" >"$out.sum"
}

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_until SECONDS PIDFILE LOG CMD...: polls CMD until it succeeds; fails early if the process died.
wait_until() {
  local limit="$1" pidfile="$2" log="$3"; shift 3
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    alive "$pidfile" || { tail -40 "$log" >&2; die "exited during start-up (log: $log)"; }
    (( SECONDS - t0 < limit )) || { tail -40 "$log" >&2; stop_pid "$pidfile"; die "did not answer within ${limit}s (log: $log)"; }
    sleep 0.5
  done
}

# SIGTERM, then SIGKILL after 30 s; only the pid this script recorded.
stop_pid() {
  local pidfile="$1" pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { say "still running after 30s, killing $pid"; kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$pidfile"
}

# The command line of both scripts; each defines start() and sets STATE and PIDFILE.
dispatch() {
  case "${1:-}" in
    start) start ;;
    stop) stop_pid "$PIDFILE"; say "stopped" ;;
    status) alive "$PIDFILE" ;;
    clean) stop_pid "$PIDFILE"; rm -rf "$STATE"; say "state removed" ;;
    -h|--help|help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "soc: $(basename "$0") needs a command (start|stop|status|clean; --help)" >&2; exit 2 ;;
  esac
}
