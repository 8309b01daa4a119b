from django.core.management.base import BaseCommand

from webapp.core.recovery import recover


class Command(BaseCommand):
    help = ("Mark runs whose worker died (no heartbeat for EXPERIMENT_STALE_SECS) failed, keeping their "
            "finished models, send experiments the queue never received, and start again scoring jobs whose "
            "worker died. Workers do this on their own; "
            "run it from cron when no worker may be up.")

    def handle(self, *args, **options):
        done = recover()
        self.stdout.write(f"{done['failed']} lost runs marked failed, {done['sent']} experiments sent to the queue, "
                          f"{done['jobs_requeued']} scoring jobs started again, {done['jobs_failed']} failed.")
