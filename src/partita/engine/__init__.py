"""The engine: the run state machine, trigger rules, the task runner and the run driver.

Nothing here knows SQL or HTTP; it talks to storage through ``partita.storage.base``
and to executors through the ``Executor`` protocol in ``engine.work``.
"""
