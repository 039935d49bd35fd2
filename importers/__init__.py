"""File importers (pyogrio) and the orchestration of the split command."""
