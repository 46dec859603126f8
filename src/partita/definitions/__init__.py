"""Definitions: pure data describing DAGs, tasks, task groups, mapping, params and assets.

This layer imports nothing from the engine, storage or executors.
"""
