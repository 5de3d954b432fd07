#!/bin/sh
# Creates Temporal's two databases on Postgres and migrates their schemas to the server's release, the way an
# operator does it (no auto-setup image). Safe to run again: an existing database is kept, and setup-schema and
# update-schema apply only what is missing. Run by compose's temporal-schema job (admin-tools image) and by the
# production rehearsal (tools/rehearsal), there with the SQL tool built from the same server release.
#
#   POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, POSTGRES_PWD   where Postgres is, and who owns the databases
#   DBNAME (temporal), VISIBILITY_DBNAME (temporal_visibility)
#   TEMPORAL_SQL_TOOL                                       the SQL tool (default: temporal-sql-tool, on PATH)
set -eu

tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
export SQL_PASSWORD="${POSTGRES_PWD}"

sql() {
  "$tool" --plugin postgres12 --endpoint "${POSTGRES_SEEDS}" --port "${DB_PORT:-5432}" --user "${POSTGRES_USER}" "$@"
}

# schema: the name of the schema embedded in the tool (postgresql/v12/temporal, postgresql/v12/visibility).
migrate() {
  db="$1"
  schema="$2"
  if ! created=$(sql --db "$db" create 2>&1); then
    case "$created" in
      *"already exists"*) echo "database $db: already there" ;;
      *) echo "$created" >&2; exit 1 ;;
    esac
  fi
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema --schema-name "$schema"
  echo "database $db: schema $schema up to date"
}

migrate "${DBNAME:-temporal}" postgresql/v12/temporal
migrate "${VISIBILITY_DBNAME:-temporal_visibility}" postgresql/v12/visibility
