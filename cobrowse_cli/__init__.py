"""The ``cobrowse`` command line: one table of commands, each imported only when it runs.

Sits above everything it starts (the relay, the renderer, the compatibility check, the QA
harness); nothing imports it back.
"""
