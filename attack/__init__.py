"""The adversarial suite of issue 19: hostile clients against one relay on loopback, with an
innocent agent and visitor measured meanwhile. ``python -m attack`` (``scripts/attack``) runs it
and writes its figures to ``docs/security.md``; ``tests/adversarial`` judges a quick run."""
