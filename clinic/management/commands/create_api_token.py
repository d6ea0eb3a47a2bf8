"""manage.py create_api_token USERNAME [--name NAME]: a token for the JSON API,
printed once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clinic.models import ApiToken
from clinic.tokens import issue_token

NAME_LENGTH: int = ApiToken._meta.get_field("name").max_length or 100


class Command(BaseCommand):
    help = "Make an API token for a user and print it (it is not stored in clear)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Made with create_api_token")

    def handle(self, *args, username: str, name: str, **options) -> None:
        name = name.strip()
        if not name or len(name) > NAME_LENGTH:
            raise CommandError(f"--name takes 1 to {NAME_LENGTH} characters.")
        User = get_user_model()
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user {username!r}.") from None
        _, token = issue_token(user=user, name=name)
        self.stdout.write(token)
