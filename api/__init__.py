"""Wangge HTTP API (FastAPI): OGC API Features, domain endpoints and map pages."""
