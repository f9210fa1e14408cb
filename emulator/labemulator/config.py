"""The emulator's settings, read once from the environment; a bad value is one line and exit 2.

| variable | default | meaning |
| --- | --- | --- |
| MOTO_PORT | 4566 | the port moto's server listens on (moto's own variable) |
| EMULATOR_MAX_TRACES | 1000 | X-Ray traces kept: past this count (plus a fifth, so pruning is not constant) the oldest are dropped, checked every few hundred segments put |
| EMULATOR_MAX_LOG_EVENTS | 5000 | CloudWatch Logs events kept per log stream: the oldest are dropped |
| EMULATOR_PRUNE_SECONDS | 5 | how often the log streams' bound is applied (and what was dropped is logged) |
"""
import os
import sys
from dataclasses import dataclass

DEFAULTS = {"MOTO_PORT": "4566", "EMULATOR_MAX_TRACES": "1000",
            "EMULATOR_MAX_LOG_EVENTS": "5000", "EMULATOR_PRUNE_SECONDS": "5"}
MINIMUM = {"MOTO_PORT": 1, "EMULATOR_MAX_TRACES": 1, "EMULATOR_MAX_LOG_EVENTS": 1,
           "EMULATOR_PRUNE_SECONDS": 1}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    port: int
    max_traces: int
    max_log_events: int
    prune_seconds: int

    @classmethod
    def from_env(cls, environ=None):
        environ = os.environ if environ is None else environ
        unknown = sorted(k for k in environ if k.startswith("EMULATOR_") and k not in DEFAULTS)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]} (known: {', '.join(k for k in DEFAULTS if k.startswith('EMULATOR_'))})")
        values = {}
        for key, default in DEFAULTS.items():
            raw = environ.get(key, default)
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{key} must be a whole number, not {raw!r}") from None
            if value < MINIMUM[key]:
                raise ConfigError(f"{key} must be at least {MINIMUM[key]}, not {value}")
            values[key] = value
        return cls(values["MOTO_PORT"], values["EMULATOR_MAX_TRACES"],
                   values["EMULATOR_MAX_LOG_EVENTS"], values["EMULATOR_PRUNE_SECONDS"])


def load():
    try:
        return Config.from_env()
    except ConfigError as err:
        print(f"emulator: {err}", file=sys.stderr)
        sys.exit(2)
