"""The lab fixtures of tests/lab/conftest.py (lab_session, local_lab, ...), reused, not copied."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("lab_conftest", Path(__file__).resolve().parents[1] / "lab" / "conftest.py")
lab_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab_conftest)

ROOT = lab_conftest.ROOT
LAB = lab_conftest.LAB
pytest_configure = lab_conftest.pytest_configure
pytest_collection_modifyitems = getattr(lab_conftest, "pytest_collection_modifyitems", None) or (lambda config, items: None)
docker_engine_answers = lab_conftest.docker_engine_answers
lab_session = lab_conftest.lab_session
local_lab = lab_conftest.local_lab
emulated_lab = lab_conftest.emulated_lab
