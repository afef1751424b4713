"""`cobrowse check`: run a real co-browse session on a brand's pages and report what works.

Modules: ``runner`` (the relay, browsers and sessions), ``bridge`` (the visitor's socket),
``rules`` (thresholds and patterns), ``model`` (the report), ``output`` (text and HTML),
``probe.js`` (what is read from the visitor's page). See docs/compatibility.md.
"""
