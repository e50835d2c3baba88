#!/bin/sh
# Create or upgrade Temporal's PostgreSQL schemas (persistence + visibility).
#
# Runs in temporalio/admin-tools (Alpine, busybox sh) as the one-shot compose
# service `temporal-schema`, before the Temporal server starts. It replaces what the
# deprecated temporalio/auto-setup image used to do at start-up.
#
# Idempotent: `setup-schema -v 0.0` only creates the schema_version table and is
# skipped when the database is already past 0.0; `update-schema` applies only the
# versions newer than the recorded one. Re-running it is how a Temporal upgrade
# gets its schema changes (use the admin-tools tag of the new server version).
#
# The databases themselves are created by deploy/postgres/init.sql (owner: temporal).
#
# Environment:
#   SQL_HOST, SQL_PORT, SQL_USER   connection (read by temporal-sql-tool itself)
#   SQL_PASSWORD                   password   (read by temporal-sql-tool itself)
#   SQL_PLUGIN                     postgres12 (read by temporal-sql-tool itself)
#   TEMPORAL_DBNAME                default: temporal
#   TEMPORAL_VISIBILITY_DBNAME     default: temporal_visibility
#   TEMPORAL_SCHEMA_ROOT           default: /etc/temporal/schema/postgresql/v12 (the
#                                  admin-tools image's; the faults harness, test/faults,
#                                  points it at the pinned server module's schema/)
set -eu

: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
: "${SQL_PLUGIN:=postgres12}"
export SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD SQL_PLUGIN

DBNAME="${TEMPORAL_DBNAME:-temporal}"
VISIBILITY_DBNAME="${TEMPORAL_VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

echo "temporal-schema: waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}"
i=0
until nc -z -w 3 "${SQL_HOST}" "${SQL_PORT}"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "temporal-schema: PostgreSQL not reachable after 60 attempts" >&2
    exit 1
  fi
  sleep 2
done

migrate() {
  db="$1"
  dir="$2"
  echo "temporal-schema: ${db}: setup-schema (no-op when already initialised)"
  temporal-sql-tool --db "${db}" setup-schema -v 0.0
  echo "temporal-schema: ${db}: update-schema from ${dir}"
  temporal-sql-tool --db "${db}" update-schema -d "${dir}"
}

migrate "${DBNAME}" "${SCHEMA_ROOT}/temporal/versioned"
migrate "${VISIBILITY_DBNAME}" "${SCHEMA_ROOT}/visibility/versioned"

echo "temporal-schema: done"
