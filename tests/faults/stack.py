"""The portal as production runs it, on the throwaway servers: gunicorn, a Celery worker, agents.

`Stack` owns one test's processes: the web server (gunicorn with the production config,
one process), the worker (tests.fixtures.worker_process, killable), the driver that does
the technician's part (tests.faults.driver) and the simulated agents
(tests.deployments.e2e_helpers.SimAgent). Each test gets its own database, copied from a
migrated template, and an empty Redis. Assertions read the database directly with psycopg,
as the schema owner (row-level security does not apply to it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import requests
from psycopg.rows import dict_row

from tests.deployments.e2e_helpers import SimAgent
from tests.faults.services import Postgres, Redis, free_port, wait_until
from tests.fixtures.worker_process import WorkerProcess

__all__ = ["APP", "OWNER", "VERIFIED_BADGE", "Stack", "migrate_template"]

ROOT = Path(__file__).resolve().parents[2]
OWNER = ("patchportal_owner", "owner-secret")
APP = ("patchportal_app", "app-secret")
TEMPLATE = "portal_template"
# How the deployment page shows one verified job.
VERIFIED_BADGE = '<span class="badge verified">Verified</span>'


def base_env(postgres: Postgres, redis: Redis, database: str, tmp: Path, **overrides: str) -> dict[str, str]:
    """The environment of every portal process: production settings, the throwaway servers."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DOTENV_PATH": "",
        "SECRET_KEY": "fault-tests-secret-key-not-for-production",
        "DATABASE_URL": postgres.url(*APP, database),
        "MIGRATION_DATABASE_URL": postgres.url(*OWNER, database),
        "REDIS_URL": redis.url(0),
        "CELERY_BROKER_URL": redis.url(0),
        "CELERY_RESULT_BACKEND": redis.url(0),
        "SECURE_COOKIES": "false",
        "SCRIPT_SIGNING_KEY_FILE": str(tmp / "script-signing-key.pem"),
        "MEDIA_ROOT": str(tmp / "media"),
        # Messages a killed worker held come back after this long (production: an hour).
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "LOG_LEVEL": "INFO",
        "NVD_REQUEST_DELAY": "0",
        # While PostgreSQL is down a request fails after this long (production: 20 s).
        "DB_POOL_TIMEOUT": "5",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(f"TEST_{name}", None)
    env.update(overrides)
    return env


def migrate_template(postgres: Postgres, redis: Redis, tmp: Path) -> None:
    """Roles as scripts/setup.sh creates them, and a database migrated by the schema owner."""
    (owner, owner_pw), (app, app_pw) = OWNER, APP
    postgres.execute(f"CREATE ROLE {owner} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD '{owner_pw}'")
    postgres.execute(f"CREATE ROLE {app} LOGIN NOCREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD '{app_pw}'")
    postgres.execute(f"CREATE DATABASE {TEMPLATE} OWNER {owner}")
    postgres.execute(f"ALTER SCHEMA public OWNER TO {owner}", database=TEMPLATE)
    env = base_env(postgres, redis, TEMPLATE, tmp, DB_POOL_SIZE="0")
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"migrating the throwaway database failed:\n{done.stdout}\n{done.stderr}"


class Driver:
    """tests.faults.driver in one long-lived process."""

    def __init__(self, env: dict[str, str], log: Path):
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.driver"],
            cwd=ROOT,
            env={**env, "DB_POOL_SIZE": "0", "DB_CONN_MAX_AGE": "0"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def wait_ready(self) -> None:
        assert self._answer() == "ready"

    def _answer(self):
        for line in self.process.stdout:
            if line.startswith("@@ "):
                answer = json.loads(line[3:])
                assert "error" not in answer, answer["error"]
                return answer["result"]
        raise AssertionError(f"the driver exited ({self.process.wait()}); see {self._log.name}")

    def __call__(self, name: str, **args):
        self.process.stdin.write(json.dumps({"command": name, "args": args}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Web:
    """gunicorn with the production config (portal/gunicorn.conf.py): one process, threads."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_dir / "web.log", "wb")  # noqa: SIM115 - closed in stop()
        self.log_path = log_dir / "web.log"
        env = {**env, "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "1", "WEB_THREADS": "8"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "--config", "portal/gunicorn.conf.py"],
            cwd=ROOT,
            env={**env, "ACCESS_LOG": "-"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        wait_until(self._answers, timeout=120, what=f"gunicorn to answer (see {self.log_path})")

    def _answers(self) -> bool:
        assert self.process.poll() is None, f"gunicorn exited; see {self.log_path}:\n{self.log()}"
        try:
            requests.get(self.url + "/healthz", timeout=30)
        except requests.RequestException:  # not listening yet, or still loading the app
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Stack:
    def __init__(self, postgres: Postgres, redis: Redis, database: str, tmp: Path, **settings: str):
        self.postgres, self.redis, self.database, self.tmp = postgres, redis, database, tmp
        self.env = base_env(postgres, redis, database, tmp, **settings)
        self.processes: list = []
        self.agents: dict[str, SimAgent] = {}
        self._celery = None
        self._paused = False
        self.strays: list[subprocess.Popen] = []

    # --- processes ----------------------------------------------------------------------------

    def start(self) -> Stack:
        self.worker = WorkerProcess(self.env, self.tmp)
        self.processes.append(self.worker)
        self.worker.start()
        self.web = Web(self.env, self.tmp)
        self.processes.append(self.web)
        self.driver = Driver(self.env, self.tmp / "driver.log")
        self.processes.append(self.driver)
        self.web.wait_ready()
        self.driver.wait_ready()
        return self

    def stop(self) -> None:
        if self._paused:
            self.resume_worker()
        for stray in self.strays:
            if stray.poll() is None:
                stray.kill()
                stray.wait()
        for process in reversed(self.processes):
            process.stop()
        if self._celery is not None:
            self._celery.close()

    def logs(self) -> str:
        """Everything the portal's processes wrote, for a failing assertion's message."""
        parts = [
            f"--- {path.name}\n{path.read_text(errors='replace')[-20_000:]}" for path in sorted(self.tmp.glob("*.log"))
        ]
        parts += [f"--- agent {name}\n{agent.log()[-5_000:]}" for name, agent in self.agents.items()]
        return "\n".join(parts)

    # --- the broker, as beat would use it -------------------------------------------------------

    @property
    def celery(self):
        if self._celery is None:
            from celery import Celery

            self._celery = Celery("faults", broker=self.env["CELERY_BROKER_URL"], backend=self.env["REDIS_URL"])
        return self._celery

    def tick(self, now: dt.datetime | None = None, timeout: float = 60) -> dict:
        """`deployments.tasks.tick` through the broker on the real worker (what beat sends each minute)."""
        kwargs = {"now": now.isoformat()} if now else {}
        result = self.celery.send_task("deployments.tasks.tick", kwargs=kwargs, ignore_result=False)
        return result.get(timeout=timeout)

    def queued_messages(self) -> int:
        return self.redis.client().llen("celery")

    def queued_tasks(self) -> list[str]:
        """The names of the tasks waiting in the broker's queue."""
        return [json.loads(raw)["headers"]["task"] for raw in self.redis.client().lrange("celery", 0, -1)]

    def pause_worker(self) -> None:
        """SIGSTOP: the worker takes nothing more from the broker (its pending pop times out first)."""
        os.kill(self.worker.process.pid, signal.SIGSTOP)
        self._paused = True
        wait_until(
            lambda: self.redis.client().info("clients")["blocked_clients"] == 0,
            timeout=30,
            what="the paused worker's blocking pop to end",
        )

    def resume_worker(self) -> None:
        os.kill(self.worker.process.pid, signal.SIGCONT)
        self._paused = False

    # --- agents ----------------------------------------------------------------------------------

    def enroll(self, token: str, *names: str) -> list[SimAgent]:
        agents = [SimAgent(self.tmp / "agents" / name) for name in names]
        self.agents.update({agent.directory.name: agent for agent in agents})
        enrolling = [(agent, agent.start("enroll", "--server", self.web.url, "--token", token)) for agent in agents]
        for agent, process in enrolling:
            agent.finish(process)
        self.run_agents(agents)  # first check-in: the inventories, which the worker matches
        return agents

    def fleet(self, *names: str) -> tuple[list[SimAgent], int]:
        """A tenant, these agents enrolled (their findings matched by the worker), the patch approved."""
        seed = self.driver("seed")
        agents = self.enroll(seed["token"], *names)
        wait_until(
            lambda: self.open_findings(agents) == len(agents),
            timeout=90,
            what="the worker to match the uploaded inventories",
        )
        return agents, self.driver("approve", machine_id=agents[0].machine_id)

    def start_hanging(self, agent: SimAgent) -> subprocess.Popen:
        """The real agent, once, on a machine where every install hangs (it claims, starts, never ends)."""
        code = (
            "import sys, time\n"
            "from agent.backends.simulated import SimulatedBackend\n"
            "SimulatedBackend.install = lambda self, packages, dry_run: time.sleep(3600)\n"
            "from agent.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", code, "--config", str(agent.config), "once"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.strays.append(process)
        return process

    def run_agents(self, agents) -> None:
        processes = [(agent, agent.start("once")) for agent in agents]
        for agent, process in processes:
            agent.finish(process)

    # --- the database, read directly --------------------------------------------------------------

    def connect(self, autocommit: bool = True) -> psycopg.Connection:
        """A connection of the schema owner to this test's database."""
        url = self.postgres.url(*OWNER, self.database)
        return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, connect_timeout=5)

    def sql(self, query: str, params=None) -> list[dict]:
        with self.connect() as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def value(self, query: str, params=None):
        rows = self.sql(query, params)
        return next(iter(rows[0].values())) if rows else None

    def device_id(self, agent: SimAgent) -> int:
        return self.value("SELECT id FROM devices_device WHERE machine_id = %s", [agent.machine_id])

    def jobs(self, deployment: int) -> list[dict]:
        return self.sql("SELECT * FROM deployments_job WHERE deployment_id = %s ORDER BY id", [deployment])

    def job(self, job: int) -> dict:
        return self.sql("SELECT * FROM deployments_job WHERE id = %s", [job])[0]

    def waiting_on_locks(self) -> int:
        """Sessions of this database waiting for a lock another one holds (only a superuser sees them)."""
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        return self.postgres.execute(query, [self.database])[0][0]

    def events(self, job: int) -> list[dict]:
        return self.sql("SELECT state, message, at FROM deployments_jobevent WHERE job_id = %s ORDER BY id", [job])

    def story(self, job: int) -> list[str]:
        """The states the job's log went through, each once however many lines it wrote in it."""
        states = [event["state"] for event in self.events(job)]
        return [state for i, state in enumerate(states) if i == 0 or state != states[i - 1]]

    def log_of(self, job: int) -> str:
        return "\n".join(f"{e['at']:%H:%M:%S.%f} {e['state']}: {e['message']}" for e in self.events(job))

    def deployment_state(self, deployment: int) -> str:
        return self.value("SELECT state FROM deployments_deployment WHERE id = %s", [deployment])

    def open_findings(self, agents) -> int:
        ids = [self.device_id(a) for a in agents]
        return self.value(
            "SELECT count(*) FROM patches_finding WHERE device_id = ANY(%s) AND state = 'open' "
            "AND package_name = 'openssl'",
            [ids],
        )

    # --- the portal's pages -----------------------------------------------------------------------

    def page(self, path: str) -> str:
        """A page of the portal (path below the tenant's /t/<slug>/), as a signed-in MSP admin sees it."""
        cookie = self.driver("session")
        response = requests.get(f"{self.web.url}/t/faulty/{path}", cookies={"sessionid": cookie}, timeout=30)
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
        return response.text
