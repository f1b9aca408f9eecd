#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft, broker+controller) on 127.0.0.1 from the Maven
# Central jars, for development and `pnpm test:real`.
#   kafka.sh start    resolve jars (cached in ~/.m2), format on first start, start, wait until it
#                     answers, print its address as KEY=VALUE lines (also in $STATE/kafka.env)
#   kafka.sh stop     stop by pid (SIGTERM, then SIGKILL after 30 s); data is kept for a restart
#   kafka.sh status   exit 0 if running
#   kafka.sh clean    stop and remove its state
# Listeners: PLAINTEXT and SASL_PLAINTEXT (mechanism PLAIN, user "soc", random password) on free
# ports chosen at first start and kept across restarts. Heap: KAFKA_HEAP (default -Xms256m -Xmx768m).
ENGINE=kafka
source "$(dirname "$0")/lib.sh"
STATE="$STATE_ROOT/kafka"
PIDFILE="$STATE/kafka.pid"
LOG="$STATE/kafka.log"
CP="$CACHE_DIR/kafka-classpath.txt"

answers() { grep -q 'Kafka Server started' "$LOG" && (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$STATE/port")") ; }

configure() {
  mkdir -p "$STATE/data"
  local port sasl ctl pass
  port="$(free_port)"; sasl="$(free_port)"; ctl="$(free_port)"
  pass="$(node -e "console.log(require('crypto').randomBytes(18).toString('base64url'))")"
  echo "$port" >"$STATE/port"
  cat >"$STATE/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl
listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl,CONTROLLER://127.0.0.1:$ctl
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_soc="$pass";
log.dirs=$STATE/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  chmod 600 "$STATE/server.properties"
  cat >"$STATE/log4j2.properties" <<'PROPS'
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=out
logger.kafka.name=org.apache.kafka
logger.kafka.level=WARN
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
PROPS
  cat >"$STATE/kafka.env" <<ENV
KAFKA_BROKERS=127.0.0.1:$port
SOC_KAFKA_SASL_BROKERS=127.0.0.1:$sasl
SOC_KAFKA_SASL_USERNAME=soc
SOC_KAFKA_SASL_PASSWORD=$pass
ENV
  chmod 600 "$STATE/kafka.env"
}

java_cmd() { java ${KAFKA_HEAP:--Xms256m -Xmx768m} -Dlog4j2.configurationFile="$STATE/log4j2.properties" -cp "$(cat "$CP")" "$@"; }

start() {
  need java
  mkdir -p "$STATE"
  if alive "$PIDFILE"; then say "already running"; cat "$STATE/kafka.env"; return 0; fi
  classpath_of "$DEV_DIR/kafka.pom.xml" "$CP"
  [[ -f "$STATE/server.properties" ]] || configure
  if [[ ! -f "$STATE/data/meta.properties" ]]; then
    java_cmd kafka.tools.StorageTool format --ignore-formatted -t "$(java_cmd kafka.tools.StorageTool random-uuid)" -c "$STATE/server.properties" >"$STATE/format.log" 2>&1 \
      || { cat "$STATE/format.log" >&2; die "cannot format the KRaft log dir"; }
  fi
  : >"$LOG"
  local t0=$SECONDS
  nohup java ${KAFKA_HEAP:--Xms256m -Xmx768m} -Dlog4j2.configurationFile="$STATE/log4j2.properties" -cp "$(cat "$CP")" kafka.Kafka "$STATE/server.properties" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  wait_until "${KAFKA_START_TIMEOUT:-180}" "$PIDFILE" "$LOG" answers
  say "answering after $((SECONDS - t0))s (pid $(cat "$PIDFILE"), log $LOG)"
  cat "$STATE/kafka.env"
}

dispatch "$@"
