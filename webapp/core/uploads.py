"""Uploads are counted while they stream in and stopped as soon as they pass MAX_UPLOAD_MB.

Django calls the handler for every chunk of every file in a multipart body. Past the limit it
stops the upload (the rest of the body is read and thrown away, nothing more is kept) and leaves
a message on the request that the views return as a 413.
"""
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return (f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit. Upload a smaller file "
            "(for example a sample of the rows, or only the columns you need).")


def upload_error(request) -> str:
    """The message left by the handler when it stopped an upload, or ''."""
    return getattr(request, "upload_error", "")


class LimitedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: passes chunks on, counting, and stops past the limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.total = 0

    def receive_data_chunk(self, raw_data, start):
        self.total += len(raw_data)
        if self.total > max_upload_bytes():
            if self.request is not None:
                self.request.upload_error = too_large_message()
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


MULTIPART_SLACK = 64 * 1024  # form fields and part headers around the file in a multipart body


class DeclaredSizeLimitMiddleware:
    """Refuse a request whose declared size (Content-Length) is over the upload limit before any of
    its body is read: a 200 MB upload then costs nothing. Bodies without a declared size are still
    counted as they stream in (LimitedUploadHandler)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > max_upload_bytes() + MULTIPART_SLACK:
            message = too_large_message()
            if request.path.startswith("/api/"):
                response = JsonResponse({"error": message}, status=413)
            else:
                response = HttpResponse(render_to_string("error.html", {"status": 413, "message": message}),
                                        status=413)
            response["Connection"] = "close"  # the unread body must not be taken for the next request
            return response
        return self.get_response(request)
