#!/usr/bin/env bash
# One-shot (compose service es-setup): creates the role and user the pipeline connects as, so the
# services never hold the superuser password. Idempotent: PUT/POST overwrite on every run.
# Role soc_alerts: index templates and ILM policies for the alert layout, and full control of the
# soc-alerts* indices only (ILM runs rollover/delete with the privileges of the policy's author).
set -euo pipefail

ES=${ELASTICSEARCH_URL:-http://elasticsearch:9200}
INDEX=${ELASTICSEARCH_INDEX:-soc-alerts}

check_password() { # name value
  if [[ ! $2 =~ ^[A-Za-z0-9._~-]{16,}$ || $2 == REPLACE* ]]; then
    echo "es-setup: $1 must be at least 16 characters of [A-Za-z0-9._~-] (openssl rand -hex 24); see deploy/.env.example" >&2
    exit 1
  fi
}
check_password ELASTIC_PASSWORD "${ELASTIC_PASSWORD:-}"
check_password ELASTICSEARCH_SOC_PASSWORD "${ELASTICSEARCH_SOC_PASSWORD:-}"

# The superuser's credentials go through a netrc file, never the command line (ps shows arguments).
netrc=$(mktemp)
trap 'rm -f "$netrc"' EXIT
printf 'machine %s login elastic password %s\n' "$(sed -E 's#^https?://([^:/]+).*#\1#' <<<"$ES")" "$ELASTIC_PASSWORD" > "$netrc"

api() { # method path body
  local out code
  out=$(curl --silent --show-error --netrc-file "$netrc" -X "$1" "$ES$2" -H 'Content-Type: application/json' -d "$3" -w '\n%{http_code}')
  code=${out##*$'\n'}
  if [[ $code != 2* ]]; then
    echo "es-setup: $1 $2 answered $code: ${out%$'\n'*}" >&2
    exit 1
  fi
}

api PUT "/_security/role/soc_alerts" "{
  \"cluster\": [\"monitor\", \"manage_index_templates\", \"manage_ilm\"],
  \"indices\": [{ \"names\": [\"${INDEX}*\"], \"privileges\": [\"create_index\", \"manage\", \"read\", \"write\", \"view_index_metadata\", \"manage_ilm\"] }]
}"
api PUT "/_security/user/soc" "{
  \"password\": \"${ELASTICSEARCH_SOC_PASSWORD}\",
  \"roles\": [\"soc_alerts\"],
  \"full_name\": \"cyber shield ingest pipeline\"
}"
echo "es-setup: role soc_alerts and user soc are in place"
