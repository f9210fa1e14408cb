"""Every error the service answers is JSON with a message; never an HTML page or a stack trace."""
from __future__ import annotations

import logging

from flask import Flask

from labservice import errors

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    errors.register_error_handlers(app, log)
