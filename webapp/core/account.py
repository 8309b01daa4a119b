"""Account pages: API tokens (create, see, revoke). Sign-up, log-in and log-out are in views/urls."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .access import get_token_for_user


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    new_key = None
    if request.method == "POST":
        days = request.POST.get("expires_in_days", "")
        try:
            _, new_key = services.issue_token(request.user, int(days) if days.strip() else None,
                                              request.POST.get("can_create_tokens") == "on")
        except (ValueError, services.InputError):
            messages.error(request, f"Expiry: a whole number of days from 1 to {services.MAX_TOKEN_DAYS}, or empty "
                                    "for a token that lasts until revoked.")
            return redirect("tokens")
    context = {"tokens": request.user.api_tokens.order_by("-created_at"), "new_key": new_key}
    return render(request, "tokens.html", context, status=201 if new_key else 200)


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_token_for_user(request.user, pk)
    services.revoke_token(token)
    messages.info(request, f"Token {token.prefix}… is revoked: requests that send it now get 401.")
    return redirect("tokens")
