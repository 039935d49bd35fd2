"""Router: vector tiles (filled in by the layers issue)."""

from fastapi import APIRouter

router = APIRouter()
