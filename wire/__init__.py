"""The wire: everything the tag, the relay, the renderer and the agent workspace agree on.

Owns: the messages (``wire.protocol``), the compact node form (``wire.nodes`` and its
JavaScript twin ``wire/nodes.js``), the grammar's shared facts and the one namespace rule
(``wire/grammar.json``, ``wire.grammar``), the error codes and close codes (``wire.errors``).
Must not: import anything of ours: every other package stands on this one, never the other
way round.
"""
