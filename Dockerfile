FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DATA_DIR=/data STATIC_ROOT=/app/staticfiles
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files with hashed names and gzip/brotli copies, made once in the image (outside the /data
# volume, so a new image brings its own). The key is a throwaway: nothing is signed while collecting.
RUN SECRET_KEY=collectstatic DATA_DIR=/tmp/collect python manage.py collectstatic --noinput \
    && rm -rf /tmp/collect && mkdir -p /data
EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
