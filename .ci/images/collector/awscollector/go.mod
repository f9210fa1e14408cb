module petlab.local/ci/awscollector

go 1.22
