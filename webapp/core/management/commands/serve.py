"""Collect the static files, then start the web server and a Celery worker (the README's run command)."""
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and a Celery worker; stop both with Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--no-worker", action="store_true", help="start only the web server")

    def handle(self, *args, port, host, no_worker, **options):
        # The pages name static files by their hashed names; the first time, compressing plotly.js
        # takes several seconds, afterwards only changed files are processed.
        self.stdout.write("Preparing the static files (hashed names, compressed copies)…")
        call_command("collectstatic", interactive=False, verbosity=0)
        env = {**os.environ, "DATA_DIR": str(settings.DATA_DIR)}
        procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "webapp.wsgi:application",
                                   "--bind", f"{host}:{port}", "--workers", os.environ.get("WEB_WORKERS", "2"),
                                   "--threads", "4", "--timeout", "120", "--access-logfile", "-"], env=env)]
        if not no_worker:
            procs.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
                                           "--loglevel", "INFO", "--concurrency",
                                           os.environ.get("WORKER_CONCURRENCY", "1")], env=env))
        has_users = get_user_model().objects.exists()
        self.stdout.write(self.style.SUCCESS(f"\nAutoML is running: open http://{host}:{port}/"))
        self.stdout.write("Log in with your account, or create one at "
                          f"http://{host}:{port}/signup/" + ("" if has_users else " (no accounts yet)"))
        self.stdout.write("Data, models and the database are kept in " + str(settings.DATA_DIR))
        self.stdout.write("Press Ctrl-C to stop.\n")

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        self.stderr.write("A process stopped unexpectedly; shutting down.")
        stop()
