"""API token authentication: ``Authorization: Token KEY``, with wrong tokens throttled per address."""
from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject

from .models import ApiToken


def locked_out(request, original_response=None, credentials=None):
    """The page (or JSON) for a sign-in refused while its lock lasts (called by django-axes)."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    if request.path.startswith("/api/"):
        return JsonResponse({"error": f"Too many failed sign-ins. Try again in {minutes} minutes."}, status=429)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _failures_key(request) -> str:
    return f"token-failures:{request.META.get('REMOTE_ADDR', '')}"


class TokenAuthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        request.token_auth = False
        if header.startswith("Token "):
            if (cache.get(_failures_key(request)) or 0) >= settings.TOKEN_FAILURE_LIMIT:
                minutes = max(1, settings.TOKEN_LOCKOUT_SECS // 60)
                response = JsonResponse({"error": "Too many wrong API tokens from your address. Try again in "
                                                  f"{minutes} minutes, with a valid token."}, status=429)
                response["Retry-After"] = str(settings.TOKEN_LOCKOUT_SECS)
                return response
            key = header[6:].strip()
            token = ApiToken.for_key(key) if key else None
            user = token.user if token else None
            request.api_token = token
            if user is None:
                self._count_failure(request)
            else:
                request.user = SimpleLazyObject(lambda: user)
                request.token_auth = True
                # Token requests carry no cookies, so CSRF does not apply to them.
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)

    @staticmethod
    def _count_failure(request) -> None:
        key = _failures_key(request)
        if cache.add(key, 1, settings.TOKEN_LOCKOUT_SECS):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, settings.TOKEN_LOCKOUT_SECS)
