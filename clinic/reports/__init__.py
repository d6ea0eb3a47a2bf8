"""The manager's reports in Django admin: pages, charts and CSV over the apps'
report selectors (the composition root may import every app)."""
