"""``python -m relay [--host H] [--port P] [--config FILE]``: the server alone (what tools and
tests start), the same as ``cobrowse serve``."""

import argparse

from relay import serve

parser = argparse.ArgumentParser(prog="python -m relay", description=serve.HELP)
serve.add_arguments(parser)
raise SystemExit(serve.run(parser.parse_args()))
