"""Run one notebook headlessly with papermill, refusing unknown parameters.

Usage::

    python -m dcutils.execute notebooks/brb/tab05-hyperparameters-grayscale.ipynb \\
        --profile quick [--output build/quick/brb/tab05-....ipynb] [-p overrides '{"seeds": [0]}']

papermill itself only warns about a parameter the notebook does not declare;
this runner stops with an error instead, and checks the profile before any
kernel starts. The notebook runs with the ``dcutils`` Jupyter kernel, with its
own folder as working directory, and ``DCUTILS_PROFILE`` set to the profile so
that the notebook and everything it calls agree.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from dcutils import paths
from dcutils.profiles import PROFILE_ENV, SettingsError, check_profile

KERNEL = "dcutils"


def declared_parameters(notebook: Path) -> dict[str, str]:
    """Names and default source text of the notebook's ``parameters`` cell."""
    import papermill

    return {name: spec["default"] for name, spec in papermill.inspect_notebook(str(notebook)).items()}


def parse_value(text: str):
    """A ``-p`` value: a Python literal when it parses as one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def default_output(notebook: Path, profile: str) -> Path:
    rel = notebook.resolve().relative_to(paths.NOTEBOOKS)
    return paths.BUILD / profile / rel


def execute(notebook: Path, profile: str, parameters: dict | None = None, output: Path | None = None,
            timeout: int = 3600) -> Path:
    """Execute ``notebook`` at ``profile``; returns the executed notebook's path."""
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {notebook}")
    check_profile(profile)
    parameters = dict(parameters or {})
    declared = declared_parameters(notebook)
    if not declared:
        raise SettingsError(f"{notebook.name} has no cell tagged 'parameters'")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise SettingsError(
            f"unknown parameter(s) {unknown} for {notebook.name}; it declares {sorted(declared)}"
        )
    parameters["profile"] = profile
    output = Path(output).resolve() if output else default_output(notebook, profile)
    output.parent.mkdir(parents=True, exist_ok=True)
    os.environ[PROFILE_ENV] = profile
    import papermill

    papermill.execute_notebook(
        str(notebook), str(output), parameters=parameters, kernel_name=KERNEL, cwd=str(notebook.parent),
        progress_bar=False, execution_timeout=timeout, log_output=False,
    )
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--profile", default=os.environ.get(PROFILE_ENV) or "quick")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    args = parser.parse_args(argv)
    try:
        out = execute(args.notebook, args.profile, {k: parse_value(v) for k, v in args.parameter},
                      args.output, args.timeout)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.notebook} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
