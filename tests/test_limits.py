"""Request limits and security headers that every endpoint shares."""

from __future__ import annotations

import httpx


def test_oversized_body_is_413_before_reaching_any_handler(client) -> None:
    limit = client.app.state.settings.max_body_bytes
    response = client.post("/auth/token", content=b"x" * (limit + 1),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert str(limit) in response.json()["detail"]


def test_streamed_oversized_body_is_413(live_server: str, client, admin_headers) -> None:
    """A chunked body with no Content-Length is cut off at the limit too."""
    limit = client.app.state.settings.max_body_bytes

    def chunks():
        yield b'{"incidents": ['
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536
        yield b"]}"

    response = httpx.post(f"{live_server}/incidents/batch", content=chunks(), timeout=30,
                          headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"


def test_security_headers_on_every_response(client) -> None:
    response = client.get("/openapi.json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_cors_is_closed_by_default(client) -> None:
    response = client.options("/auth/token", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers
