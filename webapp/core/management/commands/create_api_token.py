from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from webapp.core.models import ApiToken


class Command(BaseCommand):
    help = "Create the user if needed and print a new API token for it (the token is the last line)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
            self.stdout.write(f"Created user {username} (set a password with: manage.py changepassword {username})")
        _, key = ApiToken.issue(user)
        self.stdout.write("Send it as the header 'Authorization: Token <token>'. Token:")
        self.stdout.write(key)
