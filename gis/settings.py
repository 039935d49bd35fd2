"""Configuration read from the environment (and an optional .env file) with pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All knobs of a deployment. Every field can be set as WANGGE_<NAME> (DATABASE_URL as is)."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "WANGGE_DATABASE_URL"),
        description="PostgreSQL/PostGIS URL; unset means the project's own local PostGIS.",
    )
    local_dir: Path = Field(PROJECT_ROOT / ".local", description="git-ignored state folder")
    pg_port: int = Field(25329, description="port of the local PostGIS cluster (below Linux's "
                         "ephemeral range, so no outgoing connection can hold it)")
    pg_os_user: str | None = Field(None, description="non-root OS user owning the local cluster")
    db_name: str = "wangge"
    citus_source: Path = Field(PROJECT_ROOT / "vendor" / "citus" / "citus-13.2.2.tar.gz",
                               description="Citus source tarball built by `wangge db up --citus`")
    citus_port: int | None = Field(None, description="port of the local Citus coordinator "
                                   "(default WANGGE_PG_PORT + 100; worker i listens on it + i)")
    citus_workers: int = Field(2, description="workers of the local Citus cluster")
    db_pool_size: int = 10
    statement_timeout_ms: int = 15000
    pool_timeout_s: float = Field(2.0, description="wait for a connection before answering 503 "
                                  "(an outage is answered within it)")

    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = Field(None, description="token signing key (generated locally)")
    token_minutes: int = 480
    timezone: str = Field("Asia/Shanghai", description="the district's time zone: assignment "
                          "dates start and end at its midnight")
    cors_origins: list[str] = Field(default_factory=list)
    allow_unassigned_incidents: bool = False
    categories_file: Path | None = None
    rating_link_days: int = Field(14, description="days a resident's rating link stays valid")
    escalation_interval_s: float = Field(60.0, description="escalation of overdue cases runs "
                                         "on incident reads at most this often per process")
    escalation_wait_s: float = Field(0.5, ge=0, description="a read waits at most this long "
                                     "for an escalation run it started; a longer run goes on "
                                     "in the background")
    basemap_url: str | None = Field(None, description="optional XYZ basemap template for map pages")
    telemetry: bool = Field(False, description="FastAPI's OpenTelemetry spans, metrics and logs "
                            "(needs a configured OpenTelemetry provider; off saves a check per "
                            "request)")

    max_body_bytes: int = Field(2 * 1024 * 1024, description="largest accepted request body")
    max_vertices: int = Field(100_000, description="most vertices in one submitted geometry")
    max_batch: int = Field(1000, description="most incidents in one batch")
    max_patrol_points: int = Field(5000, description="most patrol points in one batch")
    max_photo_bytes: int = Field(1536 * 1024, description="largest incident photo (413 above)")
    max_bbox_km2: float = Field(
        150.0, description="largest bbox (km²) for feature pages of the detail collections "
        "(micro-grids, buildings, incidents, patrol points); 0 turns the check off")
    max_export_tiles: int = Field(20_000, description="most tiles in one MBTiles download")
    max_export_bytes: int = Field(200 * 1024 * 1024,
                                  description="largest MBTiles download (compressed tile bytes)")

    micro_grid_min: int = 30
    micro_grid_max: int = 50
    grid_min: int = 300
    grid_max: int = 500
    m2_per_household: float = Field(90.0, description="floor area per household for OSM estimates")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             "Asia/Shanghai)") from None
        return value

    @property
    def pg_dir(self) -> Path:
        """Folder of the local cluster's data directory, socket and logs."""
        return self.local_dir / "pg"

    @property
    def citus_coordinator_port(self) -> int:
        """Port of the local Citus coordinator; worker i (1..n) listens on this + i."""
        return self.citus_port or self.pg_port + 100


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own Settings)."""
    return Settings()
