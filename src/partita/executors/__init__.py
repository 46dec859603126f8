"""Executors: where task instances run. Today the in-process executor; process pools and
Celery drive the same engine in later issues.
"""
