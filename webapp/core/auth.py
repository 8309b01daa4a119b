"""API token authentication: ``Authorization: Token KEY``."""
from django.utils.functional import SimpleLazyObject

from .models import ApiToken


class TokenAuthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        request.token_auth = False
        if header.startswith("Token "):
            key = header[6:].strip()
            user = ApiToken.user_for_key(key) if key else None
            if user is not None:
                request.user = SimpleLazyObject(lambda: user)
                request.token_auth = True
                # Token requests carry no cookies, so CSRF does not apply to them.
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)
