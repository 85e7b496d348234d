"""Imports every module that registers an algorithm with :func:`dcutils.runs.algorithm`.

:func:`dcutils.runs.get_algorithm` imports this module on first use, so a
notebook never has to import training code by hand.
"""
import dcutils.rdc  # noqa: F401
import dcutils.brb  # noqa: F401
