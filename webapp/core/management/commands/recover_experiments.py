from django.core.management.base import BaseCommand

from webapp.core.recovery import recover


class Command(BaseCommand):
    help = ("Mark runs whose worker died (no heartbeat for EXPERIMENT_STALE_SECS) failed, keeping their "
            "finished models, and send experiments the queue never received. Workers do this on their own; "
            "run it from cron when no worker may be up.")

    def handle(self, *args, **options):
        done = recover()
        self.stdout.write(f"{done['failed']} lost runs marked failed, {done['sent']} experiments sent to the queue.")
