# One image for the API, the workers and the migration step (the API never imports torch).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY api api
COPY cli cli
COPY shared shared
COPY worker worker
COPY migrations migrations
# The versions CI passed with (README: "Installs come from the lock").
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock \
    && pip install --no-cache-dir --no-deps --no-build-isolation -e .
