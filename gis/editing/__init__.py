"""Planner editing: edit operations on geometry and SQL, plans, publish/undo, history, checks."""
