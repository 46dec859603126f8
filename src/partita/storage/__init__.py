"""Storage: the record types, the ``Storage`` interfaces, and the memory and SQL stores."""
