"""Competency: digital-competency assessment platform.

The pure sub-packages (irt, graph, tests_bank) must stay importable without Flask, so the
application factory is imported lazily here.
"""


def create_app(config=None):
    from competency.app import create_app as _create_app

    return _create_app(config)
