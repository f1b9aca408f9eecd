#!/usr/bin/env bash
# A single OpenSearch 2.19 node on 127.0.0.1 from the Maven Central jars (server, netty4 HTTP
# transport, analysis-common, lang-painless, mapper-extras), started by a small launcher compiled
# with javac (opensearch/SocOpenSearchNode.java), for development and `pnpm test:real`.
#   opensearch.sh start    resolve jars (cached in ~/.m2), compile the launcher, start, wait for
#                          cluster health yellow, print OPENSEARCH_URL=... (also in $STATE/opensearch.env)
#   opensearch.sh stop     stop by pid (SIGTERM, then SIGKILL after 30 s); data is kept
#   opensearch.sh status   exit 0 if running
#   opensearch.sh clean    stop and remove its state
# No security plugin and no ISM plugin: neither is published on Maven Central. HTTP binds loopback
# only. Heap: OPENSEARCH_HEAP (default -Xms512m -Xmx1g).
ENGINE=opensearch
source "$(dirname "$0")/lib.sh"
STATE="$STATE_ROOT/opensearch"
PIDFILE="$STATE/opensearch.pid"
LOG="$STATE/opensearch.log"
CP="$CACHE_DIR/opensearch-classpath.txt"
CLASSES="$CACHE_DIR/opensearch-launcher"
SRC="$DEV_DIR/opensearch/SocOpenSearchNode.java"

answers() { curl -fsS -m 5 "http://127.0.0.1:$(cat "$STATE/port")/_cluster/health?wait_for_status=yellow&timeout=2s"; }

configure() {
  local port transport
  port="$(free_port)"; transport="$(free_port)"
  echo "$port" >"$STATE/port"
  mkdir -p "$STATE/home/config" "$STATE/home/data" "$STATE/home/logs" "$STATE/home/plugins"
  cat >"$STATE/home/config/opensearch.yml" <<YML
cluster.name: soc-dev
node.name: soc-dev
discovery.type: single-node
network.host: 127.0.0.1
http.port: $port
transport.port: $transport
path.data: $STATE/home/data
path.logs: $STATE/home/logs
# One small node on a shared machine: no disk-watermark surprises, no swapping of shards.
cluster.routing.allocation.disk.threshold_enabled: false
YML
  cat >"$STATE/home/config/log4j2.properties" <<'PROPS'
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d{ISO8601}][%-5p][%c{1.}] %m%n
rootLogger.level=warn
rootLogger.appenderRef.out.ref=out
logger.node.name=org.opensearch.node.Node
logger.node.level=info
PROPS
  echo "OPENSEARCH_URL=http://127.0.0.1:$port" >"$STATE/opensearch.env"
}

start() {
  need java; need javac
  mkdir -p "$STATE"
  if alive "$PIDFILE"; then say "already running"; cat "$STATE/opensearch.env"; return 0; fi
  classpath_of "$DEV_DIR/opensearch.pom.xml" "$CP"
  if [[ ! -f "$CLASSES/SocOpenSearchNode.class" || "$SRC" -nt "$CLASSES/SocOpenSearchNode.class" || "$CP" -nt "$CLASSES/SocOpenSearchNode.class" ]]; then
    mkdir -p "$CLASSES"
    javac -d "$CLASSES" -cp "$(cat "$CP")" "$SRC" || die "cannot compile the launcher"
  fi
  [[ -f "$STATE/home/config/opensearch.yml" ]] || configure
  : >"$LOG"
  local t0=$SECONDS
  nohup java ${OPENSEARCH_HEAP:--Xms512m -Xmx1g} -XX:+UseG1GC -Djava.io.tmpdir="$STATE/home" -Dlog4j2.disable.jmx=true \
    -Dlog4j.shutdownHookEnabled=false -cp "$CLASSES:$(cat "$CP")" SocOpenSearchNode "$STATE/home" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  wait_until "${OPENSEARCH_START_TIMEOUT:-240}" "$PIDFILE" "$LOG" answers
  say "answering after $((SECONDS - t0))s (pid $(cat "$PIDFILE"), log $LOG)"
  cat "$STATE/opensearch.env"
}

dispatch "$@"
