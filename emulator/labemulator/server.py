"""`python -m labemulator`: moto's server, as `moto_server -H 0.0.0.0` runs it, with the retention."""
import threading

from moto.server import main as moto_server

from . import config, retention


def main():
    settings = config.load()
    retention.track_weakly(retention.TraceSegment, retention.LogEvent)
    traces = retention.Traces(settings.max_traces)
    traces.install()
    threading.Thread(target=retention.run, args=(settings, traces), name="retention", daemon=True).start()
    print(f"emulator: moto on :{settings.port}, keeping the newest {settings.max_traces} X-Ray traces "
          f"and {settings.max_log_events} log events per stream", flush=True)
    moto_server(["-H", "0.0.0.0", "-p", str(settings.port)])
