"""Production web server settings (gunicorn), used by `make run` and `make bench`.

Threaded workers: an agent request spends part of its time waiting on Redis or
PostgreSQL, and threads let another request use the CPU meanwhile. Thousands of agents keep
connections open, and a connection waits for a free thread, so threads are plentiful
(measured in bench/RESULTS.md: fewer threads per process lengthen the latency tail).
Override with WEB_CONCURRENCY (processes), WEB_THREADS and BIND.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", 32))
backlog = 2048
keepalive = 5
timeout = 60
graceful_timeout = 30
# Worker recycling is off by default: a restart drops its keep-alive connections and stalls
# the agents on them. Set MAX_REQUESTS to bound a suspected leak.
max_requests = int(os.environ.get("MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")

# Load the application once in the master, then freeze what it allocated: workers share those
# pages copy-on-write and the cyclic garbage collector no longer walks them on every pass,
# which otherwise shows as occasional pauses of tens of milliseconds under load.
preload_app = True


def pre_fork(server, worker):
    import gc

    gc.freeze()


def post_fork(server, worker):
    import gc

    # Fewer young-generation collections: request handling allocates and frees quickly.
    gc.set_threshold(20_000, 20, 20)
