"""Find in the replica the element a selector matches on the visitor's page, by its node id.

Both ends keep a mirror of node ids (docs/protocol.md, "Nodes"): the tag a node -> id map of
the visitor's page, the workspace's replica an id -> node map (``replica.node(id)``). A step's
selector is resolved where the page's own markup is (the visitor's page: its attributes, its
structure, even those the replica never carries, such as ``data-cobrowse-mask``), each match is
turned into its id through the tag's map, and the replica's node of that id into a structural
selector (``:root > :nth-child(2) > ...``) a Playwright locator in the replica frame can use.

The tag keeps its map private (one global at most, and that one frozen). The DevTools protocol
reads it without changing the page, as `cobrowse_qa.shadow` reads the closed shadow root: the
tag's event listeners on the window are functions of the tag, their closure scopes
(``[[Scopes]]``) hold its variables, and the map is the ``WeakMap`` that gives the document a
number (the tag's first id, the document's). Names are not relied on: the relay serves the
tag minified.

Owns: the visitor side's id lookup (`TagIds`) and the replica side's id -> selector
(`replica_selectors`). Must not: change either page, or call the tag's functions (``idOf``
would give an unknown node a new id).
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# Run on each WeakMap found in the tag's closure: is it the node -> id map? (Only that map
# has the document as a key with a number as its value.)
_IS_ID_MAP = """function () {
  var value = WeakMap.prototype.get.call(this, document);
  return typeof value === 'number' && value > 0;
}"""

# Run on the tag's map: the ids of the top document's elements the selector matches, in
# document order (0 for an element the tag has not given an id); null when the map is not the
# current document's (after a navigation, the old page's map still answers, for nothing).
_IDS_OF = """function (selector) {
  if (typeof WeakMap.prototype.get.call(this, document) !== 'number') return null;
  var found = document.querySelectorAll(selector);
  var ids = [];
  for (var i = 0; i < found.length; i++) {
    var id = WeakMap.prototype.get.call(this, found[i]);
    ids.push(typeof id === 'number' ? id : 0);
  }
  return ids;
}"""

# In the agent's workspace: for each id, a selector of the replica's top document that
# matches that node alone, or null (no session, no such node yet, or a node of a nested
# frame's document or inside a shadow root: no selector path of the top document reaches it).
_REPLICA_SELECTORS = """(ids) => {
  var workspace = window.CobrowseWorkspace;
  var session = workspace && workspace.state && workspace.state.session;
  var replica = session && session.replica;
  var top = replica && replica.frame && replica.frame.contentDocument;
  return ids.map(function (id) {
    var node = top && id ? replica.node(id) : null;
    if (!node || node.nodeType !== 1 || node.getRootNode() !== top) {
      return null;
    }
    var parts = [];
    for (var el = node; el && el !== top.documentElement; el = el.parentElement) {
      var n = 1;
      for (var p = el.previousElementSibling; p; p = p.previousElementSibling) n++;
      parts.unshift(':nth-child(' + n + ')');
    }
    return [':root'].concat(parts).join(' > ');
  });
}"""


class TagIds:
    """The tag's node ids on one visitor page, read through a CDP session of its own."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)

    def ids(self, selector: str) -> list[int] | None:
        """The node ids of the elements ``selector`` matches on the visitor's page (0 for one
        the tag has not captured); None when the tag's map cannot be found (no tag running, or
        one without its listeners yet, or a page whose built-ins the lookup needs are broken)."""
        # Found afresh each time: after a navigation, the old page's map may still answer
        # (its functions now see the new document through the window) with ids of nothing.
        # The lookups run in the page's realm: a page that broke WeakMap.prototype.get or
        # querySelectorAll makes them throw, and the caller falls back to the selector as
        # written (None), as it would without a tag.
        try:
            found = self._find_map()
            result = None if found is None else self._call(found, _IDS_OF, selector)
        except Exception:
            return None
        return None if result is None else [int(i) for i in result]

    def _call(self, object_id: str, function: str, *args: Any) -> Any:
        reply = self.cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": object_id,
                "functionDeclaration": function,
                "arguments": [{"value": a} for a in args],
                "returnByValue": True,
            },
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(str(reply["exceptionDetails"].get("text", "exception")))
        return reply["result"].get("value")

    def _properties(self, object_id: str) -> dict[str, Any]:
        reply: dict[str, Any] = self.cdp.send(
            "Runtime.getProperties", {"objectId": object_id, "ownProperties": True}
        )
        return reply

    def _find_map(self) -> str | None:
        seen: set[str] = set()
        for target in ("window", "document"):
            # An object group: only then does DevTools return the listeners' functions.
            holder = self.cdp.send(
                "Runtime.evaluate", {"expression": target, "objectGroup": "cobrowse-qa"}
            )["result"]
            listeners = self.cdp.send(
                "DOMDebugger.getEventListeners", {"objectId": holder["objectId"]}
            )["listeners"]
            for listener in listeners:
                handler = listener.get("handler") or {}
                if "objectId" not in handler:
                    continue
                found = self._map_in_closure(handler["objectId"], seen)
                if found is not None:
                    return found
        return None

    def _map_in_closure(self, function_id: str, seen: set[str]) -> str | None:
        internal = self._properties(function_id).get("internalProperties", [])
        scopes = next((p["value"] for p in internal if p["name"] == "[[Scopes]]"), None)
        if scopes is None:
            return None
        for scope in self._properties(scopes["objectId"]).get("result", []):
            scope_id = (scope.get("value") or {}).get("objectId")
            if scope_id is None or (scope.get("value") or {}).get("description") == "Global":
                continue  # the page's globals: not the tag's, and thousands of them
            for variable in self._properties(scope_id).get("result", []):
                value = variable.get("value") or {}
                if value.get("className") != "WeakMap" or "objectId" not in value:
                    continue
                description = f"{variable['name']}@{scope.get('name', '')}"
                if description in seen:
                    continue
                seen.add(description)
                if self._call(value["objectId"], _IS_ID_MAP) is True:
                    object_id: str = value["objectId"]
                    return object_id
        return None


def replica_selectors(agent_page: Page, ids: list[int]) -> list[str | None]:
    """For each node id, a selector of the replica's top document matching that node alone
    (``:root > :nth-child(..) > ...``), or None where the replica has no such element now."""
    result: list[str | None] = agent_page.evaluate(_REPLICA_SELECTORS, ids)
    return result
