from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webapp.core.deletion import delete_older_than


class Command(BaseCommand):
    help = ("Delete datasets and finished experiments older than --days (default: the RETENTION_DAYS setting) "
            "with their files: models, kept predictions, uploads. Anything waiting or running is kept. Run it "
            "from cron to apply a retention rule.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument("--user", help="only this user's data")

    def handle(self, *args, days=None, user=None, **options):
        days = days if days is not None else settings.RETENTION_DAYS
        if not days:
            raise CommandError("No retention rule: pass --days N or set RETENTION_DAYS.")
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No user called {user}.")
        datasets, experiments = delete_older_than(days, owner)
        self.stdout.write(f"Deleted {datasets} datasets and {experiments} experiments older than {days} days.")
