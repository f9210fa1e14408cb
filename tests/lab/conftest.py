"""tests/lab: the running lab's fixtures (lab_session, local_lab, emulated_lab) and the e2e
marker handling come from labtest.lab_session, shared with tests/reliability."""
pytest_plugins = ["labtest.lab_session"]
