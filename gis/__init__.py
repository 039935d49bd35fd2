"""Wangge domain core: settings, database, model, geometry and the split engine (no HTTP here)."""
