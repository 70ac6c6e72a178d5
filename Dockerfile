# The infobutton responder: gunicorn on port 8080 as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    INFOBUTTON_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY infobutton ./infobutton
COPY mappings ./mappings
COPY topics ./topics
RUN pip install '.[postgres,redis]' \
    && useradd --system --uid 10001 --home-dir /data --create-home infobutton

USER infobutton
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
CMD ["infobutton", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
