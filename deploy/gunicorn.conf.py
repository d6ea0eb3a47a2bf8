"""gunicorn settings for the clinic's web process (`make serve`, the Procfile's `web`
and deploy/clinic-web.service): `gunicorn -c deploy/gunicorn.conf.py clinic.wsgi`.

Read from the environment, like the app's own settings:

- BIND: the address to listen on (e.g. `10.0.0.5:8000` on a web host behind a
  load balancer). Without it, `0.0.0.0:$PORT` when a platform sets PORT, else
  `127.0.0.1:8000` (the proxy on the same host).
- WEB_CONCURRENCY: worker processes; by default 2 per CPU core plus one, at most 8.
- FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-* headers are trusted
  (default `127.0.0.1,::1`, Caddy on the same host). With them, a request that came
  in over HTTPS is seen as secure by Django.
- GUNICORN_TIMEOUT: seconds a request may take before its worker is restarted (30).
"""

from __future__ import annotations

import multiprocessing
import os

_port = os.environ.get("PORT")
bind = os.environ.get("BIND") or (f"0.0.0.0:{_port}" if _port else "127.0.0.1:8000")

workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
# Sync workers: one request at a time per process, each process with its own
# database connection (kept between requests, DATABASE_CONN_MAX_AGE).
worker_class = "sync"

timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM (a deploy, `systemctl stop`) requests in flight get this long to finish.
graceful_timeout = 30
# Behind a proxy that keeps connections open.
keepalive = 5
# Restart each worker now and then so a slow leak never grows; the jitter keeps
# the workers from all restarting at once.
max_requests = 1000
max_requests_jitter = 100

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The app logs every request itself (one JSON line with its request id), so no
# access log here; gunicorn's own messages go to stderr (the journal).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Worker heartbeats in memory rather than on a disk that may stall.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

proc_name = "clinic-web"
# No runtime control socket (gunicorn 25+ makes one in $HOME by default): systemd
# and signals manage the process.
control_socket_disable = True
