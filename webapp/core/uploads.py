"""Uploads are counted while they stream in and stopped as soon as they pass MAX_UPLOAD_MB.

Django calls the handler for every chunk of every file in a multipart body. Past the limit it
stops the upload (the rest of the body is read and thrown away, nothing more is kept) and leaves
a message on the request that the views return as a 413.
"""
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


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
