# One image for the worker and the webhook starters (see docker-compose.yml); built with
# EXTRAS="[mail-sink]" it also runs the local SMTP sink. No Docker engine in this project's
# CI: tests/devstack/test_compose.py checks this file's structure instead of building it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
    && mkdir -p /data/mail \
    && chown -R app:app /data

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
ARG EXTRAS=""
RUN pip install ".${EXTRAS}"

ENV ONBOARDING_DATA_DIR=/data
USER app
CMD ["python", "worker.py"]
