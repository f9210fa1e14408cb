"""scripts/lab up --backend aws warns, before starting anything, when the collector's user
cannot read the AWS credentials it mounts (labcli/awscreds.py), on real files and modes."""
import os

import pytest

from labcli import awscreds

ME = f"{os.getuid()}:{os.getgid()}"
OTHER = "4317:4317" if os.getuid() != 4317 else "4318:4318"


def collector(source, user):
    return {"user": user, "volumes": [{"type": "bind", "source": str(source), "target": awscreds.AWS_TARGET}]}


@pytest.fixture
def aws_dir(tmp_path):
    d = tmp_path / ".aws"
    d.mkdir(mode=0o755)
    (d / "credentials").write_text("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n")
    (d / "config").write_text("[default]\nregion = us-east-1\n")
    return d


def test_files_the_collectors_user_owns_or_may_read_pass(aws_dir):
    (aws_dir / "credentials").chmod(0o600)
    assert awscreds.problems(collector(aws_dir, ME)) == []
    (aws_dir / "credentials").chmod(0o644)
    assert awscreds.problems(collector(aws_dir, OTHER)) == []


@pytest.mark.skipif(os.getuid() == 4317, reason="the test's user would be the collector's")
def test_a_0600_file_of_another_user_is_named_with_its_mode_and_the_fix(aws_dir):
    (aws_dir / "credentials").chmod(0o600)
    (problem,) = awscreds.problems(collector(aws_dir, OTHER))
    assert str(aws_dir / "credentials") in problem and "mode 0600" in problem
    assert f"not readable by the collector's user {OTHER}" in problem and "LAB_COLLECTOR_USER" in problem


def test_a_directory_it_cannot_enter_is_reported_once(aws_dir):
    aws_dir.chmod(0o700)
    (problem,) = awscreds.problems(collector(aws_dir, OTHER))
    assert "cannot be entered" in problem and "mode 0700" in problem


def test_missing_or_empty_directories_are_reported(tmp_path):
    (missing,) = awscreds.problems(collector(tmp_path / "nope", OTHER))
    assert "does not exist" in missing and "LAB_AWS_DIR" in missing
    (empty,) = awscreds.problems(collector(tmp_path, OTHER))
    assert "neither credentials nor config" in empty


def test_a_named_user_is_not_guessed(aws_dir):
    (aws_dir / "credentials").chmod(0o600)
    assert awscreds.problems(collector(aws_dir, "aoc")) == []


def with_env(service, **env):
    return {**service, "environment": env}


def test_the_key_pair_in_the_environment_needs_no_files(tmp_path):
    """Temporary credentials exported in the shell (a workshop account's) come first, as in the SDK."""
    service = with_env(collector(tmp_path / "no-such-dir", OTHER), AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                       AWS_SECRET_ACCESS_KEY="petlab", AWS_SESSION_TOKEN="t")
    assert awscreds.problems(service) == []


def test_half_a_key_pair_is_named_and_the_files_still_checked(tmp_path):
    (half, missing) = awscreds.problems(with_env(collector(tmp_path / "nope", OTHER), AWS_ACCESS_KEY_ID="AKIDEXAMPLE"))
    assert "AWS_SECRET_ACCESS_KEY is not" in half and "does not exist" in missing


def test_a_profile_named_by_aws_profile_must_be_in_the_files(aws_dir):
    (aws_dir / "config").write_text("[default]\nregion = us-east-1\n[profile dev]\nsso_session = corp\n"
                                    "[sso-session corp]\nsso_region = us-east-1\n")
    (aws_dir / "credentials").write_text("[ci]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n")
    for profile in ("dev", "ci", "default"):  # config's [profile dev], credentials' [ci], config's [default]
        assert awscreds.problems(with_env(collector(aws_dir, ME), AWS_PROFILE=profile)) == [], profile
    (problem,) = awscreds.problems(with_env(collector(aws_dir, ME), AWS_PROFILE="prod"))
    assert "profile prod (AWS_PROFILE) is in neither file" in problem and "there: ci, default, dev)" in problem
    assert "corp" not in problem  # an sso-session is not a profile


def test_no_default_profile_without_aws_profile_is_named(aws_dir):
    (aws_dir / "config").write_text("[profile dev]\nregion = us-east-1\n")
    (aws_dir / "credentials").unlink()
    (problem,) = awscreds.problems(collector(aws_dir, ME))
    assert "profile default (no AWS_PROFILE set) is in neither file" in problem and "there: dev)" in problem
