"""QA harness for cobrowse: a pytest plugin, scenario files and visual fidelity.

Modules: `fidelity` (compare two screenshots), `shadow` (the tag's closed-shadow UI),
`driver` (relay, visitor, agent, session), `mirror` (a visitor's element found in the
replica by node id), `plugin` (pytest fixtures), `scenario`
(YAML scenarios: load, validate, run), `report` (JUnit XML and HTML).
"""
