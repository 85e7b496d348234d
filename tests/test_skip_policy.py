"""tests/conftest.py fails the run on a skip whose reason is not on its allow-list (GPU-only tests)."""
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


@pytest.fixture
def run(pytester):
    """Run pytest -rs on one test module in a scratch folder that has this repository's conftest.py."""
    pytester.makeconftest(CONFTEST.read_text())

    def _run(source: str):
        pytester.makepyfile(test_scratch=source)
        return pytester.runpytest("-rs", "-p", "no:cacheprovider")

    return _run


def test_skip_for_missing_data_fails_the_run(run):
    result = run(
        """
        import pytest

        def test_passes():
            pass

        def test_needs_data():
            pytest.skip("needs data")
        """
    )
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*skips not on the allow-list*", "*test_needs_data: needs data*"])


def test_gpu_only_skip_passes(run):
    result = run(
        """
        import pytest

        def test_passes():
            pass

        def test_gpu():
            pytest.skip("GPU only")

        @pytest.mark.skipif(True, reason="needs a CUDA GPU")
        def test_cuda():
            pass
        """
    )
    result.assert_outcomes(passed=1, skipped=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*skips not on the allow-list*")


def test_skipif_mark_and_module_level_skip_are_checked_too(run):
    result = run(
        """
        import pytest

        pytest.skip("the data sets are not here", allow_module_level=True)
        """
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the data sets are not here*"])

    result = run(
        """
        import pytest

        @pytest.mark.skipif(True, reason="needs data")
        def test_needs_data():
            pass
        """
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_xfail_and_failures_keep_their_meaning(run):
    result = run(
        """
        import pytest

        @pytest.mark.xfail(reason="known bug")
        def test_known_bug():
            assert False
        """
    )
    result.assert_outcomes(xfailed=1)
    assert result.ret == pytest.ExitCode.OK
