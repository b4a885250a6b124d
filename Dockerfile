# inbound in a container (docs/running.md, "Docker"). Build it with `make docker`: the wheels of
# inbound-ses and of every dependency are made on the host first (dist/wheels), where pip's own
# configuration reaches the package index, so the build itself needs no network.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 inbound && mkdir /data && chown inbound /data
# EXTRAS: the optional dependencies to install, e.g. "[postgresql]" (make docker passes it)
ARG EXTRAS=""
COPY dist/wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --find-links /tmp/wheels "inbound-ses${EXTRAS}" \
    && rm -rf /tmp/wheels

USER inbound
WORKDIR /home/inbound
# Listen on every interface of the container (the ports are published by `docker run -p`);
# the data dir is a volume. Any other setting: INBOUND_<SECTION>_<KEY> (docs/running.md).
ENV INBOUND_SMTP=0.0.0.0:2525 \
    INBOUND_HTTP=0.0.0.0:4525 \
    INBOUND_SENDING_SMTP=0.0.0.0:2587 \
    INBOUND_DATA=/data \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 2525 4525 2587
# Healthy once the engine is ready: the JSON API answers 503 until then (api/readiness.py).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4525/api/stats', timeout=2)"]
CMD ["inbound", "serve"]
