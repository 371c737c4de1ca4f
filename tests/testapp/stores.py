"""A project's own profile store, plugged in with ``{"CLASS": ..., "OPTIONS": ...}``."""

from wagtail_segments.visitor.stores import ServerSideStore

SHELVES = {}  # shelf name -> {key: data}; a stand-in for a project's own key-value service


class ShelfStore(ServerSideStore):
    """Profiles on a named shelf, with a key prefix: both come from the setting's ``OPTIONS``."""

    def __init__(self, shelf, prefix="", for_users=False):
        super().__init__(for_users)
        self.data = SHELVES.setdefault(shelf, {})
        self.prefix = prefix

    def read(self, key):
        return self.data.get(self.prefix + key)

    def write(self, key, data):
        self.data[self.prefix + key] = data

    def delete(self, key):
        self.data.pop(self.prefix + key, None)


class NotAStore:
    pass
