# One image for the API, the workers and the migration step (the API never imports torch).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api api
COPY cli cli
COPY shared shared
COPY worker worker
COPY migrations migrations
RUN pip install --no-cache-dir -e '.[worker]'
