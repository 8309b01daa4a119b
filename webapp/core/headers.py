"""Security headers on every page and answer: a Content-Security-Policy the pages pass with no inline
script (plotly.js and the app's scripts are served from here), and no caching of anything private."""
from __future__ import annotations

# Plotly adds <style> elements and style attributes as it draws, hence 'unsafe-inline' for styles
# only; its "download as PNG" makes data: and blob: images.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class SecurityHeadersMiddleware:
    """After authentication: private answers (a signed-in user's pages, the API, downloads) are never
    stored by a browser or a proxy. Static files are answered before this runs and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "no-store"
        return response
