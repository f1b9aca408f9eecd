#!/usr/bin/env bash
# Entry point of the compose kafka service: writes the broker's JAAS file from SOC_KAFKA_PASSWORD,
# then hands over to the image's own start script. The password is not passed as a KAFKA_* variable
# because the image turns every KAFKA_* variable into a server property (and drops values that
# contain '=', which a JAAS line always does).
set -euo pipefail

if [[ ! ${SOC_KAFKA_PASSWORD:-} =~ ^[A-Za-z0-9._~-]{16,}$ || $SOC_KAFKA_PASSWORD == REPLACE* ]]; then
  echo "kafka: SOC_KAFKA_PASSWORD must be at least 16 characters of [A-Za-z0-9._~-] (openssl rand -hex 24); see deploy/.env.example" >&2
  exit 1
fi

jaas=/etc/kafka/secrets/soc_jaas.conf
umask 077
# SASL/PLAIN users of the CLIENT listener: user_<name>="<password>". Inter-broker and controller
# traffic stays on listeners bound to localhost inside this container.
cat > "$jaas" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  user_soc="${SOC_KAFKA_PASSWORD}";
};
JAAS
unset SOC_KAFKA_PASSWORD
export KAFKA_OPTS="${KAFKA_OPTS:+$KAFKA_OPTS }-Djava.security.auth.login.config=$jaas"
exec /etc/kafka/docker/run
