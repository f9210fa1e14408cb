"""The lab's benchmarks (bench/README.md). `bench/run` is `python -m labbench`, `bench/soak` is
`python -m labbench.soak`, the profiling tool is `python -m labbench.cpucost`.

One job per module:

    cli           bench/run's options and the order of its steps
    common        repository paths, output, medians, load average
    procs         waiting for ports and URLs, stopping processes, CPU time from /proc
    receiver      the OTLP/gRPC receiver the instrumented servers export to
    servers       the service's variants under gunicorn, seeding the database
    workshop      the workshop's own stack in a venv of its own (workshop_app.py)
    load          wrk runs, their parsing, rounds alternated between the variants
    fixedrate     a wrk2-style fixed-rate load generator (latency from the intended send time)
    throughput    step (1)/(2) under saturation: req/s, latency, CPU per request, ratios
    latency       the fixed-rate rounds side by side: the p99 added
    lab           steps (3) and (4): the whole lab's memory, `lab up` to the first trace
    targets       the issue's targets and the verdicts printed at the end
    cpucost       CPU (or instructions) per request in-process
    soak          steady load on the running lab, memory over time
"""
