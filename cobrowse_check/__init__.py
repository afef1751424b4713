"""`cobrowse check`: run a real co-browse session on a brand's pages and report what works.

Modules: ``runner`` (the run: the checker's relay, the browser, the queue of pages),
``session`` (one page: the visitor, the co-browse session, the figures), ``agent`` (the agent's
workspace), ``bridge`` (the visitor's socket), ``probe`` with ``probe.js`` (what is read from
the visitor's page), ``resources`` (sub-resources replayed without cookies), ``nodes`` (the
page as the tag streamed it), ``findings`` (one function per prerequisite), ``rules``
(thresholds and patterns), ``model`` (the report), ``options`` (what a run is asked to do),
``output`` (text and HTML). See docs/compatibility.md.
"""
