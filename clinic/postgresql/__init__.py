"""The clinic's PostgreSQL backend for Django (settings.DATABASES' ENGINE): see base."""
