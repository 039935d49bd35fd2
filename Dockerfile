# The Wangge API image (production path; see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY gis ./gis
COPY api ./api
COPY tiles ./tiles
COPY importers ./importers
COPY cli ./cli
RUN pip install . && useradd --system --uid 10001 wangge
USER wangge
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 CMD curl -fsS http://127.0.0.1:8000/conformance || exit 1
# Migrate, then serve; the demo is loaded only when asked (WANGGE_LOAD_DEMO=1) on an empty database.
CMD ["sh", "-c", "wangge migrate && if [ \"${WANGGE_LOAD_DEMO:-0}\" = 1 ]; then wangge demo || true; fi && exec uvicorn api.main:app --host 0.0.0.0 --port 8000 --workers ${WANGGE_WORKERS:-2} --proxy-headers"]
