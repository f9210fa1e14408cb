# The lab's own images, one target each, all built from the repository root:
#   docker build --network host --target pethistory -t petlab/pethistory:0.1.0 .
# compose.yaml builds each service's image this way (its build: target and args); .dockerignore
# narrows the context to the lab's packages.
#
# Every image: the program's lock (exact versions and hashes: the whole dependency set) in a venv,
# then the lab's own packages from this repository with no further dependencies, run as a fixed
# unprivileged uid/gid that Kubernetes can also enforce (no user database entry needed).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The emulator stage starts from moto's own image (compose passes .env's MOTO_IMAGE).
ARG MOTO_IMAGE=motoserver/moto:5.2.5

FROM ${PYTHON_IMAGE} AS lab-python
# APP: the folder whose requirements.lock to install; PACKAGES: the folders of the lab packages it
# runs (paths: ./labcli, not labcli, which pip would look up on PyPI).
ARG APP
ARG PACKAGES
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
COPY ${APP}/requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv && pip install --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY . /src
RUN cd /src && if [ -n "${PACKAGES}" ]; then pip install --no-deps ${PACKAGES}; fi && rm -rf /src
# The mount point of the fault drills' flag volume (compose's faultflags), owned by the lab's uid:
# a new named volume takes its owner from the image's directory, so the console can write it.
RUN mkdir -p /etc/petlab/flags && chown 10001:10001 /etc/petlab/flags
WORKDIR /app
USER 10001:10001

# The walkthrough's service. Spans leave in batches of at most 64, at least every second (the
# SDK's defaults are 512 and 5 s): smaller batches hold the GIL for less time at once, and a trace
# reaches the backend a second or two after its request.
FROM lab-python AS pethistory
ENV PORT=8080 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=64 OTEL_BSP_SCHEDULE_DELAY=1000
COPY services/pethistory/gunicorn.conf.py /app/
EXPOSE 8080
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py", "pethistory.wsgi:app"]

# The callers, instrumented with no SDK code (petsite/telemetry.py, loadgen/locustfile.py): the
# zero-code instrumentation's settings, in the environment before Python starts, as
# `opentelemetry-instrument` would have them (the global propagator is read from it when
# OpenTelemetry is first imported): X-Ray trace ids, X-Ray and W3C headers, spans over OTLP (sent
# every second), no OTel metrics or logs. HTTP attributes in both semantic conventions
# (`http/dup`): only then do the requests instrumentation's client spans name their host
# (http.host, server.address), which X-Ray and `lab map` name the callee by (else X-Ray names it
# after the span: "GET").
FROM lab-python AS zero-code
ENV OTEL_PYTHON_ID_GENERATOR=xray \
    OTEL_PROPAGATORS=xray,tracecontext,baggage \
    OTEL_SEMCONV_STABILITY_OPT_IN=http/dup \
    OTEL_TRACES_EXPORTER=otlp \
    OTEL_METRICS_EXPORTER=none \
    OTEL_LOGS_EXPORTER=none \
    OTEL_BSP_SCHEDULE_DELAY=1000

# PetSite; its scrapes and health probes are not traced.
FROM zero-code AS petsite-stub
ENV PORT=8000 \
    OTEL_SERVICE_NAME=PetSite \
    OTEL_PYTHON_FLASK_EXCLUDED_URLS=/metrics,/health/status
COPY services/petsite-stub/gunicorn.conf.py /app/
EXPOSE 8000
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py", "petsite.wsgi:app"]

# The workshop's traffic generator (Locust).
FROM zero-code AS loadgen
ENV HOME=/tmp \
    LOCUST_LOCUSTFILE=/app/locustfile.py \
    OTEL_SERVICE_NAME=loadgen
COPY loadgen/locustfile.py /app/
EXPOSE 8089
ENTRYPOINT ["locust"]
# LOCUST_HOST (the target) and the rest come from the environment; `docker compose run loadgen
# --headless -u 5 -r 1 -t 30s` replaces these arguments.
CMD ["--web-port", "8089"]

# The lab console: the page of labcli.console, reading the backends with labcli (stdlib only).
FROM lab-python AS console
ENV PORT=8070
EXPOSE 8070
CMD ["python", "-m", "labcli.console"]

# The AWS emulator of the emulated backend: moto's own image, its server started by labemulator
# (emulator/), which drops the oldest traces and log events so the emulator's memory stays under
# its limit (EMULATOR_MAX_TRACES, EMULATOR_MAX_LOG_EVENTS). moto is already in the image's Python.
FROM ${MOTO_IMAGE} AS emulator
ENV HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY emulator /src/emulator
RUN python3 -m pip install --no-deps /src/emulator && rm -rf /src
USER 10001:10001
EXPOSE 4566
ENTRYPOINT ["python3", "-m", "labemulator"]
