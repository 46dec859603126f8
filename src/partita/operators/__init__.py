"""Operators: Python, Bash, Empty, branching and TaskFlow ``@task``; they use only definitions."""
