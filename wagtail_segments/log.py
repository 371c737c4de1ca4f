"""The package's logger, and errors logged once per process (a broken rule, a lost cache)."""

import logging

logger = logging.getLogger("wagtail_segments")

_logged = set()


def log_once(key, message, *args, exc_info=False):
    """Log ``message`` as an error the first time ``key`` is seen in this process."""
    if key not in _logged:
        _logged.add(key)
        logger.error(message, *args, exc_info=exc_info)
