#!/usr/bin/env bash
# Idempotent machine set-up behind `make run` and `make test`.
#   scripts/setup.sh system [run|test|bench]  install missing Debian packages
#   scripts/setup.sh env                      write .env with local secrets if absent
#   scripts/setup.sh services                 start PostgreSQL and Redis if stopped
#   scripts/setup.sh database                 create the roles and the database
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; exit 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

system_packages() {
  local purpose=${1:-run}
  # WeasyPrint needs Pango and HarfBuzz; fonts for the PDFs are bundled in static/.
  local pkgs=(python3-venv python3-dev libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig)
  port_open 127.0.0.1 "${PGPORT:-5432}" || command -v pg_ctlcluster >/dev/null || pkgs+=(postgresql)
  port_open 127.0.0.1 "${REDIS_PORT:-6379}" || command -v redis-server >/dev/null || pkgs+=(redis-server)
  command -v psql >/dev/null || pkgs+=(postgresql-client)
  case "$purpose" in
    test) pkgs+=(chromium poppler-utils python3-rpm redis-server) ;;
    bench) pkgs+=(wrk poppler-utils) ;;
  esac
  apt_install "${pkgs[@]}"
}

write_env() {
  [ -f .env ] && return 0
  log "writing .env with fresh local secrets"
  local secret app_pw owner_pw
  secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
  app_pw=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
  owner_pw=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
  umask 077
  cat > .env <<ENV
# Local configuration written by scripts/setup.sh; see README "Configuration".
SECRET_KEY=${secret}
DATABASE_URL=postgres://patchportal_app:${app_pw}@127.0.0.1:5432/patchportal
MIGRATION_DATABASE_URL=postgres://patchportal_owner:${owner_pw}@127.0.0.1:5432/patchportal
REDIS_URL=redis://127.0.0.1:6379/0
ENV
}

start_services() {
  if ! port_open 127.0.0.1 5432; then
    log "starting PostgreSQL"
    for version in $(ls /etc/postgresql 2>/dev/null); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do port_open 127.0.0.1 5432 && break; sleep 1; done
  fi
  port_open 127.0.0.1 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
  if ! port_open 127.0.0.1 6379; then
    log "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/patchportal.log
    for _ in $(seq 1 30); do port_open 127.0.0.1 6379 && break; sleep 1; done
  fi
  port_open 127.0.0.1 6379 || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
}

# Run SQL as a PostgreSQL superuser: over TCP where trust allows it, else via the postgres OS user.
psql_super() {
  if psql -h 127.0.0.1 -U postgres -d postgres -tAq -c 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -tAq "$@"
  elif [ "$(id -u)" = 0 ]; then
    (cd /tmp && runuser -u postgres -- psql -d postgres -v ON_ERROR_STOP=1 -tAq "$@")
  else
    (cd /tmp && sudo -u postgres psql -d postgres -v ON_ERROR_STOP=1 -tAq "$@")
  fi
}

url_part() { # url_part URL user|password|db
  python3 - "$1" "$2" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print({"user": u.username, "password": urllib.parse.unquote(u.password or ""), "db": u.path.lstrip("/")}[sys.argv[2]])
PY
}

create_database() {
  set -a; . ./.env; set +a
  local app_user app_pw owner_user owner_pw db
  app_user=$(url_part "$DATABASE_URL" user); app_pw=$(url_part "$DATABASE_URL" password)
  owner_user=$(url_part "$MIGRATION_DATABASE_URL" user); owner_pw=$(url_part "$MIGRATION_DATABASE_URL" password)
  db=$(url_part "$DATABASE_URL" db)
  log "database roles ${owner_user} (schema owner) and ${app_user} (app), database ${db}"
  psql_super -v owner="$owner_user" -v owner_pw="$owner_pw" -v app="$app_user" -v app_pw="$app_pw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'owner') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
-- The owner may create the test database; neither role is a superuser or bypasses RLS.
ALTER ROLE :"owner" WITH LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD :'owner_pw';
ALTER ROLE :"app" WITH LOGIN NOCREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD :'app_pw';
SQL
  if [ -z "$(psql_super -c "SELECT 1 FROM pg_database WHERE datname = '${db}'")" ]; then
    psql_super -c "CREATE DATABASE \"${db}\" OWNER \"${owner_user}\""
  fi
  psql_super -d "$db" -c "GRANT CONNECT ON DATABASE \"${db}\" TO \"${app_user}\"; ALTER SCHEMA public OWNER TO \"${owner_user}\";" >/dev/null
}

case "${1:-}" in
  system) system_packages "${2:-run}" ;;
  env) write_env ;;
  services) start_services ;;
  database) create_database ;;
  *) echo "usage: $0 system [run|test|bench] | env | services | database" >&2; exit 2 ;;
esac
