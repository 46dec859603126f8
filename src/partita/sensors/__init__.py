"""Sensors of outside systems: tasks that wait until a condition holds (HTTP, SQL)."""
