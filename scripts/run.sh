#!/usr/bin/env bash
# `make run`: the demo portal with web, Celery worker and beat; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . ./.env; set +a
# Demo mode over plain HTTP on loopback: cookies cannot be Secure here.
export DEMO_MODE=true SECURE_COOKIES=false
PORT=${PORT:-8000}
PY=.venv/bin/python

mkdir -p var/log
$PY manage.py collectstatic --noinput -v 0
logins=$($PY manage.py seed_demo)
$PY manage.py seed_demo_rollout >/dev/null
echo "==> loading the bundled advisory data (takes a few seconds the first time)"
$PY manage.py setup_feeds --disabled >/dev/null
$PY manage.py load_demo_advisories >var/log/demo-advisories.log

pids=() fleet=()
cleanup() { trap - EXIT INT TERM; kill "${pids[@]}" "${fleet[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

.venv/bin/celery -A portal worker --loglevel INFO --concurrency 2 >var/log/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A portal beat --loglevel INFO >var/log/beat.log 2>&1 & pids+=($!)
BIND="127.0.0.1:${PORT}" ACCESS_LOG=- .venv/bin/gunicorn portal.wsgi --config portal/gunicorn.conf.py \
  >var/log/web.log 2>&1 & pids+=($!)

for _ in $(seq 1 60); do
  $PY -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "http://127.0.0.1:${PORT}/healthz" 2>/dev/null && break
  sleep 0.5
done

# Sixty simulated machines (Debian 12, Ubuntu 22.04, RHEL 9, Windows 11) enroll over HTTP, report
# their inventories and offered updates, and stay on: they check in every 15 s and run the jobs
# of deployments. Re-running enrolls the same machines again.
echo "==> starting 60 simulated agents for the demo tenants"
rm -f var/demo-fleet-*.ready
for spec in northwind:debian12,windows11,ubuntu2204,rhel9:20 \
  contoso:windows11,debian12,rhel9,windows11,ubuntu2204:20 fabrikam:debian12,rhel9,ubuntu2204,windows11:20; do
  IFS=: read -r tenant mix count <<<"$spec"
  $PY manage.py simulate_fleet --tenant "$tenant" --devices "$count" --mix "$mix" --packages 1200 \
    --server "http://127.0.0.1:${PORT}" --follow --interval 15 --ready-file "var/demo-fleet-${tenant}.ready" \
    --quiet >>var/log/demo-fleet.log 2>&1 & fleet+=($!)
done
for _ in $(seq 1 240); do
  [ "$(find var -maxdepth 1 -name 'demo-fleet-*.ready' | wc -l)" -ge 3 ] && break
  sleep 0.5
done
# Then a day at work: approvals (some still waiting), a deployment through the rings, reports.
echo "==> approving, deploying and filing reports for the demo"
$PY manage.py seed_demo_activity >var/log/demo-activity.log

cat <<BANNER

  Patch Portal is running at  http://127.0.0.1:${PORT}
  Logs: var/log/web.log, var/log/worker.log, var/log/beat.log.  Ctrl-C stops everything.

${logins}

  Staff sign in with a TOTP code: add the secret to an authenticator app,
  or run 'make totp' in another terminal for the current codes.

BANNER
wait -n "${pids[@]}"
echo "a process stopped; see var/log/" >&2
