#!/bin/sh
# Registers the namespace the api and workers use and the five Keyword search attributes their workflows set,
# the way an operator does it on a Temporal server (which creates no namespace and no attribute by itself), then
# exits 0. Safe to run again: what is there already is left alone. Run by compose's temporal-setup job
# (admin-tools image) and by the production rehearsal (tools/rehearsal).
#
#   TEMPORAL_ADDRESS (temporal:7233), TEMPORAL_NAMESPACE (default)
#   TEMPORAL_NAMESPACE_RETENTION   how long closed workflows stay visible (default 72h)
#   TEMPORAL_CLI                   the temporal CLI (default: temporal, on PATH)
set -eu

ns="${TEMPORAL_NAMESPACE:-default}"
t() { "${TEMPORAL_CLI:-temporal}" "$@" --address "${TEMPORAL_ADDRESS:-temporal:7233}"; }

tries=0
until t operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 150 ]; then
    echo "no Temporal server at ${TEMPORAL_ADDRESS:-temporal:7233} after 5 minutes" >&2
    exit 1
  fi
  echo "waiting for Temporal at ${TEMPORAL_ADDRESS:-temporal:7233}"
  sleep 2
done

if t operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "namespace $ns: already registered"
else
  t operator namespace create --namespace "$ns" --retention "${TEMPORAL_NAMESPACE_RETENTION:-72h}"
  echo "namespace $ns: created"
  # A namespace is visible to every frontend only after their namespace caches refresh (10 s).
  sleep 12
fi

registered() { t operator search-attribute list --namespace "$ns" | grep -qw "$1"; }
created=0
for name in TenantId EventType EventId SubscriptionId DeliveryStatus; do
  if registered "$name"; then
    echo "search attribute $name: already registered"
  elif t operator search-attribute create --namespace "$ns" --name "$name" --type Keyword; then
    echo "search attribute $name: created"
    created=1
  elif registered "$name"; then
    echo "search attribute $name: already exists"
  else
    echo "search attribute $name: could not be created" >&2
    exit 1
  fi
done
if [ "$created" = 1 ]; then
  # Give the servers' namespace caches (10 s refresh) time to see the new attributes before the api and workers
  # start workflows that set them.
  sleep 15
fi
echo "namespace $ns and its search attributes are ready"
