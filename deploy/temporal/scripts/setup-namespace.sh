#!/bin/sh
# Create the NRM Temporal namespace and its custom search attributes.
#
# Runs in temporalio/admin-tools (Alpine, busybox sh, `temporal` CLI) as the
# one-shot compose service `temporal-setup`, after the Temporal server is up.
# Idempotent: re-running it changes nothing except re-applying the retention.
#
# Search attributes are the ONLY place where Temporal indexes values in clear text
# (they are not encrypted by the payload codec). NRM registers exactly these four;
# nothing personal may ever be added here (docs/architecture.md#nothing-personal-in-temporal):
#   NrmStage       Keyword   case stage (screening, identification, ...)
#   NrmSopVersion  Keyword   SOP version the case is pinned to
#   NrmAgencyID    Keyword   owning agency ID
#   NrmChild       Bool      child track
#
# Environment:
#   TEMPORAL_ADDRESS          host:port of the frontend   (default temporal:7233)
#   NRM_TEMPORAL_NAMESPACE    namespace                   (default nrm)
#   NRM_TEMPORAL_RETENTION    retention of closed workflow histories (default 30d)
#   TLS: the CLI reads TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
#        TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME by itself.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${NRM_TEMPORAL_NAMESPACE:-nrm}"
RETENTION="${NRM_TEMPORAL_RETENTION:-30d}"
SEARCH_ATTRIBUTES="NrmStage:Keyword NrmSopVersion:Keyword NrmAgencyID:Keyword NrmChild:Bool"

t() {
  temporal --address "${ADDRESS}" "$@"
}

echo "temporal-setup: waiting for the Temporal frontend at ${ADDRESS}"
i=0
until t operator cluster health >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 90 ]; then
    echo "temporal-setup: Temporal not healthy after 90 attempts" >&2
    t operator cluster health || true
    exit 1
  fi
  sleep 2
done
echo "temporal-setup: Temporal is serving"

# A frontend that just answered its health check may still refuse the first
# writes (its persistence or the namespace registry is warming up, as after a
# restart), so creating or updating the namespace is retried like Temporal's
# own set-up scripts do, not run once.
i=0
until
  if t operator namespace describe --namespace "${NAMESPACE}" >/dev/null 2>&1; then
    echo "temporal-setup: namespace ${NAMESPACE} exists; ensuring retention ${RETENTION}"
    t operator namespace update --namespace "${NAMESPACE}" --retention "${RETENTION}"
  else
    echo "temporal-setup: creating namespace ${NAMESPACE} (retention ${RETENTION})"
    t operator namespace create --namespace "${NAMESPACE}" --retention "${RETENTION}" \
      --description "National referral mechanism: one CaseWorkflow per case, one ReferralWorkflow per referral"
  fi
do
  i=$((i + 1))
  if [ "$i" -ge 30 ]; then
    echo "temporal-setup: could not create or update namespace ${NAMESPACE} after 30 attempts" >&2
    exit 1
  fi
  sleep 2
done

# A new namespace takes a few seconds to reach every frontend's namespace cache.
i=0
until t operator namespace describe --namespace "${NAMESPACE}" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 30 ]; then
    echo "temporal-setup: namespace ${NAMESPACE} not visible after 30 attempts" >&2
    exit 1
  fi
  sleep 2
done

# With SQL visibility, custom search attributes belong to the namespace. Adding an
# attribute that already exists is a no-op on the server, but create only the
# missing ones so the log says what happened.
has_attribute() {
  # $1 name, $2 type; the table printed by `search-attribute list` has one row per
  # attribute with its name and type.
  t operator search-attribute list --namespace "${NAMESPACE}" 2>/dev/null \
    | grep -E "(^|[[:space:]])$1[[:space:]]+$2([[:space:]]|$)" >/dev/null
}

for pair in ${SEARCH_ATTRIBUTES}; do
  name="${pair%%:*}"
  type="${pair#*:}"
  if has_attribute "${name}" "${type}"; then
    echo "temporal-setup: search attribute ${name} (${type}) present"
    continue
  fi
  i=0
  until t operator search-attribute create --namespace "${NAMESPACE}" --name "${name}" --type "${type}"; do
    i=$((i + 1))
    if [ "$i" -ge 15 ]; then
      echo "temporal-setup: could not create search attribute ${name}" >&2
      exit 1
    fi
    sleep 2
  done
  echo "temporal-setup: search attribute ${name} (${type}) created"
done

# Verify: every attribute visible with the right type (the namespace cache may lag).
for pair in ${SEARCH_ATTRIBUTES}; do
  name="${pair%%:*}"
  type="${pair#*:}"
  i=0
  until has_attribute "${name}" "${type}"; do
    i=$((i + 1))
    if [ "$i" -ge 30 ]; then
      echo "temporal-setup: search attribute ${name} is missing or not of type ${type}:" >&2
      t operator search-attribute list --namespace "${NAMESPACE}" >&2 || true
      exit 1
    fi
    sleep 2
  done
done

echo "temporal-setup: namespace ${NAMESPACE} ready"
