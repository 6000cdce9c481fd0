"""Domain types: what the bot knows about, as plain Python, below the store and the handlers.

Nothing here touches a database or Telegram (an import contract in ``pyproject.toml`` keeps it so):
``db`` and ``handlers`` both import these types, and they import nothing of either.
"""
