# The infobutton responder: gunicorn on port 8080 as a non-root user, behind the reverse proxy of
# docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INFOBUTTON_DATA_DIR=/data

RUN useradd --system --uid 10001 --home-dir /data --create-home infobutton

WORKDIR /app
# Dependencies first, from pyproject.toml alone, in their own layer: a change to the code (or the
# README, mappings, topics) rebuilds only the layers below, never this install. The list is read
# from pyproject.toml (the package itself cannot be installed without its code): the runtime
# dependencies, the postgres and redis extras, and the build backend.
COPY pyproject.toml ./
RUN python -c "import tomllib; t = tomllib.load(open('pyproject.toml', 'rb')); p = t['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres'] \
+ p['optional-dependencies']['redis'] + t['build-system']['requires']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code, then the package itself: no dependency is resolved again (--no-deps), and the build
# backend installed above is used as it is (--no-build-isolation).
COPY README.md LICENSE ./
COPY mappings ./mappings
COPY topics ./topics
COPY infobutton ./infobutton
RUN pip install --no-deps --no-build-isolation .

USER infobutton
VOLUME ["/data"]
EXPOSE 8080
# /readyz: the database answers and the schema is current, so an instance whose database is
# gone is reported unhealthy (/healthz only says the process answers).
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status != 200)"
# 0.0.0.0 inside the container only: the proxy reaches the instance over the compose network, and
# no port of this container is published. Never publish 8080 to clients directly: gunicorn
# faces slow clients badly (docs/deployment.md); `infobutton serve` alone binds to 127.0.0.1.
CMD ["infobutton", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
