"""The sandbox's sessions: Django's database sessions, refusing keys Django never makes.

Django's database backend hands any session cookie of eight characters or
more to the database, and PostgreSQL refuses one with NUL bytes: every page
showing the userbar (which reads the session) would fail. A key of other
characters than Django's letters and digits is no session.
"""

from django.contrib.sessions.backends import db


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key):
        return bool(super()._validate_session_key(key)) and key.isascii() and key.isalnum()
