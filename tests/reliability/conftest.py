"""tests/reliability: the running lab's fixtures (lab_session, local_lab, ...) and the e2e
marker handling of tests/lab, from labtest.lab_session."""
pytest_plugins = ["labtest.lab_session"]
