"""Compatibility layers that let code written for other orchestrators run on partita.

Nothing here is imported by ``import partita``: each layer is installed on
demand (``partita.compat.airflow`` by the DAG-file loader, only for files whose
source mentions ``airflow``).
"""
