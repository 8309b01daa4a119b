from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Revoke API tokens: all of a user's, or only the one whose key starts with --prefix."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--prefix", default="", help="the first 8 characters of the token")

    def handle(self, *args, username, prefix, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username}.")
        tokens = user.api_tokens.filter(revoked_at__isnull=True)
        if prefix:
            tokens = tokens.filter(prefix=prefix[:8])
        count = tokens.update(revoked_at=timezone.now())
        self.stdout.write(f"Revoked {count} token(s) of {username}.")
