"""The lab's AWS emulator: moto's own server (`moto.server.main`, as `moto_server` runs it) plus a
retention that keeps its memory bounded under load (retention.py), configured by config.py."""
