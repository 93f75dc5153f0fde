"""Transports: how namdrunner reaches a cluster (SSH) or the machine it runs on (Local)."""

from namdrunner_core.transport.base import CommandResult, ProgressCallback, Transport, quote_command
from namdrunner_core.transport.console import CommandLog, CommandLogEntry
from namdrunner_core.transport.local import LocalTransport
from namdrunner_core.transport.ratelimit import RateLimiter

__all__ = [
    "CommandLog",
    "CommandLogEntry",
    "CommandResult",
    "LocalTransport",
    "ProgressCallback",
    "RateLimiter",
    "Transport",
    "quote_command",
]
