module petlab.local/ci/healthcheck

go 1.22
