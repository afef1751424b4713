"""``python -m tag_js``: print the joined, unminified tag (the relay serves it minified)."""

from __future__ import annotations

import sys

from tag_js import joined_tag

sys.stdout.write(joined_tag())
