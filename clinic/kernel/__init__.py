"""The shared kernel: what every app may import, and which imports no app.

Domain errors, roles, the JSON API's helpers and shared types, the client address,
admin mixins, dates and database helpers. The rest of the `clinic` package is the
composition root (settings, URLs, the API's assembly, health, operational commands),
which imports every app and which no app imports. import-linter holds both rules
(pyproject.toml, `[tool.importlinter]`).
"""
