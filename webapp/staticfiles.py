"""Static files as the pages get them: hashed names (cached for a year), gzip and brotli copies.

`manage.py collectstatic` (run by `manage.py serve`, the Docker image and the test suite) writes
them to STATIC_ROOT; WhiteNoise serves them from there.
"""
from __future__ import annotations

from django.contrib.staticfiles.apps import StaticFilesConfig as BaseStaticFilesConfig
from whitenoise.compress import brotli_installed
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesConfig(BaseStaticFilesConfig):
    # The plotly package's data folder (see STATICFILES_DIRS) holds more than plotly.min.js: its
    # widget bundle, sample data sets and templates are not for the browser.
    ignore_patterns = [*BaseStaticFilesConfig.ignore_patterns, "widgetbundle.js", "datasets", "templates"]


class HashedCompressedStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage that compresses each hashed file once.

    A hashed name stands for one content, so copies already made by an earlier collectstatic are
    kept: restarting the app does not spend seconds compressing plotly.js again.
    """

    suffixes = (".gz", ".br") if brotli_installed else (".gz",)

    def compress_files(self, paths):
        hashed = set(self.hashed_files.values())
        fresh = [p for p in paths if p not in hashed or not all(self.exists(p + s) for s in self.suffixes)]
        return super().compress_files(fresh)
