"""The running settings: what the relay started with, its agents and brands re-read from the
settings file when it changes.

Owns: which settings are taken without a restart (agents and brands: accounts, allowed origins,
mask selectors), noticing that the file changed, and the core's view of them (``core_rules``).
Must not: change the core (the caller hands ``core_rules`` to ``RelayCore.update_accounts`` and
applies the effects), or keep anything but settings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from relay.core import AgentAccount, BrandRules
from relay.settings import AgentLogin, Settings, SettingsError, load_settings

log = logging.getLogger("cobrowse.relay")


def core_rules(settings: Settings) -> tuple[list[AgentAccount], list[BrandRules]]:
    """The agents and brands as the core knows them: no password hashes, no names of brands."""
    return (
        [AgentAccount(a.id, a.name, frozenset(a.brands)) for a in settings.agents],
        [BrandRules(b.id, b.mask_selectors, b.allowed_origins) for b in settings.brands],
    )


class LiveSettings:
    """Read ``current`` each time (it is replaced on a reload); never keep a copy of it."""

    def __init__(self, settings: Settings, path: str | Path | None = None) -> None:
        self.current = settings
        self.path = Path(path) if path is not None else None
        self._logins = {a.id: a for a in settings.agents}
        self._seen = self._signature()

    def login(self, agent_id: str) -> AgentLogin | None:
        """The agent's sign-in, or None once the settings file no longer has the account."""
        return self._logins.get(agent_id)

    def file_changed(self) -> bool:
        """Whether the file changed since the last call; then call ``reload()``."""
        seen = self._signature()
        changed, self._seen = seen != self._seen, seen
        return changed

    async def reload(self, settings: Settings | None = None) -> Settings | None:
        """Take the agents and brands of the settings file (or of ``settings``). Everything
        else needs a restart. A file that does not load is reported and changes nothing.

        Returns the settings taken, or None. After a reload: hand ``core_rules(settings)`` to
        ``RelayCore.update_accounts`` and apply its effects (running sessions get
        ``session.config``)."""
        if settings is None:
            if self.path is None:
                return None
            try:
                settings = await asyncio.to_thread(load_settings, self.path)
            except SettingsError as error:
                log.error("settings.reload_failed error=%s (keeping the running settings)", error)
                return None
        self.current = replace(self.current, brands=settings.brands, agents=settings.agents)
        self._logins = {a.id: a for a in settings.agents}
        log.info(
            "settings.reloaded brands=%d agents=%d", len(settings.brands), len(settings.agents)
        )
        return self.current

    def _signature(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)
