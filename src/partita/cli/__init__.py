"""The ``partita`` command line: thin commands that parse, call one function and print.

``partita.cli.main`` holds the Click group and the error handling; each
other module holds one command group.
"""
